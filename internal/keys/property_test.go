package keys

import (
	"bytes"
	"cmp"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// sign maps a comparison result to -1, 0 or +1.
func sign(c int) int { return cmp.Compare(c, 0) }

// TestRoundTrip checks that every kind decodes to the value encoded, that
// decoding consumes exactly the component (whatever precedes or follows it),
// and that Append only appends.
func TestRoundTrip(t *testing.T) {
	for _, k := range allKinds {
		t.Run(k.String(), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				c := genComponent(k).Draw(t, "c")
				head := rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "head")
				tail := rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "tail")

				enc := appendComponent(bytes.Clone(head), c)
				if !bytes.Equal(enc[:len(head)], head) {
					t.Fatalf("append changed the existing bytes: %x", enc)
				}
				got, rest, err := decodeComponent(k, append(enc[len(head):], tail...))
				if err != nil {
					t.Fatalf("decode %v: %v", c, err)
				}
				if !equalComponent(c, got) {
					t.Fatalf("round trip: got %v, want %v", got, c)
				}
				if !bytes.Equal(rest, tail) {
					t.Fatalf("rest = %x, want %x", rest, tail)
				}
			})
		})
	}
}

// TestOrder checks order preservation one component at a time: the bytes
// compare like the values, with descending kinds reversed.
func TestOrder(t *testing.T) {
	for _, k := range allKinds {
		t.Run(k.String(), func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				a := genComponent(k).Draw(t, "a")
				b := genComponent(k).Draw(t, "b")
				want := compareComponent(a, b)
				got := bytes.Compare(appendComponent(nil, a), appendComponent(nil, b))
				if sign(got) != want {
					t.Fatalf("compare(enc(%v), enc(%v)) = %d, values compare %d", a, b, got, want)
				}
			})
		})
	}
}

// TestOrder_tuples checks order preservation for whole keys: random tuples
// of mixed kinds with one schema compare as bytes exactly as they compare
// component by component. The second tuple often copies components of the
// first, so that ties and string-prefix cases reach later components.
func TestOrder_tuples(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		schema := rapid.SliceOfN(rapid.SampledFrom(allKinds), 1, 5).Draw(t, "schema")
		a := genTuple(t, schema, "a")
		b := make([]component, len(a))
		for i, k := range schema {
			b[i] = rapid.OneOf(rapid.Just(a[i]), genComponent(k)).Draw(t, "b")
		}
		want := compareTuples(a, b)
		got := bytes.Compare(encodeTuple(nil, TableUser, a), encodeTuple(nil, TableUser, b))
		if sign(got) != want {
			t.Fatalf("schema %v: compare(enc(%v), enc(%v)) = %d, tuples compare %d", schema, a, b, got, want)
		}
	})
}

// TestOrder_prefixStringFirst checks that a string sorts before every
// string it is a proper prefix of, even when other components follow that
// would otherwise decide the order the other way.
func TestOrder_prefixStringFirst(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genBytes().Draw(t, "s")
		ext := rapid.SliceOfN(rapid.Byte(), 1, 4).Draw(t, "ext")
		long := append(bytes.Clone(s), ext...)
		tailKinds := rapid.SliceOfN(rapid.SampledFrom(allKinds), 0, 3).Draw(t, "tail")
		ta := genTuple(t, tailKinds, "ta")
		tb := genTuple(t, tailKinds, "tb")

		short := encodeTuple(AppendString(nil, string(s)), TableUser, ta)
		longer := encodeTuple(AppendBytes(nil, long), TableUser, tb)
		if bytes.Compare(short, longer) >= 0 {
			t.Fatalf("%q sorts at or after its extension %q", s, long)
		}
	})
}

// TestOrder_timeClamped checks that instants outside the int64-nanosecond
// range still keep their order, ties allowed, with the zero Time first.
func TestOrder_timeClamped(t *testing.T) {
	year1 := time.Time{}.Unix()
	year9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix()
	genWide := rapid.Custom(func(t *rapid.T) time.Time {
		return time.Unix(rapid.Int64Range(year1, year9999).Draw(t, "sec"), rapid.Int64Range(0, 999_999_999).Draw(t, "nsec"))
	})
	rapid.Check(t, func(t *rapid.T) {
		a, b := genWide.Draw(t, "a"), genWide.Draw(t, "b")
		if a.After(b) {
			a, b = b, a
		}
		if bytes.Compare(AppendTime(nil, a), AppendTime(nil, b)) > 0 {
			t.Fatalf("%v sorts after %v", a, b)
		}
		if bytes.Compare(AppendTimeDesc(nil, a), AppendTimeDesc(nil, b)) < 0 {
			t.Fatalf("desc: %v sorts before %v", a, b)
		}
		if bytes.Compare(AppendTime(nil, time.Time{}), AppendTime(nil, a)) > 0 {
			t.Fatalf("zero time sorts after %v", a)
		}
	})
	// The smallest encoding stands for the zero Time.
	got, _, err := DecodeTime(AppendTime(nil, time.Unix(0, math.MinInt64)))
	if err != nil || !got.IsZero() {
		t.Fatalf("min nanos decodes as %v, %v; want the zero Time", got, err)
	}
}

// TestPrefixBounds_property checks that PrefixBounds admits exactly the keys
// that start with the prefix.
func TestPrefixBounds_property(t *testing.T) {
	genPrefix := rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, 0x01, 0x10, 0xFE, 0xFF}), 0, 5)
	rapid.Check(t, func(t *rapid.T) {
		prefix := genPrefix.Draw(t, "prefix")
		key := rapid.OneOf(
			rapid.Custom(func(t *rapid.T) []byte {
				return append(bytes.Clone(prefix), genPrefix.Draw(t, "suffix")...)
			}),
			genPrefix,
		).Draw(t, "key")

		lower, upper := PrefixBounds(prefix)
		inBounds := bytes.Compare(key, lower) >= 0 && (upper == nil || bytes.Compare(key, upper) < 0)
		if inBounds != bytes.HasPrefix(key, prefix) {
			t.Fatalf("prefix %x, key %x: in bounds [%x, %x) = %v", prefix, key, lower, upper, inBounds)
		}
		if upper != nil && bytes.HasPrefix(upper, prefix) {
			t.Fatalf("successor %x of %x has the prefix", upper, prefix)
		}
	})
}
