package wal

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// removeGate is an errorfs injector that, once armed, holds the first
// removal of a file whose name contains match until release is closed, and
// closes entered when it gets there: a test can then call into the log
// while a truncation is half done.
type removeGate struct {
	mu      sync.Mutex
	match   string
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func newRemoveGate() *removeGate {
	return &removeGate{entered: make(chan struct{}), release: make(chan struct{})}
}

// arm makes the next removal of a path containing match block.
func (g *removeGate) arm(match string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.match, g.armed = match, true
}

func (g *removeGate) MaybeError(op errorfs.Op) error {
	if op.Kind != errorfs.OpRemove {
		return nil
	}
	g.mu.Lock()
	hold := g.armed && strings.Contains(op.Path, g.match)
	if hold {
		g.armed = false
	}
	g.mu.Unlock()
	if hold {
		close(g.entered)
		<-g.release
	}
	return nil
}

func (g *removeGate) String() string { return "removeGate" }

// followerWithSegments opens a follower log on a small segment size holding
// the first n frames of a leader's log, and returns it with those frames.
func followerWithSegments(t *testing.T, fs vfs.FS, n int) (*Log, []*Frame) {
	t.Helper()
	leader := openTest(t, vfs.NewMem(), Options{SegmentSize: 256})
	commitFrames(t, leader, n)
	frames := readAll(t, leader, 1)
	require.NoError(t, leader.Close())
	l := openTest(t, fs, Options{SegmentSize: 256})
	l.SetFollower(errTestFence)
	require.NoError(t, l.TruncateAfter(context.Background(), 0))
	require.NoError(t, l.Append(context.Background(), frames))
	require.Greater(t, l.Stats().Segments, 3)
	return l, frames
}

// TestLog_TruncateAfterFirstLSNKeepsSegmentList cuts a follower's whole log
// (TruncateAfter just below its first LSN) and, while the cut is half done,
// calls everything that reads the segment list: none may panic or see an
// empty list, and the log continues from the cut.
func TestLog_TruncateAfterFirstLSNKeepsSegmentList(t *testing.T) {
	gate := newRemoveGate()
	// No deferred Close: a panic with Log.mu held would make it hang.
	l, frames := followerWithSegments(t, errorfs.Wrap(vfs.NewMem(), gate), 20)
	gate.arm(segSuffix)
	done := make(chan error, 1)
	go func() { done <- l.TruncateAfter(context.Background(), 0) }()
	<-gate.entered

	st := l.Stats()
	require.Equal(t, uint64(1), st.FirstLSN)
	require.Positive(t, st.Segments)
	require.Equal(t, uint64(1), l.FirstLSN())
	p, err := l.Pin("backup", 1)
	require.NoError(t, err)
	p.Release()
	r, err := l.NewReader(1)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	appendErr := make(chan error, 1)
	go func() { appendErr <- l.Append(context.Background(), frames[:3]) }()

	close(gate.release)
	require.NoError(t, <-done)
	// The Append ran before the cut took effect (it does not continue the
	// old log, which still ends at lsn 20: ErrDiverged), or after it (and
	// continues the empty log). Either way nothing is half applied.
	if err := <-appendErr; err != nil {
		require.ErrorIs(t, err, ErrDiverged)
	}
	require.NoError(t, l.TruncateAfter(context.Background(), 0))
	require.Equal(t, uint64(0), l.DurableLSN())
	require.Equal(t, 1, l.Stats().Segments)
	require.NoError(t, l.Append(context.Background(), frames))
	require.Len(t, readAll(t, l, 1), len(frames))
	require.NoError(t, l.Close())
}

// TestLog_TruncateBesideTruncateAfter runs Truncate while TruncateAfter is
// half done: Truncate may remove old segments, but the tail cut must still
// find the segment it cuts and leave a log that reads and reopens.
func TestLog_TruncateBesideTruncateAfter(t *testing.T) {
	mem := vfs.NewMem()
	gate := newRemoveGate()
	l, frames := followerWithSegments(t, errorfs.Wrap(mem, gate), 40)
	const cut = 30
	gate.arm(segSuffix)
	done := make(chan error, 1)
	go func() { done <- l.TruncateAfter(context.Background(), cut) }()
	<-gate.entered

	// Truncate runs to completion beside the half-done cut.
	_, err := l.Truncate(1000)
	require.NoError(t, err)
	require.LessOrEqual(t, l.FirstLSN(), uint64(cut))

	close(gate.release)
	require.NoError(t, <-done)
	require.Equal(t, uint64(cut), l.DurableLSN())
	got := readAll(t, l, l.FirstLSN())
	require.Equal(t, uint64(cut), got[len(got)-1].LSN)
	require.Equal(t, frames[cut-1].CRC, got[len(got)-1].CRC)
	// The log continues after the cut, and reopens with the same frames.
	require.NoError(t, l.Append(context.Background(), frames[cut:]))
	first := l.FirstLSN()
	require.NoError(t, l.Close())
	l = openTest(t, mem, Options{SegmentSize: 256})
	defer l.Close()
	require.Equal(t, first, l.FirstLSN())
	require.Equal(t, uint64(len(frames)), l.DurableLSN())
}
