package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func openTest(t testing.TB, fs vfs.FS, o Options) *Log {
	t.Helper()
	o.FS = fs
	l, err := Open("wal", &o)
	require.NoError(t, err)
	return l
}

func payload(i int) []byte { return []byte(fmt.Sprintf("payload-%06d", i)) }

func readAll(t testing.TB, l *Log, from uint64) []*Frame {
	t.Helper()
	r, err := l.NewReader(from)
	require.NoError(t, err)
	defer r.Close()
	var out []*Frame
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, f)
	}
}

func commitFrames(t testing.TB, l *Log, n int) []uint64 {
	t.Helper()
	var lsns []uint64
	for i := range n {
		lsn, err := l.Commit(context.Background(), TypeCommit, payload(i))
		require.NoError(t, err)
		lsns = append(lsns, lsn)
	}
	return lsns
}

func TestLog_CommitReadReopen(t *testing.T) {
	fs := vfs.NewMem()
	l := openTest(t, fs, Options{SegmentSize: 512})
	lsns := commitFrames(t, l, 50)
	for i, lsn := range lsns {
		require.Equal(t, uint64(i+1), lsn)
	}
	st := l.Stats()
	require.Greater(t, st.Segments, 3, "small segments must roll")
	frames := readAll(t, l, 1)
	require.Len(t, frames, 50)
	for i, f := range frames {
		require.Equal(t, payload(i), f.Payload)
	}
	require.NoError(t, l.Close())
	require.ErrorIs(t, func() error { _, err := l.Commit(context.Background(), TypeCommit, nil); return err }(), ErrClosed)

	l = openTest(t, fs, Options{SegmentSize: 512})
	defer l.Close()
	// Close writes no frame (its final sync mark is local to the file).
	require.Equal(t, uint64(50), l.DurableLSN())
	lsn, err := l.Commit(context.Background(), TypeCommit, payload(99))
	require.NoError(t, err)
	require.Equal(t, uint64(51), lsn)
	frames = readAll(t, l, 10)
	require.Equal(t, uint64(10), frames[0].LSN)
	require.Equal(t, payload(99), frames[41].Payload)
}

func TestLog_FrameTooLarge(t *testing.T) {
	l := openTest(t, vfs.NewMem(), Options{MaxFrameSize: 100})
	defer l.Close()
	_, err := l.Commit(context.Background(), TypeCommit, make([]byte, 101))
	require.ErrorIs(t, err, ErrFrameTooLarge)
	require.Equal(t, uint64(0), l.DurableLSN(), "nothing may be written for a refused frame")
}

func TestLog_SecondOpenLocked(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, nil)
	require.NoError(t, err)
	defer l.Close()
	_, err = Open(dir, nil)
	require.Error(t, err)
}

func TestLog_MarksAndEpochs(t *testing.T) {
	l := openTest(t, vfs.NewMem(), Options{})
	defer l.Close()
	ctx := context.Background()
	_, err := l.Commit(ctx, TypeCommit, []byte("a"))
	require.NoError(t, err)
	m, err := l.Mark(ctx, "BTS_FULL_1")
	require.NoError(t, err)
	e, err := l.BeginEpoch(ctx, 7)
	require.NoError(t, err)
	_, err = l.BeginEpoch(ctx, 3)
	require.ErrorIs(t, err, ErrStaleEpoch, "epochs only move forward")
	frames := readAll(t, l, 1)
	require.Equal(t, TypeMark, frames[m-1].Type)
	require.Equal(t, "BTS_FULL_1", string(frames[m-1].Payload))
	require.Equal(t, TypeEpoch, frames[e-1].Type)
	require.Equal(t, uint64(7), frames[e-1].Epoch)
	require.Equal(t, uint64(1), frames[0].Epoch)
}

func TestReader_TailBlocksUntilCommit(t *testing.T) {
	l := openTest(t, vfs.NewMem(), Options{SegmentSize: 300})
	defer l.Close()
	r, err := l.NewReader(1)
	require.NoError(t, err)
	defer r.Close()
	const n = 200
	got := make(chan *Frame, n)
	errc := make(chan error, 1)
	go func() {
		for range n {
			f, err := r.Next(context.Background())
			if err != nil {
				errc <- err
				return
			}
			got <- f
		}
		errc <- nil
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n / 4 {
				_, err := l.Commit(context.Background(), TypeCommit, payload(w*1000+i))
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, <-errc)
	close(got)
	var want uint64 = 1
	for f := range got {
		require.Equal(t, want, f.LSN)
		want++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = r.Next(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestLog_PinsHoldTruncation(t *testing.T) {
	l := openTest(t, vfs.NewMem(), Options{SegmentSize: 256})
	defer l.Close()
	commitFrames(t, l, 40)
	pin, err := l.Pin("replica", 5)
	require.NoError(t, err)
	n, err := l.Truncate(30)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the segment wholly below the pin goes")
	require.LessOrEqual(t, l.FirstLSN(), uint64(5))
	pin.Advance(25)
	_, err = l.Truncate(30)
	require.NoError(t, err)
	first := l.FirstLSN()
	require.LessOrEqual(t, first, uint64(25))
	require.Greater(t, first, uint64(1))
	_, err = l.NewReader(1)
	require.ErrorIs(t, err, ErrTruncated)
	_, err = l.Pin("late", 1)
	require.ErrorIs(t, err, ErrTruncated)
	pin.Release()
	_, err = l.Truncate(1000)
	require.NoError(t, err)
	require.Equal(t, 1, l.Stats().Segments, "the active segment is never removed")
	frames := readAll(t, l, l.FirstLSN())
	require.Equal(t, uint64(40), frames[len(frames)-1].LSN)
}

// segmentFiles returns the log's segment paths, oldest first.
func segmentFiles(t testing.TB, fs vfs.FS) []string {
	names, err := fs.List("wal")
	require.NoError(t, err)
	var out []string
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok {
			out = append(out, fs.PathJoin("wal", n))
		}
	}
	// List order is arbitrary (MemFS walks a map); names sort by first LSN.
	slices.Sort(out)
	return out
}

func rewrite(t testing.TB, fs vfs.FS, path string, edit func([]byte) []byte) {
	t.Helper()
	f, err := fs.Open(path)
	require.NoError(t, err)
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	data = edit(data)
	out, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = out.Write(data)
	require.NoError(t, err)
	require.NoError(t, out.Sync())
	require.NoError(t, out.Close())
}

func TestRecovery_TornTailIsCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"half a frame", func(b []byte) []byte { return b[:len(b)-7] }},
		{"garbage tail", func(b []byte) []byte { return append(b, bytes.Repeat([]byte{0xB7}, 30)...) }},
		{"zeroed tail", func(b []byte) []byte { return append(b, make([]byte, 100)...) }},
		{"bad checksum in last frame", func(b []byte) []byte { b[len(b)-1] ^= 0xFF; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			l := openTest(t, mem, Options{})
			commitFrames(t, l, 10)
			// Simulate a crash: no Close, so no final noop frame.
			fs := mem.CrashClone(vfs.CrashCloneCfg{})
			segs := segmentFiles(t, fs)
			rewrite(t, fs, segs[len(segs)-1], tc.edit)
			l2 := openTest(t, fs, Options{})
			defer l2.Close()
			st := l2.Stats()
			frames := readAll(t, l2, 1)
			if tc.name == "garbage tail" || tc.name == "zeroed tail" {
				require.Len(t, frames, 10)
			} else {
				require.Len(t, frames, 9)
			}
			require.Equal(t, uint64(1), st.TornTails)
			lsn, err := l2.Commit(context.Background(), TypeCommit, []byte("after"))
			require.NoError(t, err)
			require.Equal(t, uint64(len(frames)+1), lsn)
			l.Close()
		})
	}
}

func TestRecovery_MiddleCorruption(t *testing.T) {
	fs := vfs.NewMem()
	l := openTest(t, fs, Options{})
	commitFrames(t, l, 20)
	require.NoError(t, l.Close())
	segs := segmentFiles(t, fs)
	require.Len(t, segs, 1)
	// Flip one byte in the payload of the third frame.
	var start int
	rewrite(t, fs, segs[0], func(b []byte) []byte {
		start = frameOffset(t, b, 3)
		b[start+frameHeaderSize+3] ^= 0x01
		return b
	})
	_, err := Open("wal", &Options{FS: fs})
	require.ErrorIs(t, err, ErrCorrupt)
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, segs[0], ce.File)
	require.Equal(t, int64(start), ce.Offset)
	require.Equal(t, uint64(3), ce.LSN)
}

func TestRecovery_SealedSegmentCorruption(t *testing.T) {
	fs := vfs.NewMem()
	l := openTest(t, fs, Options{SegmentSize: 256})
	commitFrames(t, l, 30)
	l.Close()
	segs := segmentFiles(t, fs)
	require.Greater(t, len(segs), 2)
	rewrite(t, fs, segs[0], func(b []byte) []byte { return b[:len(b)-5] })
	_, err := Open("wal", &Options{FS: fs})
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestRecovery_MissingSegment(t *testing.T) {
	fs := vfs.NewMem()
	l := openTest(t, fs, Options{SegmentSize: 256})
	commitFrames(t, l, 30)
	l.Close()
	segs := segmentFiles(t, fs)
	require.NoError(t, fs.Remove(segs[1]))
	_, err := Open("wal", &Options{FS: fs})
	require.ErrorIs(t, err, ErrCorrupt)
}

// TestLog_RefusedEpochFailsOnlyItsCaller: a BeginEpoch that does not move
// the epoch forward fails with ErrStaleEpoch and writes nothing; the log,
// and commits grouped with it, carry on.
func TestLog_RefusedEpochFailsOnlyItsCaller(t *testing.T) {
	l := openTest(t, vfs.NewMem(), Options{})
	defer l.Close()
	ctx := context.Background()
	_, err := l.BeginEpoch(ctx, 7)
	require.NoError(t, err)
	durable := l.DurableLSN()
	for _, e := range []uint64{3, 7} {
		_, err = l.BeginEpoch(ctx, e)
		require.ErrorIs(t, err, ErrStaleEpoch, "epoch %d", e)
		require.NotErrorIs(t, err, ErrFailed)
		require.Equal(t, durable, l.DurableLSN(), "a refused epoch frame was written")
	}
	lsn, err := l.Commit(ctx, TypeCommit, []byte("after"))
	require.NoError(t, err)
	require.Equal(t, durable+1, lsn)

	// Refused epochs queued among commits fail alone.
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%4 == 0 {
				_, errs[i] = l.BeginEpoch(ctx, 2)
			} else {
				_, errs[i] = l.Commit(ctx, TypeCommit, payload(i))
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%4 == 0 {
			require.ErrorIs(t, err, ErrStaleEpoch)
		} else {
			require.NoError(t, err)
		}
	}
	require.Equal(t, lsn+30, l.DurableLSN())
	require.Equal(t, uint64(7), l.Epoch())
	frames := readAll(t, l, 1)
	require.Len(t, frames, int(lsn+30))
	for i, f := range frames {
		require.Equal(t, uint64(i+1), f.LSN)
	}
}
