package mgmt

import (
	"bytes"
	"runtime"
	"testing"
)

// TestDecode_AllocatesInProportionToInput: a stored send port whose filter
// claims as many groups as it has bytes left, all of them damaged, costs a
// small multiple of its size to decode, not the count times a group.
func TestDecode_AllocatesInProportionToInput(t *testing.T) {
	const n = 1 << 16
	e := newEnc()
	e.Uvarint(n) // strings that follow
	rec := append(e.Encoded(), bytes.Repeat([]byte{0xFF}, n)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_ = decode(rec, "test", func(d *dec) { _ = d.strs(); _ = d.filter() })
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(8*len(rec)); got > limit {
		t.Fatalf("decoding %d bytes allocated %d (limit %d)", len(rec), got, limit)
	}
}
