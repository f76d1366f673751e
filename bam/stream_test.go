package bam

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEventStream_typed(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	es := e.s.DirectStream(1)
	require.NoError(t, es.BeginActivity(bg, "Order", "1"))
	tests := []struct {
		name       string
		kv         []any
		kind       error
		checkpoint string
	}{
		{"milestone", []any{"Received", epoch}, nil, ""},
		{"string", []any{"Region", "North"}, nil, ""},
		{"int", []any{"Items", 3}, nil, ""},
		{"float from int", []any{"Amount", 7}, nil, ""},
		{"nil skipped", []any{"Amount", nil}, nil, ""},
		{"string for milestone", []any{"Received", "today"}, ErrType, "Received"},
		{"too long", []any{"Region", "a region with a name far too long"}, ErrType, "Region"},
		{"float for int", []any{"Items", 1.5}, ErrType, "Items"},
		{"int out of range", []any{"Items", int64(1) << 40}, ErrType, "Items"},
		{"unknown", []any{"Colour", "red"}, ErrUnknownCheckpoint, "Colour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := es.UpdateActivity(bg, "Order", "1", tc.kv...)
			if tc.kind == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.kind)
			var ce *CheckpointError
			require.True(t, errors.As(err, &ce))
			require.Equal(t, tc.checkpoint, ce.Checkpoint)
		})
	}
	in := e.instance("Order", "1")
	require.Equal(t, epoch, in.Values["Received"].Time())
	require.Equal(t, int64(3), in.Values["Items"].Int())
	require.Equal(t, 7.0, in.Values["Amount"].Float())
	require.ErrorIs(t, es.BeginActivity(bg, "Nope", "1"), ErrNotDeployed)
	require.ErrorIs(t, es.BeginActivity(bg, "Order", ""), ErrInvalidEvent)
}

func TestDirectStream_thresholds(t *testing.T) {
	for _, threshold := range []int{0, 1, 3} {
		t.Run(string(rune('0'+threshold)), func(t *testing.T) {
			e := newEnv(t, nil)
			e.deploy(orderDef)
			es := e.s.DirectStream(threshold)
			visible := func() bool {
				_, err := e.s.Instance(bg, "Order", "1")
				return err == nil
			}
			require.NoError(t, es.BeginActivity(bg, "Order", "1"))
			require.Equal(t, threshold == 1, visible())
			require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Region", "N"))
			require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Items", 1))
			require.Equal(t, threshold == 1 || threshold == 3, visible())
			require.NoError(t, es.Flush(bg))
			require.True(t, visible())
			require.Zero(t, es.Pending())
		})
	}
}

func TestBufferedStream_decoder(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	es := e.s.BufferedStream(0)
	for _, id := range []string{"1", "2", "3"} {
		require.NoError(t, es.BeginActivity(bg, "Order", id))
		require.NoError(t, es.UpdateActivity(bg, "Order", id, "Received", epoch, "Region", "N"))
		require.NoError(t, es.EndActivity(bg, "Order", id))
	}
	require.NoError(t, es.Flush(bg))
	require.NoError(t, e.s.WaitCaughtUp(bg))
	for _, id := range []string{"1", "2", "3"} {
		in := e.instance("Order", id)
		require.Equal(t, Completed, in.State)
		require.Equal(t, "N", in.Values["Region"].String())
	}
	require.Equal(t, uint64(9), e.s.Applied())
	require.Zero(t, e.s.Backlog())
	// An open transaction's events count in the backlog until the decoder
	// passes them.
	tx := e.set.NewTxn()
	require.NoError(t, e.s.OrchestrationStream(tx).BeginActivity(bg, "Order", "open"))
	require.Equal(t, uint64(1), e.s.Backlog())
	tx.Abort()
	// Spooled but not decoded survives a restart: stop the decoder by
	// closing, reopen, and the new decoder moves them.
	es = e.s.BufferedStream(1)
	require.NoError(t, es.BeginActivity(bg, "Order", "4"))
	e.reopen()
	require.NoError(t, e.s.WaitCaughtUp(bg))
	require.True(t, e.instance("Order", "4").Begun)
}

func TestOrchestrationStream_commitsWithTx(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	// Aborted persistence point: nothing.
	tx := e.set.NewTxn()
	es := e.s.OrchestrationStream(tx)
	require.NoError(t, es.BeginActivity(bg, "Order", "rolled-back"))
	tx.Abort()
	// Committed: the events, and the transaction's other writes, together.
	tx = e.set.NewTxn()
	es = e.s.MessagingStream(tx)
	require.NoError(t, es.BeginActivity(bg, "Order", "kept"))
	require.NoError(t, es.UpdateActivity(bg, "Order", "kept", "Items", 2))
	_, err := tx.Commit(bg)
	require.NoError(t, err)
	require.NoError(t, e.s.WaitCaughtUp(bg))
	require.Equal(t, int64(2), e.instance("Order", "kept").Values["Items"].Int())
	_, err = e.s.Instance(bg, "Order", "rolled-back")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, e.s.OrchestrationStream(nil).BeginActivity(bg, "Order", "x"), ErrInvalidTx)
}

// TestSpool_lateCommit holds a transaction open while later ones commit:
// the decoder waits for it and applies in sequence order.
func TestSpool_lateCommit(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	early := e.set.NewTxn()
	require.NoError(t, e.s.OrchestrationStream(early).UpdateActivity(bg, "Order", "1", "Region", "first"))
	late := e.set.NewTxn()
	require.NoError(t, e.s.OrchestrationStream(late).UpdateActivity(bg, "Order", "1", "Region", "second"))
	_, err := late.Commit(bg)
	require.NoError(t, err)
	ctx, cancel := contextWithTimeout(50 * time.Millisecond)
	defer cancel()
	require.ErrorIs(t, e.s.WaitCaughtUp(ctx), errDeadline)
	_, err = early.Commit(bg)
	require.NoError(t, err)
	require.NoError(t, e.s.WaitCaughtUp(bg))
	require.Equal(t, "second", e.instance("Order", "1").Values["Region"].String())
}

// TestDecoder_keepsUnappliableAside: an event the decoder cannot fold (its
// token continues another instance; its activity was removed after it was
// spooled) is kept in the failed table, and the decoder goes on.
func TestDecoder_keepsUnappliableAside(t *testing.T) {
	e := newEnv(t, nil)
	d := e.deploy(orderDef)
	es := e.s.BufferedStream(1)
	require.NoError(t, es.BeginActivity(bg, "Order", "1"))
	require.NoError(t, es.EnableContinuation(bg, "Order", "1", "tok"))
	require.NoError(t, es.BeginActivity(bg, "Order", "2"))
	require.NoError(t, es.EnableContinuation(bg, "Order", "2", "tok"))
	require.NoError(t, es.UpdateActivity(bg, "Order", "2", "Items", 1))
	require.NoError(t, e.s.WaitCaughtUp(bg))
	n, err := e.s.FailedEvents(bg)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, int64(1), e.instance("Order", "2").Values["Items"].Int())

	// An event spooled in a transaction that commits after its activity
	// is removed.
	tx := e.set.NewTxn()
	require.NoError(t, e.s.OrchestrationStream(tx).BeginActivity(bg, "Order", "3"))
	require.NoError(t, e.s.Remove(bg, d, "test"))
	_, err = tx.Commit(bg)
	require.NoError(t, err)
	require.NoError(t, e.s.WaitCaughtUp(bg))
	n, err = e.s.FailedEvents(bg)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, e.s.Err())
}
