package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/stretchr/testify/require"
)

// TestNode_BootstrapFromCheckpoint: the active's log no longer holds the
// frames a new passive needs (checkpoints truncated it), so the passive is
// rebuilt from Pebble checkpoints of every store, taken while commits go
// on, and then follows the log.
func TestNode_BootstrapFromCheckpoint(t *testing.T) {
	w := NewLocalWitness(testTTL)
	small := func(o *Options) { o.Group.SegmentSize = 64 << 10 }
	a := openTestNode(t, w, "a", nil, Sync, small)
	waitActive(t, 5*time.Second, a)
	big := make([]byte, 1024)
	for i := range 300 {
		_, err := a.Update(context.Background(), func(tx *biztier.Tx) error {
			return tx.Set(biztier.Tracking, []byte{byte(i % 50)}, big)
		})
		require.NoError(t, err)
	}
	require.NoError(t, a.group().Checkpoint(context.Background()))
	require.Greater(t, a.wlog().FirstLSN(), uint64(1), "log not truncated")

	l := newLedger()
	stop := make(chan struct{})
	wait := load([]*testNode{a}, 4, l, stop)
	b := openTestNode(t, w, "b", nil, Sync, small)
	waitInSync(t, a, b)
	close(stop)
	wait()
	waitCaughtUp(t, a, b)
	requireSameDigest(t, a, b)
	lost, err := l.check(b.group())
	require.NoError(t, err)
	require.Zero(t, lost)
	require.Greater(t, b.wlog().FirstLSN(), uint64(1), "b's log starts after the checkpoint")
}

// TestNode_PassiveLaggingPastRetention: the passive is cut off while the
// active writes more than RetainBytes; the active drops its pin, its
// checkpoint truncates the log, and the returning passive is rebuilt from
// checkpoints.
func TestNode_PassiveLaggingPastRetention(t *testing.T) {
	w := NewLocalWitness(testTTL)
	var fn faultNet
	small := func(o *Options) {
		o.Group.SegmentSize = 32 << 10
		o.RetainBytes = 96 << 10
	}
	a := openTestNode(t, w, "a", nil, Sync, small)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, func(o *Options) { small(o); o.Dial = fn.dial })
	waitInSync(t, a, b)
	fn.partition(true)
	big := make([]byte, 1024)
	for i := range 400 {
		_, err := a.Update(context.Background(), func(tx *biztier.Tx) error {
			return tx.Set(biztier.Tracking, []byte{byte(i % 50)}, big)
		})
		require.NoError(t, err)
	}
	waitFor(t, 5*time.Second, "pin dropped", func() bool {
		require.NoError(t, a.group().Checkpoint(context.Background()))
		return a.wlog().FirstLSN() > b.wlog().DurableLSN()+1
	})
	fn.partition(false)
	waitInSync(t, a, b)
	_, err := write(context.Background(), a.Node, "after", 1)
	require.NoError(t, err)
	waitCaughtUp(t, a, b)
	requireSameDigest(t, a, b)
}
