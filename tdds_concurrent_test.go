package biztier_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestTracking_concurrentOperations: with publishers, consumers and the
// decoder all running at once (commits reaching the log out of the order
// their records were staged), every message is tracked as sent, routed,
// received and completed exactly once.
func TestTracking_concurrentOperations(t *testing.T) {
	g, err := biztier.OpenInMemory()
	require.NoError(t, err)
	defer g.Close()
	ctx := context.Background()
	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "Send"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Name: "S", Host: "Send",
		Predicate: messagebox.Or(messagebox.And(messagebox.Exists("Shop.Order")))})
	require.NoError(t, err)

	const publishers, each = 6, 40
	var (
		mu  sync.Mutex
		ids []uuid.UUID
		wg  sync.WaitGroup
	)
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				id, _, err := mb.Publish(ctx, orderMessage(p*each+i))
				require.NoError(t, err)
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	var completed int
	go func() {
		defer close(done)
		for completed < publishers*each {
			ds, err := mb.DequeueWait(ctx, "Send", 16, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			for _, d := range ds {
				if err := mb.Complete(ctx, d.Lease); err != nil {
					t.Error(err)
					return
				}
				completed++
			}
		}
	}()
	wg.Wait()
	<-done

	tr, err := g.Tracking()
	require.NoError(t, err)
	require.NoError(t, tr.WaitCaughtUp(ctx))
	want := []tracking.EventKind{tracking.MessageSent, tracking.MessageRouted, tracking.MessageReceived}
	for _, id := range ids {
		page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{MessageID: id, OldestFirst: true})
		require.NoError(t, err)
		var kinds []tracking.EventKind
		for _, e := range page.Events {
			kinds = append(kinds, e.Kind)
		}
		require.ElementsMatch(t, want, kinds, "message %s", id)
	}
	done2, err := tr.Instances(ctx, tracking.InstanceQuery{State: tracking.StateCompleted, Limit: tracking.MaxLimit})
	require.NoError(t, err)
	require.Len(t, done2.Instances, publishers*each, "every delivery completed once")
	require.Zero(t, tr.DecodeStats().Failed)
}
