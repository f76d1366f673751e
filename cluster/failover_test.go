package cluster

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/stretchr/testify/require"
)

func TestNode_SwitchoverUnderLoad(t *testing.T) {
	w := NewLocalWitness(testTTL)
	var promotes, demotes atomic.Int32
	cb := func(o *Options) {
		o.OnPromote = func(uint64) { promotes.Add(1) }
		o.OnDemote = func(uint64) { demotes.Add(1) }
	}
	a := openTestNode(t, w, "a", nil, Sync, cb)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, cb)
	waitInSync(t, a)
	l := newLedger()
	stop := make(chan struct{})
	wait := load([]*testNode{a, b}, 8, l, stop)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	require.NoError(t, a.Switchover(context.Background()))
	waitActive(t, 5*time.Second, b)
	took := time.Since(start)
	t.Logf("switchover in %v", took)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wait()
	lost, err := l.check(b.group())
	require.NoError(t, err)
	require.Zero(t, lost)
	waitInSync(t, b)
	waitCaughtUp(t, b, a)
	requireSameDigest(t, b, a)
	t.Logf("a: %v; b: %v", a.Status().LastError, b.Status().LastError)
	require.Equal(t, promotes.Load(), demotes.Load()+1, "OnPromote and OnDemote alternate")
	// And back.
	require.NoError(t, b.Switchover(context.Background()))
	waitActive(t, 5*time.Second, a)
	_, err = write(context.Background(), a.Node, "back", 1)
	require.NoError(t, err)
}

func TestNode_PartitionActivePassiveDegrades(t *testing.T) {
	w := NewLocalWitness(testTTL)
	var fn faultNet
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, func(o *Options) { o.Dial = fn.dial })
	waitInSync(t, a)
	fn.partition(true)
	// Commits go on, alone, once the sync record no longer lists b.
	_, err := write(context.Background(), a.Node, "k", 1)
	require.NoError(t, err)
	rec, _ := w.SyncRecord()
	require.Equal(t, []string{"a"}, rec.IDs())
	require.Equal(t, "degraded", a.Status().SyncState)
	// a dies before b catches up: b must not promote.
	a.crash(w)
	waitFor(t, 10*time.Second, "b to win and refuse", func() bool { return b.Status().Alarm != nil })
	require.ErrorIs(t, b.Status().Alarm, errNotPromotable)
	require.Equal(t, Passive, b.Role())
}

func TestNode_StrictBlocksWithoutPassive(t *testing.T) {
	w := NewLocalWitness(testTTL)
	var fn faultNet
	strict := func(o *Options) { o.Strict = true }
	a := openTestNode(t, w, "a", nil, Sync, strict)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, func(o *Options) { strict(o); o.Dial = fn.dial })
	waitInSync(t, a)
	fn.partition(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := write(ctx, a.Node, "k", 1)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("commit returned %v while the passive was away in strict mode", err)
	case <-time.After(500 * time.Millisecond):
	}
	fn.partition(false)
	require.NoError(t, <-done)
	waitCaughtUp(t, a, b)
	requireSameDigest(t, a, b)
}

// TestNode_ReturningActiveTruncatesTail: the active is cut off from both
// the passive and the witness with commits in flight. Their frames are
// durable on it but never acknowledged; the passive takes over; the old
// active comes back, cuts that tail and follows.
func TestNode_ReturningActiveTruncatesTail(t *testing.T) {
	w := NewLocalWitness(testTTL)
	var fnB faultNet
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, func(o *Options) { o.Dial = fnB.dial })
	waitInSync(t, a)
	_, err := write(context.Background(), a.Node, "k", 1)
	require.NoError(t, err)
	w.Isolate("a", true)
	fnB.partition(true)
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			_, err := write(context.Background(), a.Node, "t"+string(rune('0'+i)), 9)
			errs <- err
		}()
	}
	for range 4 {
		require.ErrorIs(t, <-errs, ErrNotActive)
	}
	tail := a.wlog().DurableLSN()
	require.Greater(t, tail, a.wlog().AppliedLSN(), "no unacknowledged tail")
	firstA := a.wlog().FirstLSN()
	waitActive(t, 10*time.Second, b)
	_, err = write(context.Background(), b.Node, "k", 2)
	require.NoError(t, err)
	w.Isolate("a", false)
	fnB.partition(false)
	waitFor(t, 10*time.Second, "a following b", func() bool { return a.Role() == Passive && a.Status().PeerConnected })
	waitCaughtUp(t, b, a)
	requireSameDigest(t, b, a)
	for i := range 4 {
		_, ok, err := a.group().Get(biztier.MessageBox, []byte("t"+string(rune('0'+i))))
		require.NoError(t, err)
		require.False(t, ok, "unacknowledged commit survived on the old active")
	}
	// a cut its own tail and kept its log before the fork: it was not
	// rebuilt from b's checkpoints, and where its tail was it now holds b's
	// frames.
	require.Zero(t, a.bootstraps.Load(), "a was rebuilt instead of cutting its tail")
	require.Equal(t, firstA, a.wlog().FirstLSN())
	require.NoError(t, sameLogs(b.wlog(), a.wlog()))
}

func TestNode_AsyncLagAndNoAutoFailover(t *testing.T) {
	w := NewLocalWitness(testTTL)
	var fn faultNet
	a := openTestNode(t, w, "a", nil, Async, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Async, func(o *Options) { o.Dial = fn.dial })
	waitFor(t, 5*time.Second, "stream", func() bool { return a.Status().PeerConnected })
	fn.partition(true)
	for i := range 20 {
		_, err := write(context.Background(), a.Node, "k", uint64(i))
		require.NoError(t, err)
	}
	waitFor(t, 5*time.Second, "lag reported", func() bool { return a.Status().LagLSN >= 20 })
	st := a.Status()
	require.Equal(t, "async", st.SyncState)
	require.GreaterOrEqual(t, st.LagLSN, uint64(20))
	require.Positive(t, st.LagTime)
	fn.partition(false)
	waitCaughtUp(t, a, b)
	waitFor(t, 5*time.Second, "lag back to zero", func() bool { return a.Status().LagLSN == 0 })
	rec, _ := w.SyncRecord()
	require.Equal(t, []string{"a"}, rec.IDs(), "an async passive is never listed")
}
