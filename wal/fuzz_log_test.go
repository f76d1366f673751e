package wal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// fuzzLog is a log the fuzzers below build from a compact spec, with the
// frames that were acknowledged in it.
type fuzzLog struct {
	fs     *vfs.MemFS
	frames []*Frame // every frame written, in LSN order
	acked  uint64   // highest LSN acknowledged as durable
	clean  bool     // closed cleanly (no crash)
}

// buildFuzzLog writes a log from spec, two bytes per frame: flags and a
// payload length (times 8, so that frames fill 1 KiB segments quickly).
//
//	flags&0x01: Log.Sync after this frame (NoSync logs)
//	flags&0x02: end the follower's Append batch after this frame
//
// A follower log is written by Append from a leader's frames, batched as the
// spec says; a leader's log by Commit. end says how the log stops: 0 Close,
// 1 a crash losing every unsynced byte, else a crash keeping a share of the
// unsynced blocks chosen by end.
func buildFuzzLog(t testing.TB, spec []byte, follower, noSync bool, end uint8) fuzzLog {
	t.Helper()
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	o := Options{SegmentSize: 1 << 10}
	if noSync {
		o.Durability = NoSync
	}
	type frameSpec struct {
		flags byte
		size  int
	}
	var specs []frameSpec
	for i := 0; i+1 < len(spec) && len(specs) < 48; i += 2 {
		specs = append(specs, frameSpec{spec[i], int(spec[i+1]) * 8})
	}
	fl := fuzzLog{fs: mem}
	var l *Log
	if follower {
		leader := openTest(t, vfs.NewMem(), Options{SegmentSize: 1 << 10})
		for i, s := range specs {
			_, err := leader.Commit(ctx, TypeCommit, bytes.Repeat([]byte{byte(i)}, s.size))
			require.NoError(t, err)
		}
		fl.frames = readAll(t, leader, 1)
		require.NoError(t, leader.Close())
		l = openTest(t, mem, o)
		l.SetFollower(errTestFence)
		require.NoError(t, l.TruncateAfter(ctx, 0))
		var batch []*Frame
		for i, s := range specs {
			fr := *fl.frames[i]
			batch = append(batch, &fr)
			if s.flags&0x02 != 0 || i == len(specs)-1 {
				require.NoError(t, l.Append(ctx, batch))
				batch = nil
				if !noSync {
					fl.acked = uint64(i + 1)
				}
			}
		}
	} else {
		l = openTest(t, mem, o)
		for i, s := range specs {
			lsn, err := l.Commit(ctx, TypeCommit, bytes.Repeat([]byte{byte(i)}, s.size))
			require.NoError(t, err)
			if !noSync {
				fl.acked = lsn
			}
			if s.flags&0x01 != 0 && noSync {
				require.NoError(t, l.Sync(ctx))
				fl.acked = l.DurableLSN()
			}
		}
		fl.frames = readAll(t, l, 1)
	}
	switch end {
	case 0:
		require.NoError(t, l.Close())
		fl.clean, fl.acked = true, uint64(len(fl.frames))
	case 1:
		fl.fs = mem.CrashClone(vfs.CrashCloneCfg{})
		require.NoError(t, l.Close())
	default:
		rng := rand.New(rand.NewPCG(uint64(end), 7))
		fl.fs = mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: int(end) % 101, RNG: rng})
		require.NoError(t, l.Close())
	}
	return fl
}

// fuzzDamage damages one segment file of fs: kind 1 flips a bit at pos, 2
// cuts the file at pos, 3 zeroes it from pos, 4 appends a run of magic
// bytes. pos counts from the end of the segment header. It returns the file
// and whether frame or mark bytes were changed (appending changes none).
func fuzzDamage(t *testing.T, fs vfs.FS, kind uint8, segIdx uint8, at uint16) (path string, pos int, size int, changed bool) {
	t.Helper()
	segs := segmentFiles(t, fs)
	if kind%5 == 0 || len(segs) == 0 {
		return "", 0, 0, false
	}
	path = segs[int(segIdx)%len(segs)]
	rewrite(t, fs, path, func(b []byte) []byte {
		size = len(b)
		if len(b) <= segHeaderSize {
			return b
		}
		pos = segHeaderSize + int(at)%(len(b)-segHeaderSize)
		switch kind % 5 {
		case 1:
			b[pos] ^= 1 << (at % 8)
			changed = true
		case 2:
			b, changed = b[:pos], true
		case 3:
			for i := pos; i < len(b); i++ {
				if b[i] != 0 {
					b[i], changed = 0, true
				}
			}
		case 4:
			b = append(b, bytes.Repeat([]byte{frameMagic0, frameMagic1, frameMagic0, markMagic1}, 1+int(at%9))...)
		}
		return b
	})
	return path, pos, size, changed
}

// FuzzRecoverLog builds logs of several segments, written by a leader
// (Commit) or by a follower (Append of a leader's frames), closed cleanly or
// crashed, and then damages one segment. Open must never panic and fails
// only with ErrCorrupt; what it recovers is a prefix of what was written,
// holding every acknowledged frame unless the damage hit one; damage to a
// sealed segment, or to any frame of a cleanly closed log, must fail Open.
func FuzzRecoverLog(f *testing.F) {
	f.Add([]byte{0, 10, 2, 40, 1, 90, 0, 3, 3, 120, 0, 5, 2, 60, 0, 7}, false, false, uint8(0), uint8(0), uint8(0), uint16(0))
	f.Add([]byte{0, 10, 2, 40, 1, 90, 0, 3, 3, 120, 0, 5, 2, 60, 0, 7}, true, false, uint8(0), uint8(1), uint8(0), uint16(77))
	f.Add([]byte{2, 30, 0, 30, 2, 30, 0, 30, 2, 30, 0, 30, 2, 30}, true, false, uint8(50), uint8(1), uint8(3), uint16(500))
	f.Add([]byte{1, 30, 0, 30, 1, 30, 0, 30, 1, 30, 0, 30, 1, 30}, false, true, uint8(80), uint8(3), uint8(9), uint16(41))
	f.Add([]byte{0, 100, 0, 100, 0, 100, 0, 100, 0, 100}, false, false, uint8(1), uint8(2), uint8(1), uint16(900))
	f.Add([]byte{2, 100, 2, 100, 2, 100, 2, 100, 2, 100}, true, true, uint8(0), uint8(4), uint8(2), uint16(3))
	f.Fuzz(func(t *testing.T, spec []byte, follower, noSync bool, end, damage, segIdx uint8, at uint16) {
		fl := buildFuzzLog(t, spec, follower, noSync, end)
		segsBefore := segmentFiles(t, fl.fs)
		path, pos, size, changed := fuzzDamage(t, fl.fs, damage, segIdx, at)
		sealed := path != "" && path != segsBefore[len(segsBefore)-1]

		got, ok := checkRecovery(t, fl.fs)
		if !changed && damage%5 != 4 {
			require.True(t, ok, "an undamaged log failed to open")
		}
		if sealed && (changed || damage%5 == 4) {
			require.False(t, ok, "damage to sealed segment %s at %d was not reported", path, pos)
		}
		if fl.clean && changed && damage%5 == 1 && pos < size-markSize {
			require.False(t, ok, "a bit flip at %d in a cleanly closed log was not reported", pos)
		}
		if !ok {
			return
		}
		require.LessOrEqual(t, len(got), len(fl.frames))
		for i, fr := range got {
			require.Equal(t, fl.frames[i].LSN, fr.LSN)
			require.Equal(t, fl.frames[i].CRC, fr.CRC, "lsn %d", fr.LSN)
		}
		if !changed {
			require.GreaterOrEqual(t, uint64(len(got)), fl.acked, "acknowledged frames lost")
		}
	})
}

// chunkReader returns at most n bytes per Read, so ReadFrame meets short
// reads as it does on a decompressing or network stream.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// streamOf is the backup and shipping form of a log's frames: each frame
// as EncodeFrame writes it, one after another.
func streamOf(frames []*Frame) []byte {
	var b []byte
	for _, f := range frames {
		b = EncodeFrame(b, f)
	}
	return b
}

// FuzzReadFrame reads arbitrary bytes as a backup or shipping stream, in
// chunks of a fuzzed size. ReadFrame must never panic; it ends with io.EOF
// exactly at a frame boundary, and otherwise fails with ErrCorrupt or
// ErrVersion; the frames it returns re-encode to the bytes it consumed; and
// its buffer grows with the bytes read, not with a length a header claims.
func FuzzReadFrame(f *testing.F) {
	leader := buildFuzzLog(f, []byte{0, 10, 0, 40, 0, 90, 0, 3, 0, 120}, false, false, 0)
	follower := buildFuzzLog(f, []byte{2, 10, 0, 40, 2, 90, 0, 3, 2, 120}, true, false, 0)
	for _, fl := range []fuzzLog{leader, follower} {
		s := streamOf(fl.frames)
		f.Add(s, uint8(0))
		f.Add(s, uint8(7))
		f.Add(s[:len(s)-3], uint8(1))
		f.Add(s[frameHeaderSize+1:], uint8(64))
	}
	f.Add([]byte{frameMagic0, frameMagic1, frameVersion, byte(TypeCommit), 0xFF, 0xFF, 0xFF, 0x03}, uint8(0))
	f.Add([]byte{frameMagic0, frameMagic1, 1, byte(TypeCommit)}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		in := bytes.Clone(data)
		var r io.Reader = bytes.NewReader(in)
		if chunk > 0 {
			r = &chunkReader{b: in, n: int(chunk)}
		}
		var (
			buf      []byte
			consumed int
		)
		for {
			fr, b, err := ReadFrame(r, buf, 1<<20)
			buf = b
			if errors.Is(err, io.EOF) && !errors.Is(err, ErrCorrupt) {
				require.Equal(t, len(data), consumed, "io.EOF before the end of the stream")
				return
			}
			// The buffer never outgrows what the stream held (plus slack
			// for doubling and the first allocation).
			require.LessOrEqual(t, cap(buf), max(2*(len(data)-consumed), 64<<10))
			if err != nil {
				require.True(t, errors.Is(err, ErrCorrupt) || errors.Is(err, ErrVersion), "%v", err)
				return
			}
			re := EncodeFrame(nil, &fr)
			require.Equal(t, data[consumed:consumed+len(re)], re)
			consumed += len(re)
		}
	})
}

// FuzzTruncateAfter cuts a follower's log of several segments after a
// fuzzed LSN, with Truncate removing old segments first when asked, then
// appends the rest of the leader's frames. The log must hold exactly the
// leader's frames after each step, and reopen (cleanly, or after a crash
// just after the cut) with them.
func FuzzTruncateAfter(f *testing.F) {
	f.Add([]byte{2, 30, 0, 30, 2, 30, 0, 30, 2, 30, 0, 30, 2, 30}, uint8(0), uint16(0), false)
	f.Add([]byte{2, 30, 0, 30, 2, 30, 0, 30, 2, 30, 0, 30, 2, 30}, uint8(3), uint16(5), true)
	f.Add([]byte{0, 100, 0, 100, 2, 100, 0, 100, 0, 100, 2, 100}, uint8(6), uint16(2), true)
	f.Add([]byte{2, 1, 2, 1, 2, 1}, uint8(3), uint16(1), false)
	f.Fuzz(func(t *testing.T, spec []byte, cut uint8, trunc uint16, crash bool) {
		ctx := context.Background()
		fl := buildFuzzLog(t, spec, true, false, 0)
		if len(fl.frames) == 0 {
			return
		}
		l := openTest(t, fl.fs, Options{SegmentSize: 1 << 10})
		l.SetFollower(errTestFence)
		if trunc > 0 {
			_, err := l.Truncate(uint64(trunc))
			require.NoError(t, err)
		}
		first := l.FirstLSN()
		at := uint64(cut) % (uint64(len(fl.frames)) + 1)
		err := l.TruncateAfter(ctx, at)
		if at+1 < first {
			require.ErrorIs(t, err, ErrTruncated)
			require.NoError(t, l.Close())
			return
		}
		require.NoError(t, err)
		require.Equal(t, at, l.DurableLSN())
		check := func(l *Log, upTo uint64) {
			t.Helper()
			got := readAll(t, l, l.FirstLSN())
			require.Equal(t, upTo-l.FirstLSN()+1, uint64(len(got)))
			for _, fr := range got {
				require.Equal(t, fl.frames[fr.LSN-1].CRC, fr.CRC, "lsn %d", fr.LSN)
			}
		}
		check(l, at)
		if crash {
			crashed := fl.fs.CrashClone(vfs.CrashCloneCfg{})
			l2 := openTest(t, crashed, Options{SegmentSize: 1 << 10})
			require.Equal(t, at, l2.DurableLSN(), "the cut is durable")
			check(l2, at)
			require.NoError(t, l2.Close())
		}
		rest := make([]*Frame, 0, len(fl.frames))
		for _, fr := range fl.frames[at:] {
			c := *fr
			rest = append(rest, &c)
		}
		require.NoError(t, l.Append(ctx, rest))
		check(l, uint64(len(fl.frames)))
		require.NoError(t, l.Close())
		l = openTest(t, fl.fs, Options{SegmentSize: 1 << 10})
		check(l, uint64(len(fl.frames)))
		require.NoError(t, l.Close())
	})
}
