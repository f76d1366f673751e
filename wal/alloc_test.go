package wal

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// allocBytes is the mean number of bytes f allocates per call.
func allocBytes(f func()) uint64 {
	const runs = 20
	f() // warm up (lazily made tables and the like)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

// TestDecodeRecords_AllocatesInProportionToInput: a record count is read
// from the input, so it is never trusted for an allocation; what decoding
// costs follows the records actually present.
func TestDecodeRecords_AllocatesInProportionToInput(t *testing.T) {
	// A count as large as the payload, then a first record whose length
	// does not decode.
	p := binary.AppendUvarint(nil, 4000)
	p = append(p, bytes.Repeat([]byte{0xFF}, 4000)...)
	var err error
	got := allocBytes(func() { _, err = DecodeRecords(p) })
	require.ErrorIs(t, err, ErrCorrupt)
	t.Logf("%d bytes allocated for a %d-byte payload", got, len(p))
	require.LessOrEqual(t, got, uint64(len(p)), "DecodeRecords allocated %d bytes for a %d-byte payload", got, len(p))
}

// TestReadFrame_AllocatesInProportionToInput: a backup or shipping stream
// whose frame header claims a payload far longer than the stream must fail
// without allocating the claimed length.
func TestReadFrame_AllocatesInProportionToInput(t *testing.T) {
	f := Frame{Type: TypeCommit, LSN: 1, Epoch: 1, Payload: make([]byte, 100)}
	stream := EncodeFrame(nil, &f)
	binary.LittleEndian.PutUint32(stream[4:], 32<<20) // the length field
	var err error
	got := allocBytes(func() { _, _, err = ReadFrame(bytes.NewReader(stream), nil, 64<<20) })
	require.ErrorIs(t, err, ErrCorrupt)
	t.Logf("%d bytes allocated for a %d-byte stream", got, len(stream))
	require.LessOrEqual(t, got, uint64(64<<10), "ReadFrame allocated %d bytes for a %d-byte stream", got, len(stream))
}

// TestReader_DamagedLengthAllocatesLittle: a frame whose length field is
// damaged after recovery (bit rot under an open log) makes a Reader fail
// with ErrCorrupt, without allocating the claimed length.
func TestReader_DamagedLengthAllocatesLittle(t *testing.T) {
	fs := vfs.NewMem()
	l := openTest(t, fs, Options{})
	defer l.Close()
	commitFrames(t, l, 3)
	segs := segmentFiles(t, fs)
	wf, err := fs.OpenReadWrite(segs[len(segs)-1], vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	first := readAll(t, l, 1)[0]
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], 60<<20)
	_, err = wf.WriteAt(n[:], int64(segHeaderSize+first.Size()+4)) // frame 2's length
	require.NoError(t, err)
	require.NoError(t, wf.Close())

	got := allocBytes(func() {
		r, err := l.NewReader(2)
		require.NoError(t, err)
		_, err = r.Read()
		require.ErrorIs(t, err, ErrCorrupt)
		require.NoError(t, r.Close())
	})
	t.Logf("%d bytes allocated per reader", got)
	require.LessOrEqual(t, got, uint64(1<<20), "a reader allocated %d bytes for a damaged frame", got)
}
