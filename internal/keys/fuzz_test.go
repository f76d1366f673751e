package keys

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzDecodeBytes checks that DecodeBytes and DecodeString never panic,
// reject bad input only with ErrCorrupt, agree with each other, and accept
// only the exact encoding (re-encoding gives back the bytes consumed). It
// also round-trips the input itself as a component.
func FuzzDecodeBytes(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte{0x00, 0x01})
	f.Add([]byte{'a', 0x00, 0xFF, 0x00, 0x01, 0x7F})
	f.Add([]byte{0x00, 0xFF, 0x00})
	f.Add([]byte{0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, rest, err := DecodeBytes(nil, data)
		s, srest, serr := DecodeString(data)
		if (err == nil) != (serr == nil) {
			t.Fatalf("DecodeBytes err %v, DecodeString err %v", err, serr)
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !errors.Is(serr, ErrCorrupt) {
				t.Fatalf("errors %v, %v do not wrap ErrCorrupt", err, serr)
			}
		} else {
			if string(v) != s || !bytes.Equal(rest, srest) {
				t.Fatalf("DecodeBytes %x rest %x, DecodeString %x rest %x", v, rest, s, srest)
			}
			if consumed := data[:len(data)-len(rest)]; !bytes.Equal(AppendBytes(nil, v), consumed) {
				t.Fatalf("accepted non-canonical %x as %x", consumed, v)
			}
		}

		enc := AppendBytes(nil, data)
		got, rest, err := DecodeBytes(nil, enc)
		if err != nil || !bytes.Equal(got, data) || len(rest) != 0 {
			t.Fatalf("round trip of %x: got %x rest %x err %v", data, got, rest, err)
		}
	})
}

// FuzzDecodeTuple decodes arbitrary bytes with an arbitrary schema (one kind
// per schema byte): it must never panic, fail only with ErrCorrupt, and
// re-encoding what it decoded must give back exactly the bytes consumed.
// FormatTuple must not panic on the same input either.
func FuzzDecodeTuple(f *testing.F) {
	key := AppendTable(nil, TableQueueEntries)
	key = AppendString(key, "host\x00")
	key = AppendUint64Desc(key, 7)
	key = AppendTime(key, time.Unix(1_700_000_000, 1))
	f.Add([]byte{byte(KindString), byte(KindUint64Desc), byte(KindTime)}, key)
	f.Add([]byte{byte(KindBytes), byte(KindUUID)}, []byte{0x10, 0x00, 0x01, 1, 2, 3})
	f.Add([]byte{byte(KindInt64), byte(KindTimeDesc)}, bytes.Repeat([]byte{0xFF}, 17))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, schema, data []byte) {
		if len(schema) > 16 {
			schema = schema[:16]
		}
		kinds := make([]Kind, len(schema))
		for i, s := range schema {
			kinds[i] = allKinds[int(s)%len(allKinds)]
		}
		_ = FormatTuple(data, kinds...)

		tbl, rest, err := DecodeTable(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || len(data) != 0 {
				t.Fatalf("DecodeTable(%x): %v", data, err)
			}
			return
		}
		re := AppendTable(nil, tbl)
		for _, k := range kinds {
			var c component
			c, rest, err = decodeComponent(k, rest)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%v: error %v does not wrap ErrCorrupt", k, err)
				}
				return
			}
			re = appendComponent(re, c)
		}
		if consumed := data[:len(data)-len(rest)]; !bytes.Equal(re, consumed) {
			t.Fatalf("schema %v: decoded %x, re-encoded as %x", kinds, consumed, re)
		}
	})
}

// FuzzRoundTrip encodes one key holding every kind from fuzzed values and
// checks it decodes back to them.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(0), int64(0), []byte{}, "", []byte{})
	f.Add(uint64(1<<63), int64(-1), []byte{0, 0xFF, 1}, "a\x00b", make([]byte, 16))
	f.Fuzz(func(t *testing.T, u uint64, i int64, b []byte, s string, id []byte) {
		var uid uuid.UUID
		copy(uid[:], id)
		tm := nanosTime(i)
		want := []component{
			{kind: KindUint64, u: u}, {kind: KindUint64Desc, u: u},
			{kind: KindInt64, i: i}, {kind: KindInt64Desc, i: i},
			{kind: KindBytes, b: b}, {kind: KindString, s: s},
			{kind: KindUUID, id: uid},
			{kind: KindTime, t: tm}, {kind: KindTimeDesc, t: tm},
		}
		rest := encodeTuple(nil, TableUser, want)[1:]
		for _, w := range want {
			var got component
			var err error
			got, rest, err = decodeComponent(w.kind, rest)
			if err != nil {
				t.Fatalf("%v: %v", w, err)
			}
			if !equalComponent(w, got) {
				t.Fatalf("got %v, want %v", got, w)
			}
		}
		if len(rest) != 0 {
			t.Fatalf("%d bytes left over", len(rest))
		}
	})
}
