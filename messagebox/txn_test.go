package messagebox

import (
	"testing"

	"github.com/biztier/biztier/internal/store"
	"github.com/stretchr/testify/require"
)

func TestStore_TxVariants(t *testing.T) {
	e := newEnv(t, nil)
	// A host and a subscription created inside another store's
	// transaction, committed with a Management write.
	tx := e.set.NewTxn()
	require.NoError(t, e.s.CreateHostTx(tx, "h"))
	sub, err := e.s.SubscribeTx(tx, orderSub("h", "x"))
	require.NoError(t, err)
	require.NoError(t, tx.BatchOf(store.Management).Set([]byte{0x30, 1}, []byte("port"), nil))
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	ids := e.publish(msg("", Promoted(typeProp, String("x"))))
	require.Equal(t, 1, e.s.Queued(sub.ID))

	// Replacing the subscription changes its filter.
	tx = e.set.NewTxn()
	repl := sub
	repl.Predicate = Or(And(Eq(typeProp, String("y"))))
	_, err = e.s.SubscribeTx(tx, repl)
	require.NoError(t, err)
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	_, _, err = e.s.Publish(ctx, msg("", Promoted(typeProp, String("x"))))
	require.ErrorIs(t, err, ErrNoSubscribers)
	e.publish(msg("", Promoted(typeProp, String("y"))))
	require.Equal(t, 2, e.s.Queued(sub.ID))

	// An aborted transaction changes nothing.
	tx = e.set.NewTxn()
	require.NoError(t, e.s.UnsubscribeTx(tx, sub.ID))
	tx.Abort()
	require.Equal(t, 2, e.s.Stats().Hosts["h"].Ready, "the held entries are back in their queue")
	e.publish(msg("", Promoted(typeProp, String("y"))))
	require.Equal(t, 3, e.s.Queued(sub.ID), "and the subscription routes again")
	e.reopen()
	require.Len(t, e.s.Subscriptions(), 1)
	require.Equal(t, repl.Predicate, e.s.Subscriptions()[0].Predicate)

	tx = e.set.NewTxn()
	require.NoError(t, e.s.UnsubscribeTx(tx, sub.ID))
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	require.Empty(t, e.s.Subscriptions())
	require.Equal(t, 3, e.s.Queued(sub.ID), "queued entries stay, suspended")
	require.Zero(t, e.s.Stats().Hosts["h"].Ready)
	require.Len(t, ids, 1)

	tx = e.set.NewTxn()
	defer tx.Abort()
	_, err = e.s.SubscribeTx(tx, orderSub("nope", "x"))
	require.ErrorIs(t, err, ErrUnknownHost)

	// A transaction that has ended, or is nil, is refused.
	_, err = e.s.SubscribeTx(tx, orderSub("h", "x"))
	require.NoError(t, err)
	tx.Abort()
	_, err = e.s.SubscribeTx(tx, orderSub("h", "x"))
	require.ErrorIs(t, err, ErrInvalidTx)
	require.ErrorIs(t, e.s.CreateHostTx(nil, "h2"), ErrInvalidTx)

	// So is a transaction of another group.
	other := newEnv(t, nil)
	foreign := other.set.NewTxn()
	defer foreign.Abort()
	require.ErrorIs(t, e.s.UnsubscribeTx(foreign, sub.ID), ErrInvalidTx)
}

// TestStore_CreateHostTxAborted: a host created in a transaction that
// does not commit is gone again, in memory as on disk.
func TestStore_CreateHostTxAborted(t *testing.T) {
	e := newEnv(t, nil)
	tx := e.set.NewTxn()
	require.NoError(t, e.s.CreateHostTx(tx, "h"))
	_, err := e.s.SubscribeTx(tx, orderSub("h", "x"))
	require.NoError(t, err, "the host is usable inside its own transaction")
	tx.Abort()
	require.NotContains(t, e.s.Hosts(), "h")
	e.reopen()
	require.NotContains(t, e.s.Hosts(), "h")
}

// TestStore_ResumePausedTx: the entries a paused subscription suspended
// are queued when the transaction that starts the port commits, and stay
// suspended if it aborts.
func TestStore_ResumePausedTx(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	sub := orderSub("h", "x")
	sub.Paused = true
	s := e.subscribe(sub)
	e.publish(msg("", Promoted(typeProp, String("x"))))
	n, err := e.s.CountSuspended(ctx, SuspendedQuery{Subscription: s.ID})
	require.NoError(t, err)
	require.Equal(t, 1, n)

	start := func() *store.Txn {
		tx := e.set.NewTxn()
		active := s
		active.Paused = false
		_, err := e.s.SubscribeTx(tx, active)
		require.NoError(t, err)
		require.NoError(t, e.s.ResumePausedTx(tx, s.ID))
		return tx
	}
	start().Abort()
	n, err = e.s.CountSuspended(ctx, SuspendedQuery{Subscription: s.ID})
	require.NoError(t, err)
	require.Equal(t, 1, n, "an aborted start leaves the message suspended")
	require.Empty(t, e.dequeue("h", 5))

	_, err = start().Commit(ctx)
	require.NoError(t, err)
	require.Len(t, e.dequeue("h", 5), 1, "the committed start queues it")
	e.reopen()
	n, err = e.s.CountSuspended(ctx, SuspendedQuery{Subscription: s.ID})
	require.NoError(t, err)
	require.Zero(t, n)
}
