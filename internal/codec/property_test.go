package codec

import (
	"errors"
	"testing"

	"pgregory.net/rapid"
)

// genValue draws a version byte and a random sequence of fields.
func genValue(t *rapid.T) (version byte, fields []field) {
	version = rapid.ByteRange(1, 255).Draw(t, "version")
	kinds := rapid.SliceOfN(rapid.Uint8Range(0, uint8(numFieldKinds)-1), 0, 12).Draw(t, "kinds")
	fields = make([]field, len(kinds))
	for i, k := range kinds {
		fields[i] = genField(fieldKind(k)).Draw(t, "field")
	}
	return version, fields
}

func encodeValue(dst []byte, version byte, fields []field) []byte {
	e := NewEncoder(dst)
	e.Version(version)
	for _, f := range fields {
		encodeField(e, f)
	}
	return e.Encoded()
}

// TestRoundTrip checks that random sequences of fields decode to what was
// encoded, consuming the value exactly.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		version, fields := genValue(t)
		enc := encodeValue(nil, version, fields)

		d := NewDecoder(enc)
		v, err := d.ExpectVersion(version)
		if err != nil || v != version {
			t.Fatalf("ExpectVersion = %d, %v; want %d", v, err, version)
		}
		for i, want := range fields {
			if got := decodeField(d, want.kind); !equalField(got, want) {
				t.Fatalf("field %d: got %v, want %v (err %v)", i, got, want, d.Err())
			}
		}
		if err := d.Finish(); err != nil {
			t.Fatalf("Finish: %v", err)
		}
	})
}

// TestTruncation checks that every strict prefix of a valid value fails to
// decode with the same schema, with ErrCorrupt: the decoder never invents
// missing bytes.
func TestTruncation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		version, fields := genValue(t)
		enc := encodeValue(nil, version, fields)
		cut := rapid.IntRange(0, len(enc)-1).Draw(t, "cut")

		d := NewDecoder(enc[:cut])
		_, _ = d.ExpectVersion(version)
		for _, f := range fields {
			decodeField(d, f.kind)
		}
		if err := d.Finish(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d/%d bytes: Finish = %v, want ErrCorrupt", cut, len(enc), err)
		}
	})
}
