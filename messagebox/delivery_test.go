package messagebox

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func orderedEnv(t *testing.T, mode Ordering, retries int) (*env, []uuid.UUID) {
	e := newEnv(t, nil)
	e.host("send")
	sub := orderSub("send", "x")
	sub.Ordered = mode
	sub.Retry = &RetryPolicy{Count: retries}
	e.subscribe(sub)
	var ids []uuid.UUID
	for range 3 {
		m := typedMsg("x")
		m.ID = uuid.New()
		ids = append(ids, m.ID)
		e.publish(m)
	}
	return e, ids
}

func TestOrdered_OneInFlight(t *testing.T) {
	e, ids := orderedEnv(t, OrderedStop, 0)
	for _, id := range ids {
		ds := e.dequeue("send", 10)
		require.Len(t, ds, 1, "one entry in flight at a time")
		require.Equal(t, id, ds[0].Message.ID)
		require.Empty(t, e.dequeue("send", 10))
		require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	}
}

func TestOrdered_RetryKeepsOrder(t *testing.T) {
	e, ids := orderedEnv(t, OrderedStop, 1)
	ds := e.dequeue("send", 10)
	require.NoError(t, e.s.Abandon(ctx, ds[0].Lease, time.Minute, "later"))
	require.Empty(t, e.dequeue("send", 10), "later entries wait for the retry")
	e.clock.Advance(time.Minute)
	ds = e.dequeue("send", 10)
	require.Len(t, ds, 1)
	require.Equal(t, ids[0], ds[0].Message.ID)
}

func TestOrdered_StopOnFailure(t *testing.T) {
	e, ids := orderedEnv(t, OrderedStop, 0)
	ds := e.dequeue("send", 10)
	require.NoError(t, e.s.Fail(ctx, ds[0].Lease, "down"))
	require.Empty(t, e.dequeue("send", 10), "the port stops behind its suspended message")
	e.reopen()
	require.Empty(t, e.dequeue("send", 10), "and stays stopped after a reopen")
	list, err := e.s.ListSuspended(ctx, SuspendedQuery{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, list[0].Resumable)
	_, err = e.s.Resume(ctx, SuspendedQuery{Entries: []EntryID{list[0].ID}})
	require.NoError(t, err)
	for _, id := range ids {
		ds := e.dequeue("send", 10)
		require.Len(t, ds, 1)
		require.Equal(t, id, ds[0].Message.ID)
		require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	}
}

func TestOrdered_StopThenTerminate(t *testing.T) {
	e, ids := orderedEnv(t, OrderedStop, 0)
	ds := e.dequeue("send", 10)
	require.NoError(t, e.s.Fail(ctx, ds[0].Lease, "down"))
	_, err := e.s.Terminate(ctx, SuspendedQuery{})
	require.NoError(t, err)
	ds = e.dequeue("send", 10)
	require.Len(t, ds, 1)
	require.Equal(t, ids[1], ds[0].Message.ID)
}

func TestOrdered_SkipOnFailure(t *testing.T) {
	e, ids := orderedEnv(t, OrderedSkip, 0)
	ds := e.dequeue("send", 10)
	require.NoError(t, e.s.Fail(ctx, ds[0].Lease, "bad message"))
	list, err := e.s.ListSuspended(ctx, SuspendedQuery{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.False(t, list[0].Resumable, "the skipped message is suspended, not resumable")
	for _, id := range ids[1:] {
		ds := e.dequeue("send", 10)
		require.Len(t, ds, 1)
		require.Equal(t, id, ds[0].Message.ID)
		require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	}
}

func TestScheduled_PublishAt(t *testing.T) {
	e := newEnv(t, nil)
	e.host("send")
	e.subscribe(orderSub("send", "x"))
	_, _, err := e.s.PublishAt(ctx, typedMsg("x"), epoch.Add(time.Hour))
	require.NoError(t, err)
	require.Empty(t, e.dequeue("send", 1))
	require.Equal(t, 1, e.s.Stats().Hosts["send"].Delayed)
	e.reopen()
	e.clock.Advance(59 * time.Minute)
	require.Empty(t, e.dequeue("send", 1), "still scheduled after a reopen")
	done := make(chan []*Delivery)
	go func() {
		d, err := e.s.DequeueWait(ctx, "send", 1, time.Minute)
		require.NoError(t, err)
		done <- d
	}()
	e.clock.BlockUntil(1)
	e.clock.Advance(time.Minute)
	require.Len(t, <-done, 1)
}

func TestScheduled_ServiceWindow(t *testing.T) {
	e := newEnv(t, nil)
	e.host("send")
	sub := orderSub("send", "x")
	sub.Window = &ServiceWindow{Start: 9 * time.Hour, Stop: 17 * time.Hour}
	e.subscribe(sub)
	// epoch is 03:04 UTC: outside the window.
	e.publish(typedMsg("x"))
	require.Empty(t, e.dequeue("send", 1))
	e.clock.Advance(9*time.Hour - (3*time.Hour + 4*time.Minute + 5*time.Second) - time.Second)
	require.Empty(t, e.dequeue("send", 1))
	e.clock.Advance(time.Second)
	require.Len(t, e.dequeue("send", 1), 1, "delivered when the window opens")
	// Inside the window, delivery is immediate.
	e.publish(typedMsg("x"))
	require.Len(t, e.dequeue("send", 1), 1)

	w := ServiceWindow{Start: 22 * time.Hour, Stop: 2 * time.Hour} // wraps midnight
	day := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	require.Equal(t, day.Add(time.Hour), w.next(day.Add(time.Hour)))
	require.Equal(t, day.Add(22*time.Hour), w.next(day.Add(3*time.Hour)))
}

func TestThrottle_PublishWaits(t *testing.T) {
	e := newEnv(t, &Options{MessageCountLimit: 2, SpoolMultiplier: -1})
	e.host("send")
	e.subscribe(orderSub("send", "x"))
	e.publish(typedMsg("x"))
	e.publish(typedMsg("x"))
	require.Equal(t, ThrottleDatabase, e.s.Stats().PublishThrottle)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, _, err := e.s.Publish(short, typedMsg("x"))
	require.ErrorIs(t, err, context.DeadlineExceeded, "throttled publish waits, bounded by its context")

	done := make(chan error, 1)
	go func() {
		_, _, err := e.s.Publish(ctx, typedMsg("x"))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("publish did not wait: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	ds := e.dequeue("send", 1)
	require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	require.NoError(t, <-done, "released when the cause clears")
	ds = e.dequeue("send", 2)
	require.NoError(t, e.s.Complete(ctx, ds[0].Lease, ds[1].Lease))
	require.Equal(t, ThrottleNone, e.s.Stats().PublishThrottle)
}

func TestThrottle_InFlight(t *testing.T) {
	e := newEnv(t, &Options{InFlightLimit: 2})
	e.host("send")
	e.subscribe(orderSub("send", "x"))
	for range 4 {
		e.publish(typedMsg("x"))
	}
	ds := e.dequeue("send", 10)
	require.Len(t, ds, 2)
	require.Equal(t, ThrottleInFlight, e.s.Stats().DeliveryThrottle)
	require.Empty(t, e.dequeue("send", 10))
	require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	require.Equal(t, ThrottleNone, e.s.Stats().DeliveryThrottle)
	require.Len(t, e.dequeue("send", 10), 1)
}

func TestThrottle_InFlightWaitReleases(t *testing.T) {
	e := newEnv(t, &Options{InFlightLimit: 1})
	e.host("a")
	e.host("b")
	e.subscribe(orderSub("a", "x"))
	e.subscribe(orderSub("b", "x"))
	e.publish(typedMsg("x"))
	ds := e.dequeue("a", 1)
	done := make(chan []*Delivery)
	go func() {
		d, err := e.s.DequeueWait(ctx, "b", 1, time.Minute)
		require.NoError(t, err)
		done <- d
	}()
	select {
	case <-done:
		t.Fatal("delivered beyond the in-flight limit")
	case <-time.After(20 * time.Millisecond):
	}
	require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	require.Len(t, <-done, 1, "settling a lease on another host releases the wait")
}

func TestOrdered_BacklogParked(t *testing.T) {
	e := newEnv(t, nil)
	e.host("send")
	sub := orderSub("send", "x")
	sub.Ordered = OrderedStop
	sub = e.subscribe(sub)
	other := e.subscribe(orderSub("send", "y"))
	const n = 50
	for range n {
		e.publish(typedMsg("x"))
	}
	e.publish(typedMsg("y"))
	ds := e.dequeue("send", 100)
	require.Len(t, ds, 2, "the ordered head and the unordered entry")
	require.Equal(t, n+1, e.s.Stats().Hosts["send"].Depth())
	require.Equal(t, n-1, e.s.Stats().Hosts["send"].Ready, "parked entries count as ready")
	var last EntryID
	for _, d := range ds {
		if d.Subscription == sub.ID {
			last = d.Lease.Entry
		} else {
			require.Equal(t, other.ID, d.Subscription)
		}
		require.NoError(t, e.s.Complete(ctx, d.Lease))
	}
	for range n - 1 {
		ds := e.dequeue("send", 100)
		require.Len(t, ds, 1)
		require.Greater(t, ds[0].Lease.Entry, last)
		last = ds[0].Lease.Entry
		require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	}
	require.Zero(t, e.s.Stats().Entries)
}

// TestOrdered_UnsubscribeSuspendsParked: the entries an ordered
// subscription held back are suspended with it, resumable, keeping their
// order for when the port comes back.
func TestOrdered_UnsubscribeSuspendsParked(t *testing.T) {
	e, _ := orderedEnv(t, OrderedStop, 0)
	ds := e.dequeue("send", 10)
	require.Len(t, ds, 1)
	require.NoError(t, e.s.Unsubscribe(ctx, ds[0].Subscription))
	require.Empty(t, e.dequeue("send", 10), "nothing is delivered for a removed subscription")
	list, err := e.s.ListSuspended(ctx, SuspendedQuery{Subscription: ds[0].Subscription})
	require.NoError(t, err)
	require.Len(t, list, 2)
	for _, se := range list {
		require.True(t, se.Resumable)
		require.Equal(t, UnsubscribedReason, se.Error)
	}
}
