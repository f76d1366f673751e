package messagebox

import (
	"testing"

	"github.com/biztier/biztier/internal/store"
	"github.com/stretchr/testify/require"
)

func TestStore_TxnVariants(t *testing.T) {
	e := newEnv(t, nil)
	// A host and a subscription created inside another store's
	// transaction, committed with a Management write.
	tx := e.set.NewTxn()
	apply, err := e.s.CreateHostTxn(tx, "h")
	require.NoError(t, err)
	apply()
	sub, applySub, err := e.s.SubscribeTxn(tx, orderSub("h", "x"))
	require.NoError(t, err)
	require.NoError(t, tx.Batch(store.Management).Set([]byte{0x30, 1}, []byte("port"), nil))
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	applySub()
	ids := e.publish(msg("", Promoted(typeProp, String("x"))))
	require.Equal(t, 1, e.s.Queued(sub.ID))

	// Replacing the subscription changes its filter.
	tx = e.set.NewTxn()
	repl := sub
	repl.Predicate = Or(And(Eq(typeProp, String("y"))))
	_, applySub, err = e.s.SubscribeTxn(tx, repl)
	require.NoError(t, err)
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	applySub()
	_, _, err = e.s.Publish(ctx, msg("", Promoted(typeProp, String("x"))))
	require.ErrorIs(t, err, ErrNoSubscribers)
	e.publish(msg("", Promoted(typeProp, String("y"))))
	require.Equal(t, 2, e.s.Queued(sub.ID))

	// An aborted transaction whose apply is never called changes nothing.
	tx = e.set.NewTxn()
	_, err = e.s.UnsubscribeTxn(tx, sub.ID)
	require.NoError(t, err)
	tx.Abort()
	require.Equal(t, 2, e.s.Stats().Hosts["h"].Ready, "the held entries are back in their queue")
	e.publish(msg("", Promoted(typeProp, String("y"))))
	require.Equal(t, 3, e.s.Queued(sub.ID), "and the subscription routes again")
	e.reopen()
	require.Len(t, e.s.Subscriptions(), 1)
	require.Equal(t, repl.Predicate, e.s.Subscriptions()[0].Predicate)

	tx = e.set.NewTxn()
	apply, err = e.s.UnsubscribeTxn(tx, sub.ID)
	require.NoError(t, err)
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	apply()
	require.Empty(t, e.s.Subscriptions())
	require.Equal(t, 3, e.s.Queued(sub.ID), "queued entries stay, suspended")
	require.Zero(t, e.s.Stats().Hosts["h"].Ready)
	require.Len(t, ids, 1)

	tx = e.set.NewTxn()
	defer tx.Abort()
	_, _, err = e.s.SubscribeTxn(tx, orderSub("nope", "x"))
	require.ErrorIs(t, err, ErrUnknownHost)
}

// TestStore_CreateHostTxnAborted: a host created in a transaction that
// does not commit is gone again, in memory as on disk.
func TestStore_CreateHostTxnAborted(t *testing.T) {
	e := newEnv(t, nil)
	tx := e.set.NewTxn()
	_, err := e.s.CreateHostTxn(tx, "h")
	require.NoError(t, err)
	_, _, err = e.s.SubscribeTxn(tx, orderSub("h", "x"))
	require.NoError(t, err, "the host is usable inside its own transaction")
	tx.Abort()
	require.NotContains(t, e.s.Hosts(), "h")
	e.reopen()
	require.NotContains(t, e.s.Hosts(), "h")
}

// TestStore_ResumePausedTxn: the entries a paused subscription suspended
// are queued when the transaction that starts the port commits, and stay
// suspended if it aborts.
func TestStore_ResumePausedTxn(t *testing.T) {
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
		_, apply, err := e.s.SubscribeTxn(tx, active)
		require.NoError(t, err)
		tx.OnCommit(apply)
		resume, err := e.s.ResumePausedTxn(tx, s.ID)
		require.NoError(t, err)
		tx.OnCommit(resume)
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
