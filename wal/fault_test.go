package wal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// isInjected reports whether err carries an error injected by errorfs.
// (errors.Is(err, errorfs.ErrInjected) does not hold: the injected value
// carries its predicate.)
func isInjected(err error) bool {
	var le errorfs.LabelledError
	return errors.As(err, &le)
}

// TestLog_FaultInjection injects one error at the i-th file operation, for
// i = 0, 1, 2, ... until the workload completes without reaching it. The
// workload recovers a log with a torn tail (so recovery reads, cuts and
// renames), commits from concurrent committers, reads the log back and
// closes it. Wherever the error lands:
//   - Open returns an error (never panics, never drops what is on disk);
//   - every commit either is acknowledged or fails with an error wrapping
//     ErrFailed and the injected error, and once one has failed every later
//     commit fails with ErrFailed: the log refuses commits until reopened;
//   - reopening the underlying file system, and a crash clone of it, gives
//     back every acknowledged frame.
func TestLog_FaultInjection(t *testing.T) {
	const limit = 5000
	injectedOpen, injectedCommit := 0, 0
	for i := int32(0); ; i++ {
		require.Less(t, i, int32(limit), "workload never completed")
		res := faultRun(t, i)
		if res.injected == 0 {
			t.Logf("workload completed without a fault at index %d; faults failed Open %d times and commits %d times",
				i, injectedOpen, injectedCommit)
			require.Positive(t, injectedOpen)
			require.Positive(t, injectedCommit)
			return
		}
		if res.openFailed {
			injectedOpen++
		}
		if res.commitFailed {
			injectedCommit++
		}
	}
}

type faultResult struct {
	injected                 uint64
	openFailed, commitFailed bool
}

func faultRun(t *testing.T, index int32) faultResult {
	t.Helper()
	ctx := context.Background()
	o := Options{SegmentSize: 2 << 10}
	// acked maps each acknowledged payload (all distinct) to its LSN.
	acked := map[string]uint64{}

	// A log left by a crash, with garbage after its last frame.
	mem0 := vfs.NewCrashableMem()
	l := openTest(t, mem0, o)
	for i := range 30 {
		p := fmt.Sprintf("before-%d", i)
		lsn, err := l.Commit(ctx, TypeCommit, []byte(p))
		require.NoError(t, err)
		acked[p] = lsn
	}
	mem := mem0.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, l.Close())
	segs := segmentFiles(t, mem)
	rewrite(t, mem, segs[len(segs)-1], func(b []byte) []byte { return append(b, 0xB7, 0x5A, 1, 1, 9) })

	counter := &errorfs.Counter{Injector: errorfs.ErrInjected.If(errorfs.OnIndex(index))}
	fs := errorfs.Wrap(mem, counter)
	var res faultResult
	o.FS = fs
	l, err := Open("wal", &o)
	if err != nil {
		require.Positive(t, counter.Load(), "Open failed without a fault: %v", err)
		require.True(t, isInjected(err), "Open error does not carry the fault: %v", err)
		res.openFailed = true
	} else {
		res.commitFailed = faultWorkload(t, l, acked, func() bool { return counter.Load() > 0 })
		if err := l.Close(); err != nil {
			require.Positive(t, counter.Load(), "Close failed without a fault: %v", err)
		}
	}
	res.injected = counter.Load()

	// Nothing acknowledged is lost, on the same disk or after a crash.
	for _, check := range []vfs.FS{mem, mem.CrashClone(vfs.CrashCloneCfg{})} {
		l := openTest(t, check, Options{SegmentSize: o.SegmentSize})
		frames := readAll(t, l, 1)
		for i, f := range frames {
			require.Equal(t, uint64(i+1), f.LSN)
		}
		for p, lsn := range acked {
			require.Less(t, lsn-1, uint64(len(frames)), "fault at %d: acknowledged lsn %d lost", index, lsn)
			require.Equal(t, p, string(frames[lsn-1].Payload), "fault at %d: lsn %d", index, lsn)
		}
		require.NoError(t, l.Close())
	}
	return res
}

// faultWorkload commits from four committers, then reads the log back. It
// records acknowledged commits in acked and reports whether any failed.
func faultWorkload(t *testing.T, l *Log, acked map[string]uint64, injected func() bool) bool {
	t.Helper()
	var (
		mu       sync.Mutex
		failures []error
		wg       sync.WaitGroup
	)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				p := fmt.Sprintf("c%d-%d-%s", c, i, strings.Repeat("x", 40*i))
				lsn, err := l.Commit(context.Background(), TypeCommit, []byte(p))
				mu.Lock()
				if err == nil {
					acked[p] = lsn
					mu.Unlock()
					continue
				}
				failures = append(failures, err)
				mu.Unlock()
				// The log refuses every later commit until reopened.
				_, err = l.Commit(context.Background(), TypeCommit, []byte("after failure"))
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	for _, err := range failures {
		require.True(t, injected(), "commit failed without a fault: %v", err)
		require.ErrorIs(t, err, ErrFailed)
		require.True(t, isInjected(err), "commit error does not carry the fault: %v", err)
	}
	if len(failures) > 0 {
		_, err := l.Mark(context.Background(), "after failure")
		require.ErrorIs(t, err, ErrFailed)
		return true
	}
	// Readers see every acknowledged frame (or fail with the fault).
	byLSN := map[uint64]string{}
	for p, lsn := range acked {
		byLSN[lsn] = p
	}
	r, err := l.NewReader(1)
	require.NoError(t, err)
	defer r.Close()
	for lsn := uint64(1); lsn <= l.DurableLSN(); lsn++ {
		f, err := r.Read()
		if err != nil {
			require.True(t, injected(), "read failed without a fault: %v", err)
			require.True(t, isInjected(err), "read error does not carry the fault: %v", err)
			break
		}
		require.Equal(t, lsn, f.LSN)
		if p, ok := byLSN[lsn]; ok {
			require.Equal(t, p, string(f.Payload))
		}
	}
	return false
}

// TestLog_ApplyErrorFailsLaterGroups checks that once Apply fails, groups
// already written behind the failed one are neither applied nor
// acknowledged: a store must stay an exact prefix of the log.
func TestLog_ApplyErrorFailsLaterGroups(t *testing.T) {
	release := make(chan error)
	entered := make(chan struct{}, 1)
	var mu sync.Mutex
	var applied []uint64
	l := openTest(t, vfs.NewMem(), Options{Apply: func(frames []*Frame) error {
		if frames[0].LSN == 1 {
			entered <- struct{}{}
			if err := <-release; err != nil {
				return err
			}
		}
		mu.Lock()
		for _, f := range frames {
			applied = append(applied, f.LSN)
		}
		mu.Unlock()
		return nil
	}})
	defer l.Close()
	ctx := context.Background()
	errc := make(chan error, 2)
	go func() { _, err := l.Commit(ctx, TypeCommit, []byte("first")); errc <- err }()
	<-entered
	// The second commit is written and synced while the first is being
	// applied, so it waits in the applier's queue.
	go func() { _, err := l.Commit(ctx, TypeCommit, []byte("second")); errc <- err }()
	for l.DurableLSN() < 2 {
		<-l.waitChan()
	}
	release <- errors.New("disk full")
	for range 2 {
		require.ErrorIs(t, <-errc, ErrFailed)
	}
	mu.Lock()
	require.Empty(t, applied, "a frame behind a failed apply was applied")
	mu.Unlock()
	require.Equal(t, uint64(0), l.AppliedLSN())
	_, err := l.Commit(ctx, TypeCommit, []byte("third"))
	require.ErrorIs(t, err, ErrFailed)
}

// TestRecovery_AfterTruncate reopens a log whose oldest segments were
// truncated: the first remaining frame's previous-frame checksum refers to
// a frame that is gone and must not be checked against anything.
func TestRecovery_AfterTruncate(t *testing.T) {
	fs := vfs.NewMem()
	l := openTest(t, fs, Options{SegmentSize: 256})
	commitFrames(t, l, 40)
	n, err := l.Truncate(30)
	require.NoError(t, err)
	require.Positive(t, n)
	first := l.FirstLSN()
	require.NoError(t, l.Close())

	l = openTest(t, fs, Options{SegmentSize: 256})
	require.Equal(t, first, l.FirstLSN())
	require.Equal(t, uint64(40), l.DurableLSN())
	require.Zero(t, l.Stats().TornTails)
	commitFrames(t, l, 5)
	require.Len(t, readAll(t, l, first), int(45-first+1))
	require.NoError(t, l.Close())
}

// TestLog_TruncateRemoveFailure checks that a segment Truncate fails to
// remove stays in the log: were it forgotten while its file remained, a
// later Truncate would remove the segments after it and leave a gap that
// makes the log fail to open.
func TestLog_TruncateRemoveFailure(t *testing.T) {
	mem := vfs.NewMem()
	removes := 0
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind == errorfs.OpRemove {
			removes++
			if removes == 2 {
				return errorfs.ErrInjected
			}
		}
		return nil
	}))
	l := openTest(t, fs, Options{SegmentSize: 256})
	commitFrames(t, l, 40)
	segs := l.Stats().Segments
	n, err := l.Truncate(20)
	require.True(t, isInjected(err), "%v", err)
	require.Equal(t, 1, n, "the first removal succeeded")
	require.Equal(t, segs-1, l.Stats().Segments, "the segments not removed are still in the log")
	first := l.FirstLSN()
	_, err = l.NewReader(first)
	require.NoError(t, err)

	_, err = l.Truncate(35)
	require.NoError(t, err)
	require.Greater(t, l.FirstLSN(), first)
	require.NoError(t, l.Close())
	l = openTest(t, mem, Options{SegmentSize: 256})
	frames := readAll(t, l, l.FirstLSN())
	require.Equal(t, uint64(40), frames[len(frames)-1].LSN)
	require.NoError(t, l.Close())
}

// TestRecovery_EpochSurvivesTruncation truncates everything below the end
// of a log whose active segment is still empty (a reopen that committed
// nothing, as a Set's Close checkpoint does), then reopens it: the epoch,
// which recovery reads from the last frame on disk, must not go back.
func TestRecovery_EpochSurvivesTruncation(t *testing.T) {
	fs := vfs.NewMem()
	l := openTest(t, fs, Options{})
	_, err := l.BeginEpoch(context.Background(), 7)
	require.NoError(t, err)
	commitFrames(t, l, 3)
	require.NoError(t, l.Close())

	l = openTest(t, fs, Options{})
	require.Equal(t, uint64(7), l.Epoch())
	_, err = l.Truncate(1000)
	require.NoError(t, err)
	require.NoError(t, l.Close())

	l = openTest(t, fs, Options{})
	require.Equal(t, uint64(7), l.Epoch(), "the epoch went back after truncation")
	lsn, err := l.Commit(context.Background(), TypeCommit, []byte("x"))
	require.NoError(t, err)
	require.Equal(t, uint64(5), lsn)
	frames := readAll(t, l, l.FirstLSN())
	require.Equal(t, uint64(7), frames[len(frames)-1].Epoch)
	require.NoError(t, l.Close())
}
