package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// fuzzFrames returns a few valid encoded frames, chained, from LSN 1.
func fuzzFrames() []byte {
	var b []byte
	var prev uint32
	for i, f := range []Frame{
		{Type: TypeCommit, Payload: EncodeRecords(nil, []Record{{Store: 1, Data: []byte("abc")}, {Store: 2, Data: nil}})},
		{Type: TypeMark, Payload: []byte("BTS_FULL")},
		{Type: TypeEpoch, Epoch: 2, Payload: binary.LittleEndian.AppendUint64(nil, 1)},
		{Type: TypeNoop},
	} {
		f.LSN, f.Epoch, f.Time, f.PrevCRC = uint64(i+1), max(f.Epoch, 1), 1700000000e9, prev
		b = EncodeFrame(b, &f)
		prev = f.CRC
	}
	return b
}

// FuzzDecodeFrame decodes arbitrary bytes as a frame: it must never panic,
// every failure must wrap ErrCorrupt, and a frame it accepts must encode
// back to exactly the bytes it used.
func FuzzDecodeFrame(f *testing.F) {
	frames := fuzzFrames()
	f.Add(frames)
	f.Add(frames[:frameHeaderSize])
	f.Add(frames[:frameHeaderSize+3])
	f.Add(frames[frameHeaderSize+5:])
	f.Add([]byte{frameMagic0, frameMagic1, frameVersion, byte(TypeCommit), 0xFF, 0xFF, 0xFF, 0x7F})
	old := bytes.Clone(frames)
	old[2] = 1 // a format 1 frame
	f.Add(old)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		fr, n, err := DecodeFrame(b, 1<<20)
		require.Equal(t, in, b, "DecodeFrame modified its input")
		if err != nil {
			require.True(t, errors.Is(err, ErrCorrupt) || errors.Is(err, ErrVersion), "%v", err)
			require.Zero(t, n)
			return
		}
		require.LessOrEqual(t, n, len(b))
		require.Equal(t, frameHeaderSize+len(fr.Payload), n)
		require.Equal(t, n, fr.Size())
		require.NotZero(t, fr.LSN)
		require.True(t, fr.Type.valid())
		crc := fr.CRC
		re := EncodeFrame(nil, &fr)
		require.Equal(t, b[:n], re)
		require.Equal(t, crc, fr.CRC)
	})
}

// FuzzDecodeRecords decodes arbitrary bytes as a commit payload: it must
// never panic, every failure must wrap ErrCorrupt, and records it accepts
// must survive an encode/decode round trip, each one's Data capped so that
// appending to it cannot overwrite the next.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(EncodeRecords(nil, []Record{{Store: 1, Data: []byte("hello")}, {Store: 6, Data: bytes.Repeat([]byte{1}, 200)}}))
	f.Add(EncodeRecords(nil, nil))
	f.Add([]byte{0x02, 0x01, 0x05, 'a'})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})
	f.Add([]byte{0x01, 0x01, 0x80, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeRecords(b)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		size := 0
		for _, r := range recs {
			require.Equal(t, len(r.Data), cap(r.Data))
			size += len(r.Data)
		}
		require.LessOrEqual(t, size, len(b))
		re := EncodeRecords(nil, recs)
		require.LessOrEqual(t, len(re), RecordsSize(recs))
		again, err := DecodeRecords(re)
		require.NoError(t, err)
		require.Equal(t, len(recs), len(again))
		for i := range recs {
			require.Equal(t, recs[i].Store, again[i].Store)
			require.Equal(t, string(recs[i].Data), string(again[i].Data))
		}
	})
}

// FuzzRecoverSegment hands arbitrary bytes to recovery as the log's only
// segment, or as its first (sealed) segment when sealed is set. Open must
// never panic: it either recovers, after which every frame reads back and
// the log takes a new commit, or fails with an error wrapping ErrCorrupt.
func FuzzRecoverSegment(f *testing.F) {
	seg := append(encodeSegHeader(1), fuzzFrames()...)
	f.Add(seg, false)
	f.Add(seg, true)
	f.Add(seg[:len(seg)-9], false)
	f.Add(append(bytes.Clone(seg), make([]byte, 64)...), false)
	f.Add(append(bytes.Clone(seg), seg[segHeaderSize:]...), false)
	f.Add(seg[:segHeaderSize], false)
	f.Add(seg[:segHeaderSize-4], false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, sealed bool) {
		fs := vfs.NewMem()
		require.NoError(t, fs.MkdirAll("wal", 0o755))
		writeFile(t, fs, "wal/"+segmentName(1), data)
		if sealed {
			// A second segment continuing after the fuzzed one's frames (if
			// they are fuzzFrames), so the fuzzed one is checked as sealed.
			writeFile(t, fs, "wal/"+segmentName(5), encodeSegHeader(5))
		}
		checkRecovery(t, fs)
	})
}

// FuzzRecoverFrames builds a segment of valid frames from a compact spec
// and then damages it as the spec says, so that the fuzzer reaches the
// checks behind the CRC: LSN gaps, broken chains, durable watermarks, torn
// and zeroed tails, garbage after the end. Whatever it builds, Open must not
// panic; if it succeeds, the frames it recovered must be a prefix of the
// frames built; if nothing was damaged, it must recover them all.
func FuzzRecoverFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0}, uint8(0), uint16(0))
	f.Add([]byte{1, 5, 1, 9, 2, 0, 3, 1}, uint8(1), uint16(30))
	f.Add([]byte{0, 1, 0, 2, 0, 3, 0, 4, 0, 5}, uint8(2), uint16(100))
	f.Add([]byte{0x40, 1, 0x80, 2, 0, 3}, uint8(3), uint16(7))
	f.Add([]byte{0, 200, 0, 200, 0, 200}, uint8(4), uint16(250))
	f.Add([]byte{0, 1, 0, 1}, uint8(5), uint16(0))
	f.Fuzz(func(t *testing.T, spec []byte, damage uint8, at uint16) {
		// Each frame takes two spec bytes: flags and payload length.
		//   flags&0x03: 1 skips an LSN, 2 breaks the chain, 3 repeats the LSN
		//   flags&0x04: the frame claims a Synced watermark up to itself
		//   flags&0x08: starts a new sync group (Synced moves up)
		var (
			seg     = encodeSegHeader(1)
			offs    []int // start of each frame
			lsn     uint64
			prev    uint32
			synced  uint64
			intact  = true // frames form a valid dense chain
			payload = make([]byte, 256)
		)
		for i := 0; i+1 < len(spec) && len(offs) < 64; i += 2 {
			flags, n := spec[i], int(spec[i+1])
			fr := Frame{Type: TypeCommit, Epoch: 1, Time: int64(i), Payload: payload[:n]}
			lsn++
			switch flags & 0x03 {
			case 1:
				lsn++
				intact = false
			case 2:
				prev ^= 0xDEAD
				intact = false
			case 3:
				if lsn > 1 {
					lsn--
					intact = false
				}
			}
			if flags&0x08 != 0 && lsn-1 > synced {
				synced = lsn - 1
				seg = appendMark(seg, markGroup, synced)
			}
			fr.LSN, fr.PrevCRC = lsn, prev
			offs = append(offs, len(seg))
			seg = EncodeFrame(seg, &fr)
			prev = fr.CRC
			if flags&0x04 != 0 {
				// A mark claiming this frame synced (a Close mark, or a
				// lying one when the frames are not intact).
				seg = appendMark(seg, markClose, lsn)
			}
		}
		built := len(offs)
		end := len(seg)
		pos := segHeaderSize + int(at)%max(1, end-segHeaderSize)
		damaged := false // a built frame was cut or changed
		switch damage % 6 {
		case 1: // torn: cut at pos
			if pos < end {
				seg, damaged = seg[:pos], true
			}
		case 2: // bit flip at pos
			if pos < end {
				seg[pos] ^= 0x10
				damaged = true
			}
		case 3: // zeroed tail from pos
			for i := pos; i < end; i++ {
				seg[i], damaged = 0, true
			}
		case 4: // garbage after the end
			seg = append(seg, bytes.Repeat([]byte{frameMagic0, frameMagic1}, int(at%40))...)
		case 5: // a copy of the frames after the end
			seg = append(seg, seg[segHeaderSize:]...)
		}

		fs := vfs.NewMem()
		require.NoError(t, fs.MkdirAll("wal", 0o755))
		writeFile(t, fs, "wal/"+segmentName(1), seg)
		frames, ok := checkRecovery(t, fs)
		if intact && !damaged {
			require.True(t, ok, "a valid log failed to open")
			require.Len(t, frames, built)
		}
		if !ok {
			return
		}
		// What was recovered is a prefix of what was built, byte for byte.
		require.LessOrEqual(t, len(frames), built)
		for i, fr := range frames {
			require.Less(t, offs[i], len(seg))
			want, _, err := DecodeFrame(seg[offs[i]:], 1<<20)
			if err != nil {
				// The built frame was damaged, so the recovered one cannot
				// be it; the check below fails with a clear message.
				t.Fatalf("recovered frame %d (lsn %d) where the built one is damaged: %v", i, fr.LSN, err)
			}
			require.Equal(t, want.LSN, fr.LSN)
			require.Equal(t, want.CRC, fr.CRC)
			require.Equal(t, string(want.Payload), string(fr.Payload))
		}
	})
}

func writeFile(t *testing.T, fs vfs.FS, name string, data []byte) {
	t.Helper()
	out, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	// A copy: MemFS may scribble on what it was given to write (it does
	// under the race and invariants tags), and callers keep using data.
	_, err = out.Write(bytes.Clone(data))
	require.NoError(t, err)
	require.NoError(t, out.Sync())
	require.NoError(t, out.Close())
}

// checkRecovery opens the log on fs. If Open fails, the error must wrap
// ErrCorrupt (MemFS has no I/O errors). If it succeeds, every frame must
// read back, a new commit must succeed, and a second reopen must agree.
func checkRecovery(t *testing.T, fs vfs.FS) ([]*Frame, bool) {
	t.Helper()
	o := &Options{FS: fs, MaxFrameSize: 1 << 20}
	l, err := Open("wal", o)
	if err != nil {
		require.ErrorIs(t, err, ErrCorrupt)
		return nil, false
	}
	r, err := l.NewReader(l.FirstLSN())
	require.NoError(t, err)
	var frames []*Frame
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		frames = append(frames, f)
	}
	require.NoError(t, r.Close())
	require.Equal(t, l.DurableLSN()-l.FirstLSN()+1, uint64(len(frames)))
	lsn, err := l.Commit(context.Background(), TypeCommit, []byte("after recovery"))
	require.NoError(t, err)
	require.Equal(t, l.DurableLSN(), lsn)
	require.NoError(t, l.Close())

	l, err = Open("wal", o)
	require.NoError(t, err, "reopen after a successful recovery")
	require.Equal(t, lsn, l.DurableLSN(), "the commit survives")
	require.Zero(t, l.Stats().TornTails)
	require.NoError(t, l.Close())
	return frames, true
}
