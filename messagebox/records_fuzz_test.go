package messagebox

import (
	"testing"
	"time"

	"github.com/biztier/biztier/internal/codec"
)

// FuzzDecodeValue feeds arbitrary bytes to the value decoder: it must fail
// (a sticky corruption) or return a value that survives an encode and
// decode unchanged, never panic.
func FuzzDecodeValue(f *testing.F) {
	for _, v := range []Value{String("x"), Int64(-1), Float64(1.5), Bool(true), Time(time.Unix(5, 0)), Decimal("2.50"), Bytes([]byte{0, 1}), Text("t"), {}} {
		var e codec.Encoder
		encodeValue(&e, v)
		f.Add(e.Encoded())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := codec.NewDecoder(data)
		v := decodeValue(d)
		if d.Err() != nil {
			return
		}
		var e codec.Encoder
		encodeValue(&e, v)
		back := decodeValue(codec.NewDecoder(e.Encoded()))
		if back != v && !(v.Type() == TypeFloat64 && v.Float64() != v.Float64()) {
			t.Fatalf("%x decoded to %s, which reads back as %s", data, v, back)
		}
		if v.Type() != 0 {
			var first codec.Encoder
			encodeValue(&first, v)
			if string(first.Encoded()) != string(e.Encoded()) {
				t.Fatalf("%s encodes two ways", v)
			}
		}
	})
}
