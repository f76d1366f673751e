package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/stretchr/testify/require"
)

// TestNode_MessageBoxFollowsRole checks that the MessageBox is open only on
// the active: a passive refuses it, a Store taken on a node that stepped
// down is closed, and the new active's MessageBox holds what the old one
// acknowledged, its leases gone (the entry is delivered again), its
// completions kept.
func TestNode_MessageBoxFollowsRole(t *testing.T) {
	ctx := context.Background()
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)

	_, err := b.MessageBox()
	require.ErrorIs(t, err, ErrNotActive)
	mb, err := a.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "H"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Host: "H",
		Predicate: messagebox.Or(messagebox.And(messagebox.Exists("urn:p")))})
	require.NoError(t, err)
	var ids [2]string
	for i := range ids {
		id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("x"), messagebox.Promoted("urn:p", messagebox.Int64(int64(i)))))
		require.NoError(t, err)
		ids[i] = id.String()
	}
	ds, err := mb.Dequeue(ctx, "H", 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.NoError(t, mb.Complete(ctx, ds[0].Lease)) // ds[1] stays leased

	require.NoError(t, a.Switchover(ctx))
	waitActive(t, 5*time.Second, b)
	_, _, err = mb.Publish(ctx, messagebox.NewMessage([]byte("y"), messagebox.Promoted("urn:p", messagebox.Int64(9))))
	require.True(t, errors.Is(err, messagebox.ErrClosed), "a Store of a demoted node must fail: %v", err)
	_, err = a.MessageBox()
	require.ErrorIs(t, err, ErrNotActive)

	mb2, err := b.MessageBox()
	require.NoError(t, err)
	ds2, err := mb2.Dequeue(ctx, "H", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds2, 1, "only the uncompleted message is delivered again")
	require.Equal(t, ids[1], ds2[0].Message.ID.String())
	require.Equal(t, 2, ds2[0].DeliveryCount)
	require.NoError(t, mb2.Complete(ctx, ds2[0].Lease))
	require.Zero(t, mb2.Stats().Messages)

	// And back: a reopens its MessageBox from the frames it applied as
	// passive.
	waitInSync(t, b)
	require.NoError(t, b.Switchover(ctx))
	waitActive(t, 5*time.Second, a)
	mb3, err := a.MessageBox()
	require.NoError(t, err)
	require.NotSame(t, mb, mb3)
	require.Zero(t, mb3.Stats().Messages)
	_, _, err = mb3.Publish(ctx, messagebox.NewMessage([]byte("z"), messagebox.Promoted("urn:p", messagebox.Int64(3))))
	require.NoError(t, err)
	waitCaughtUp(t, a, b)
	requireSameDigest(t, a, b)
}
