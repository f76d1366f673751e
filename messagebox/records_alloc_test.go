package messagebox

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/biztier/biztier/internal/codec"
	"github.com/google/uuid"
)

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestDecode_AllocatesInProportionToInput gives the record decoders
// counts that the bytes left allow but the bytes do not hold (they are
// damaged from the first element on): what they allocate stays a small
// multiple of the input, not the count times the size of an element.
func TestDecode_AllocatesInProportionToInput(t *testing.T) {
	const n = 1 << 16
	for _, tc := range []struct {
		name string
		rec  []byte
		dec  func([]byte)
	}{
		{"message properties", func() []byte {
			e := codec.NewEncoder(nil)
			e.Version(messageVersion)
			e.Varint(0)
			e.Uvarint(n) // properties
			return append(e.Encoded(), bytes.Repeat([]byte{0xFF}, n)...)
		}(), func(b []byte) { _, _, _ = decodeMessage(uuid.Nil, b) }},
		{"message parts", func() []byte {
			e := codec.NewEncoder(nil)
			e.Version(messageVersion)
			e.Varint(0)
			e.Uvarint(0) // properties
			e.Uvarint(n) // parts
			return append(e.Encoded(), bytes.Repeat([]byte{0xFF}, n)...)
		}(), func(b []byte) { _, _, _ = decodeMessage(uuid.Nil, b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := allocated(func() { tc.dec(tc.rec) })
			if limit := uint64(8 * len(tc.rec)); got > limit {
				t.Fatalf("decoding %d bytes allocated %d (limit %d)", len(tc.rec), got, limit)
			}
		})
	}
}
