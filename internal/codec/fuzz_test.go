package codec

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// messageFields is a fixed schema shaped like a stored message record, with
// version 2 adding fields, as a store's decoder would be.
var messageFields = map[byte][]fieldKind{
	1: {fUUID, fString, fUvarint, fBytes, fBool, fTime},
	2: {fUUID, fString, fUvarint, fBytes, fBool, fTime, fVarint, fFloat64, fUint64, fBytesCopy},
}

// decodeMessage decodes a value with messageFields the way a store would.
func decodeMessage(b []byte) (version byte, fields []field, err error) {
	d := NewDecoder(b)
	version, err = d.ExpectVersion(2)
	if err != nil {
		return version, nil, err
	}
	for _, k := range messageFields[version] {
		fields = append(fields, decodeField(d, k))
	}
	return version, fields, d.Finish()
}

// FuzzDecode decodes arbitrary bytes with a fixed, versioned schema: it must
// never panic and fail only with ErrCorrupt or ErrVersion. Whatever decodes
// must encode and decode again to the same fields.
func FuzzDecode(f *testing.F) {
	id := uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff")
	for version := range byte(3) {
		if version == 0 {
			continue
		}
		var fields []field
		for _, k := range messageFields[version] {
			fields = append(fields, field{kind: k, id: id, s: "order", u: 42, b: []byte{1, 2}, flag: true,
				t: time.Unix(1_700_000_000, 5), i: -7, f: 2.5})
		}
		f.Add(encodeValue(nil, version, fields))
	}
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{3})
	f.Add([]byte{1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		version, fields, err := decodeMessage(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrVersion", err)
			}
			return
		}
		again, fields2, err := decodeMessage(encodeValue(nil, version, fields))
		if err != nil || again != version {
			t.Fatalf("re-encoded value: version %d, err %v", again, err)
		}
		for i := range fields {
			if !equalField(fields[i], fields2[i]) {
				t.Fatalf("field %d: %v became %v", i, fields[i], fields2[i])
			}
		}
	})
}

// FuzzDecodeSchema decodes arbitrary bytes with an arbitrary schema (one
// field kind per schema byte), which reaches field orders FuzzDecode's fixed
// schema cannot: it must never panic and fail only with ErrCorrupt.
func FuzzDecodeSchema(f *testing.F) {
	f.Add([]byte{byte(fBytes), byte(fTime)}, []byte{1, 2, 'a', 'b', 0})
	f.Add([]byte{byte(fBool), byte(fString)}, []byte{1, 2, 0x80})
	f.Fuzz(func(t *testing.T, schema, data []byte) {
		d := NewDecoder(data)
		for _, s := range schema {
			decodeField(d, fieldKind(s%byte(numFieldKinds)))
		}
		if err := d.Finish(); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
	})
}
