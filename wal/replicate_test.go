package wal

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

var errTestFence = errors.New("test: fenced")

// TestLog_AppendFollowsLeader: a follower log appended with a leader's
// frames holds the same frames (LSN, epoch, CRC chain), applies them, and
// refuses gaps, broken chains, older epochs and local commits.
func TestLog_AppendFollowsLeader(t *testing.T) {
	leader := openTest(t, vfs.NewMem(), Options{})
	defer leader.Close()
	_, err := leader.BeginEpoch(context.Background(), 5)
	require.NoError(t, err)
	commitFrames(t, leader, 20)
	frames := readAll(t, leader, 1)

	var applied atomic.Uint64
	fs := vfs.NewCrashableMem()
	f := openTest(t, fs, Options{Apply: func(fr []*Frame) error {
		applied.Store(fr[len(fr)-1].LSN)
		return nil
	}})
	f.SetFollower(errTestFence)
	_, err = f.Commit(context.Background(), TypeCommit, []byte("x"))
	require.ErrorIs(t, err, errTestFence)
	require.ErrorIs(t, f.Append(context.Background(), frames[:1]), ErrNotFollowing, "tail not settled")
	require.NoError(t, f.TruncateAfter(context.Background(), 0))

	require.ErrorIs(t, f.Append(context.Background(), frames[1:2]), ErrDiverged, "gap")
	require.NoError(t, f.Append(context.Background(), frames[:10]))
	bad := *frames[10]
	bad.PrevCRC++
	require.ErrorIs(t, f.Append(context.Background(), []*Frame{&bad}), ErrDiverged, "broken chain")
	require.NoError(t, f.Append(context.Background(), frames[10:]))
	require.Equal(t, leader.DurableLSN(), f.DurableLSN())
	require.NoError(t, f.WaitProgress(context.Background(), f.DurableLSN(), f.DurableLSN()-1))
	require.Eventually(t, func() bool { return applied.Load() == f.DurableLSN() }, 5e9, 1e6)
	require.Equal(t, uint64(5), f.Epoch())
	require.Equal(t, leader.Epochs(), f.Epochs())
	old := *frames[len(frames)-1]
	old.LSN, old.Epoch, old.PrevCRC = f.DurableLSN()+1, 4, frames[len(frames)-1].CRC
	require.ErrorIs(t, f.Append(context.Background(), []*Frame{&old}), ErrStaleEpoch)

	// Same frames after a reopen.
	require.NoError(t, f.Close())
	f2 := openTest(t, fs, Options{})
	defer f2.Close()
	got := readAll(t, f2, 1)
	require.Len(t, got, len(frames))
	for i := range got {
		require.Equal(t, frames[i].CRC, got[i].CRC)
		require.Equal(t, frames[i].Epoch, got[i].Epoch)
	}
}

// TestLog_GateFailsGroupAndTruncateAfterCuts: a failing gate fails the
// group and everything after it without applying; TruncateAfter cuts the
// unapplied tail durably and the log continues from there.
func TestLog_GateFailsGroupAndTruncateAfterCuts(t *testing.T) {
	fs := vfs.NewCrashableMem()
	var applied atomic.Uint64
	l := openTest(t, fs, Options{SegmentSize: 4 << 10, Apply: func(fr []*Frame) error {
		applied.Store(fr[len(fr)-1].LSN)
		return nil
	}})
	commitFrames(t, l, 50)
	good := l.AppliedLSN()
	var fenced atomic.Bool
	l.SetGate(func(uint64) error {
		if fenced.Load() {
			return errTestFence
		}
		return nil
	})
	fenced.Store(true)
	for range 5 {
		_, err := l.Commit(context.Background(), TypeCommit, payload(0))
		require.ErrorIs(t, err, errTestFence)
	}
	require.Equal(t, good, applied.Load(), "nothing applied past the gate")
	require.Equal(t, good+5, l.DurableLSN())
	l.SetFollower(errTestFence)
	require.NoError(t, l.TruncateAfter(context.Background(), good))
	require.Equal(t, good, l.DurableLSN())
	// It continues as a leader from there.
	l.SetGate(nil)
	l.SetFollower(nil)
	lsn, err := l.Commit(context.Background(), TypeCommit, payload(1))
	require.NoError(t, err)
	require.Equal(t, good+1, lsn)
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, l.Close())
	l2 := openTest(t, crashed, Options{})
	defer l2.Close()
	require.Equal(t, good+1, l2.DurableLSN())
	require.Len(t, readAll(t, l2, 1), int(good+1))
}

// TestLog_UnsyncedReaderSeesWrittenFrames: a NoSync log's frames are
// visible to an unsynced reader as soon as they are written.
func TestLog_UnsyncedReaderSeesWrittenFrames(t *testing.T) {
	l := openTest(t, vfs.NewMem(), Options{Durability: NoSync})
	defer l.Close()
	r, err := l.NewUnsyncedReader(1)
	require.NoError(t, err)
	defer r.Close()
	commitFrames(t, l, 3)
	for i := range 3 {
		f, err := r.Next(context.Background())
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), f.LSN)
	}
}
