package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/stretchr/testify/require"
)

func TestNode_ReplicationEquality(t *testing.T) {
	for _, mode := range []Mode{Sync, SyncApply, Async} {
		t.Run("mode="+mode.String(), func(t *testing.T) {
			w := NewLocalWitness(testTTL)
			a := openTestNode(t, w, "a", nil, mode, nil)
			active := waitActive(t, 5*time.Second, a)
			b := openTestNode(t, w, "b", nil, mode, nil)
			if mode != Async {
				waitInSync(t, active)
			}
			l := newLedger()
			stop := make(chan struct{})
			wait := load([]*testNode{a, b}, 8, l, stop)
			time.Sleep(300 * time.Millisecond)
			close(stop)
			n := wait()
			require.Positive(t, n)
			// (Under heavy load a lease can lapse and the roles swap: that
			// is allowed, so the test looks up who is active now.)
			act := waitActive(t, 10*time.Second, a, b)
			pas := a
			if act == a {
				pas = b
			}
			waitCaughtUp(t, act, pas)
			requireSameDigest(t, act, pas)
			lost, err := l.check(pas.group())
			require.NoError(t, err)
			require.Zero(t, lost)
			_, err = write(context.Background(), pas.Node, "x", 1)
			require.ErrorIs(t, err, ErrNotActive)
			st := act.Status()
			t.Logf("commits=%d status=%+v", n, st)
		})
	}
}

func TestNode_KillActiveMidCommit(t *testing.T) {
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	l := newLedger()
	stop := make(chan struct{})
	wait := load([]*testNode{a, b}, 8, l, stop)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	afs := a.crash(w)
	waitActive(t, 10*time.Second, b)
	failover := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wait()
	lost, err := l.check(b.group())
	require.NoError(t, err)
	require.Zero(t, lost, "acknowledged commits lost")
	t.Logf("failover in %v (lease %v)", failover, testTTL)

	// The old active returns on what its disk kept and follows b.
	a2 := openTestNode(t, w, "a", afs, Sync, nil)
	waitInSync(t, b)
	_, err = write(context.Background(), b.Node, "after", 1)
	require.NoError(t, err)
	waitCaughtUp(t, b, a2)
	requireSameDigest(t, b, a2)
}

func TestNode_StaleActiveCannotCommit(t *testing.T) {
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	_, err := write(context.Background(), a.Node, "k", 1)
	require.NoError(t, err)
	// a is paused past its lease (SIGSTOP): it renews nothing, notices
	// nothing, and the witness lets b win.
	resume := a.pauseNode(t)
	w.Isolate("a", true)
	waitActive(t, 10*time.Second, b)
	// a wakes and tries to commit: its lease has lapsed, and b, at a newer
	// epoch, would never ack it anyway.
	resume()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = write(ctx, a.Node, "k", 2)
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrNotActive), "got %v", err)
	v, ok, err := b.group().Get(biztier.MessageBox, []byte("k"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, u64(1), v)
	w.Isolate("a", false)
	// a rejoins as passive and converges.
	waitFor(t, 10*time.Second, "a passive", func() bool { return a.Role() == Passive && a.Status().PeerConnected })
	_, err = write(context.Background(), b.Node, "k", 3)
	require.NoError(t, err)
	waitCaughtUp(t, b, a)
	requireSameDigest(t, b, a)
}
