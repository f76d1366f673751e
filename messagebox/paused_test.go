package messagebox_test

import (
	"context"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/stretchr/testify/require"
)

// TestPausedSubscription: a stopped (enlisted) send port's subscription
// still matches, but its messages are suspended resumable; once it is
// active again they can be resumed into its queue.
func TestPausedSubscription(t *testing.T) {
	ctx := context.Background()
	g, mb := openMessageBox()
	defer g.Close()
	require.NoError(t, mb.CreateHost(ctx, "SendHost"))
	sub := messagebox.Subscription{Name: "SendPort1", Host: "SendHost", Paused: true,
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("urn:t#Type", messagebox.String("order"))))}
	sub, err := mb.Subscribe(ctx, sub)
	require.NoError(t, err)

	_, entries, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<o/>"), messagebox.Promoted("urn:t#Type", messagebox.String("order"))))
	require.NoError(t, err, "a paused subscription still routes: no routing failure")
	require.Len(t, entries, 1)
	ds, err := mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds, "nothing is queued for a stopped port")
	se, err := mb.GetSuspended(ctx, entries[0])
	require.NoError(t, err)
	require.True(t, se.Resumable)
	require.Equal(t, sub.ID, se.Subscription)

	// Start the port: the subscription is active again and its messages resume.
	sub.Paused = false
	require.NoError(t, mb.Unsubscribe(ctx, sub.ID))
	_, err = mb.Subscribe(ctx, sub)
	require.NoError(t, err)
	n, err := mb.Resume(ctx, messagebox.SuspendedQuery{Subscription: sub.ID, ErrorContains: messagebox.PausedReason})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ds, err = mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "<o/>", string(ds[0].Message.BodyPart().Body))
}
