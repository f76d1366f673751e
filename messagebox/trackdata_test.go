package messagebox

import (
	"testing"

	"github.com/biztier/biztier/internal/event"
	"github.com/stretchr/testify/require"
)

// take takes every staged record in a transaction of its own and returns
// the kinds of their events, one slice per record.
func (e *env) take(limit int) [][]event.Kind {
	e.t.Helper()
	tx := e.set.NewTxn()
	recs, err := e.s.TakeTracking(tx, limit)
	require.NoError(e.t, err)
	_, err = tx.Commit(ctx)
	require.NoError(e.t, err)
	var out [][]event.Kind
	for _, r := range recs {
		evs, err := event.Decode(nil, r)
		require.NoError(e.t, err)
		var ks []event.Kind
		for _, ev := range evs {
			ks = append(ks, ev.Kind)
		}
		out = append(out, ks)
	}
	return out
}

func trackedEnv(t *testing.T) *env {
	return newEnv(t, &Options{Tracking: &TrackingOptions{Detail: func() (bool, bool) { return true, false }}})
}

// TestTracking_StagedWithTheOperation: every operation stages one record
// in its own commit; taking them removes them in the taker's commit, and a
// taker that does not commit leaves them.
func TestTracking_StagedWithTheOperation(t *testing.T) {
	e := trackedEnv(t)
	e.host("h")
	sub := orderSub("h", "x")
	sub.Port = "SendOrders"
	e.subscribe(sub)
	e.publish(msg("b", Promoted(typeProp, String("x"))))
	d := e.dequeue("h", 1)[0]
	require.NoError(t, e.s.Complete(ctx, d.Lease))
	st := e.s.Stats()
	require.Equal(t, [3]uint64{1, 1, 1}, [3]uint64{st.Published, st.Delivered, st.Completed})
	require.Equal(t, uint64(3), e.s.TrackingBacklog())

	tx := e.set.NewTxn()
	recs, err := e.s.TakeTracking(tx, 10)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	tx.Abort()

	got := e.take(2)
	require.Equal(t, [][]event.Kind{{event.Published, event.Routed}, {event.Delivered}}, got, "oldest first, at most the limit")
	require.Equal(t, uint64(1), e.s.TrackingBacklog())
	evs, err := event.Decode(nil, recs[1])
	require.NoError(t, err)
	require.Equal(t, "SendOrders", evs[0].Port, "records name the subscription's port")
	e.reopen()
	require.Equal(t, [][]event.Kind{{event.Completed}}, e.take(10), "the rest survives a reopen")
	require.Empty(t, e.take(10))
	e.publish(msg("b", Promoted(typeProp, String("x"))))
	require.Equal(t, [][]event.Kind{{event.Published, event.Routed}}, e.take(10), "after a reopen with nothing staged")
}

// TestTracking_InFlightHoldsBack: a record staged by an operation whose
// commit has not ended holds back every later one, so that the taker never
// skips a record that commits late; one that aborts releases them.
func TestTracking_InFlightHoldsBack(t *testing.T) {
	e := trackedEnv(t)
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	open := e.set.NewTxn()
	_, err := e.s.PublishTx(ctx, open, msg("early", Promoted(typeProp, String("x"))))
	require.NoError(t, err)
	e.publish(msg("late", Promoted(typeProp, String("x"))))
	require.Empty(t, e.take(10), "the open transaction's record comes first")
	_, err = open.Commit(ctx)
	require.NoError(t, err)
	require.Len(t, e.take(10), 2)

	aborted := e.set.NewTxn()
	_, err = e.s.PublishTx(ctx, aborted, msg("never", Promoted(typeProp, String("x"))))
	require.NoError(t, err)
	e.publish(msg("after", Promoted(typeProp, String("x"))))
	aborted.Abort()
	require.Len(t, e.take(10), 1, "an aborted record is no hole")
}

// TestTracking_Off: without TrackingOptions nothing is staged.
func TestTracking_Off(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	e.publish(msg("b", Promoted(typeProp, String("x"))))
	require.Empty(t, e.take(10))
}
