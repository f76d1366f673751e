package keys

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// allKinds lists every component kind, for schema generators.
var allKinds = []Kind{
	KindUint64, KindUint64Desc, KindInt64, KindInt64Desc,
	KindBytes, KindString, KindUUID, KindTime, KindTimeDesc,
}

// component is one typed value of a tuple, the reference the encoding is
// checked against. Only the field matching kind is used.
type component struct {
	kind Kind
	u    uint64
	i    int64
	b    []byte // KindBytes
	s    string // KindString
	id   uuid.UUID
	t    time.Time
}

func (c component) String() string {
	switch c.kind {
	case KindUint64, KindUint64Desc:
		return fmt.Sprintf("%v(%d)", c.kind, c.u)
	case KindInt64, KindInt64Desc:
		return fmt.Sprintf("%v(%d)", c.kind, c.i)
	case KindBytes:
		return fmt.Sprintf("bytes(%x)", c.b)
	case KindString:
		return fmt.Sprintf("string(%q)", c.s)
	case KindUUID:
		return fmt.Sprintf("uuid(%v)", c.id)
	default:
		return fmt.Sprintf("%v(%v)", c.kind, c.t.Format(time.RFC3339Nano))
	}
}

// appendComponent encodes c with the Append function for its kind.
func appendComponent(dst []byte, c component) []byte {
	switch c.kind {
	case KindUint64:
		return AppendUint64(dst, c.u)
	case KindUint64Desc:
		return AppendUint64Desc(dst, c.u)
	case KindInt64:
		return AppendInt64(dst, c.i)
	case KindInt64Desc:
		return AppendInt64Desc(dst, c.i)
	case KindBytes:
		return AppendBytes(dst, c.b)
	case KindString:
		return AppendString(dst, c.s)
	case KindUUID:
		return AppendUUID(dst, c.id)
	case KindTime:
		return AppendTime(dst, c.t)
	case KindTimeDesc:
		return AppendTimeDesc(dst, c.t)
	}
	panic("unknown kind " + c.kind.String())
}

// decodeComponent decodes one component of kind k with the matching Decode
// function.
func decodeComponent(k Kind, b []byte) (c component, rest []byte, err error) {
	c.kind = k
	switch k {
	case KindUint64:
		c.u, rest, err = DecodeUint64(b)
	case KindUint64Desc:
		c.u, rest, err = DecodeUint64Desc(b)
	case KindInt64:
		c.i, rest, err = DecodeInt64(b)
	case KindInt64Desc:
		c.i, rest, err = DecodeInt64Desc(b)
	case KindBytes:
		c.b, rest, err = DecodeBytes(nil, b)
	case KindString:
		c.s, rest, err = DecodeString(b)
	case KindUUID:
		c.id, rest, err = DecodeUUID(b)
	case KindTime:
		c.t, rest, err = DecodeTime(b)
	case KindTimeDesc:
		c.t, rest, err = DecodeTimeDesc(b)
	default:
		panic("unknown kind " + k.String())
	}
	return c, rest, err
}

// equalComponent reports whether a and b hold the same value.
func equalComponent(a, b component) bool {
	return a.kind == b.kind && compareComponent(a, b) == 0
}

// compareComponent is the natural order the encoding must reproduce:
// numbers numerically, bytes and strings lexicographically, UUIDs by their
// bytes, times chronologically, and descending kinds reversed.
func compareComponent(a, b component) int {
	switch a.kind {
	case KindUint64:
		return cmp.Compare(a.u, b.u)
	case KindUint64Desc:
		return -cmp.Compare(a.u, b.u)
	case KindInt64:
		return cmp.Compare(a.i, b.i)
	case KindInt64Desc:
		return -cmp.Compare(a.i, b.i)
	case KindBytes:
		return bytes.Compare(a.b, b.b)
	case KindString:
		return strings.Compare(a.s, b.s)
	case KindUUID:
		return bytes.Compare(a.id[:], b.id[:])
	case KindTime:
		return a.t.Compare(b.t)
	case KindTimeDesc:
		return -a.t.Compare(b.t)
	}
	panic("unknown kind " + a.kind.String())
}

// compareTuples compares tuples of the same schema component by component.
func compareTuples(a, b []component) int {
	for i := range a {
		if c := compareComponent(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func encodeTuple(dst []byte, t Table, cs []component) []byte {
	dst = AppendTable(dst, t)
	for _, c := range cs {
		dst = appendComponent(dst, c)
	}
	return dst
}

// genBytes draws byte strings rich in the bytes the escape scheme treats
// specially (0x00, 0x01, 0xFF), so that escapes and near-terminators are
// common rather than one draw in 256.
func genBytes() *rapid.Generator[[]byte] {
	special := rapid.SampledFrom([]byte{0x00, 0x01, 0x02, 0xFE, 0xFF, 'a', 'b'})
	return rapid.OneOf(
		rapid.SliceOfN(special, 0, 8),
		rapid.SliceOf(rapid.Byte()),
	)
}

// genTime draws instants whose UnixNano is in (MinInt64, MaxInt64], in
// assorted locations; those round-trip exactly (up to location).
func genTime() *rapid.Generator[time.Time] {
	return rapid.Custom(func(t *rapid.T) time.Time {
		n := rapid.OneOf(
			rapid.Int64Range(math.MinInt64+1, math.MaxInt64),
			rapid.Int64Range(-3, 3),
			rapid.Int64Range(1_600_000_000e9, 1_900_000_000e9),
		).Draw(t, "nanos")
		offset := rapid.IntRange(-14, 14).Draw(t, "zoneHours")
		return time.Unix(0, n).In(time.FixedZone("", offset*3600))
	})
}

// genComponent draws a value of kind k. Numbers are biased towards the
// edges where sign flipping and complementing could go wrong.
func genComponent(k Kind) *rapid.Generator[component] {
	return rapid.Custom(func(t *rapid.T) component {
		c := component{kind: k}
		switch k {
		case KindUint64, KindUint64Desc:
			c.u = rapid.OneOf(
				rapid.Uint64(),
				rapid.SampledFrom([]uint64{0, 1, math.MaxUint64, 1 << 63, 1<<63 - 1}),
			).Draw(t, "u")
		case KindInt64, KindInt64Desc:
			c.i = rapid.OneOf(
				rapid.Int64(),
				rapid.SampledFrom([]int64{0, -1, 1, math.MinInt64, math.MaxInt64}),
			).Draw(t, "i")
		case KindBytes:
			c.b = genBytes().Draw(t, "b")
		case KindString:
			c.s = string(genBytes().Draw(t, "s"))
		case KindUUID:
			c.id = uuid.UUID(rapid.OneOf(
				rapid.SliceOfN(rapid.SampledFrom([]byte{0, 1, 0x80, 0xFF}), 16, 16),
				rapid.SliceOfN(rapid.Byte(), 16, 16),
			).Draw(t, "id"))
		case KindTime, KindTimeDesc:
			c.t = genTime().Draw(t, "t")
		}
		return c
	})
}

// genTuple draws one value per kind of schema.
func genTuple(t *rapid.T, schema []Kind, label string) []component {
	cs := make([]component, len(schema))
	for i, k := range schema {
		cs[i] = genComponent(k).Draw(t, fmt.Sprintf("%s[%d]", label, i))
	}
	return cs
}
