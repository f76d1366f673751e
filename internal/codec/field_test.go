package codec

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// fieldKind names one Encoder/Decoder method pair, for tests that build
// random schemas.
type fieldKind uint8

const (
	fUvarint fieldKind = iota
	fVarint
	fUint64
	fFloat64
	fBytes     // decoded with Bytes
	fBytesCopy // written with Bytes, decoded with BytesCopy
	fString    // written with String, decoded with Text
	fBool
	fUUID
	fTime
	numFieldKinds
)

var fieldKindNames = [...]string{"uvarint", "varint", "uint64", "float64", "bytes", "bytescopy", "string", "bool", "uuid", "time"}

func (k fieldKind) String() string { return fieldKindNames[k] }

// field is one value of a value's schema; only the member for kind is used.
type field struct {
	kind fieldKind
	u    uint64
	i    int64
	f    float64
	b    []byte
	s    string
	flag bool
	id   uuid.UUID
	t    time.Time
}

func (f field) String() string {
	switch f.kind {
	case fUvarint, fUint64:
		return fmt.Sprintf("%v(%d)", f.kind, f.u)
	case fVarint:
		return fmt.Sprintf("varint(%d)", f.i)
	case fFloat64:
		return fmt.Sprintf("float64(%x)", math.Float64bits(f.f))
	case fBytes, fBytesCopy:
		return fmt.Sprintf("%v(%x)", f.kind, f.b)
	case fString:
		return fmt.Sprintf("string(%q)", f.s)
	case fBool:
		return fmt.Sprintf("bool(%v)", f.flag)
	case fUUID:
		return fmt.Sprintf("uuid(%v)", f.id)
	default:
		return fmt.Sprintf("time(%v)", f.t.Format(time.RFC3339Nano))
	}
}

func encodeField(e *Encoder, f field) {
	switch f.kind {
	case fUvarint:
		e.Uvarint(f.u)
	case fVarint:
		e.Varint(f.i)
	case fUint64:
		e.Uint64(f.u)
	case fFloat64:
		e.Float64(f.f)
	case fBytes, fBytesCopy:
		e.Bytes(f.b)
	case fString:
		e.String(f.s)
	case fBool:
		e.Bool(f.flag)
	case fUUID:
		e.UUID(f.id)
	case fTime:
		e.Time(f.t)
	}
}

func decodeField(d *Decoder, k fieldKind) field {
	f := field{kind: k}
	switch k {
	case fUvarint:
		f.u = d.Uvarint()
	case fVarint:
		f.i = d.Varint()
	case fUint64:
		f.u = d.Uint64()
	case fFloat64:
		f.f = d.Float64()
	case fBytes:
		f.b = d.Bytes()
	case fBytesCopy:
		f.b = d.BytesCopy()
	case fString:
		f.s = d.Text()
	case fBool:
		f.flag = d.Bool()
	case fUUID:
		f.id = d.UUID()
	case fTime:
		f.t = d.Time()
	}
	return f
}

// equalField compares values exactly: floats by their bits, times as
// instants with the zero Time distinct from every other.
func equalField(a, b field) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case fUvarint, fUint64:
		return a.u == b.u
	case fVarint:
		return a.i == b.i
	case fFloat64:
		return math.Float64bits(a.f) == math.Float64bits(b.f)
	case fBytes, fBytesCopy:
		return bytes.Equal(a.b, b.b)
	case fString:
		return a.s == b.s
	case fBool:
		return a.flag == b.flag
	case fUUID:
		return a.id == b.id
	default:
		return a.t.IsZero() == b.t.IsZero() && a.t.Equal(b.t)
	}
}

// genField draws a value of kind k, biased towards edge cases.
func genField(k fieldKind) *rapid.Generator[field] {
	return rapid.Custom(func(t *rapid.T) field {
		f := field{kind: k}
		switch k {
		case fUvarint, fUint64:
			f.u = rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 300),
				rapid.SampledFrom([]uint64{0, 127, 128, math.MaxUint64})).Draw(t, "u")
		case fVarint:
			f.i = rapid.OneOf(rapid.Int64(), rapid.Int64Range(-300, 300),
				rapid.SampledFrom([]int64{math.MinInt64, math.MaxInt64})).Draw(t, "i")
		case fFloat64:
			f.f = rapid.OneOf(rapid.Float64(),
				rapid.SampledFrom([]float64{math.NaN(), math.Inf(-1), math.Copysign(0, -1)})).Draw(t, "f")
		case fBytes, fBytesCopy:
			f.b = rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(t, "b")
		case fString:
			f.s = rapid.String().Draw(t, "s")
		case fBool:
			f.flag = rapid.Bool().Draw(t, "flag")
		case fUUID:
			f.id = uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
		case fTime:
			if rapid.IntRange(0, 4).Draw(t, "zeroTime") == 0 {
				break
			}
			n := rapid.Int64Range(math.MinInt64+1, math.MaxInt64).Draw(t, "nanos")
			f.t = time.Unix(0, n)
		}
		return f
	})
}
