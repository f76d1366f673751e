package messagebox

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/store"

	"github.com/cockroachdb/pebble/v2"
)

// Database is the group's MessageBox database as Open takes it: its
// committed state and the group's transactions. biztier.Group provides it;
// nothing else needs to.
type Database interface {
	// Reader reads the database's committed state. It is also the
	// database's key into a transaction: Tx.Batch(Reader()) is the
	// MessageBox's part of it.
	Reader() pebble.Reader
	// Begin starts a transaction of the group.
	Begin() Txn
}

// Tx is a transaction of the group (a *biztier.Tx from Group.Update) that
// MessageBox writes can join: they commit, with everything else in it, as
// one frame of the group's log, or not at all. The methods ending in Tx
// take one; their in-memory effect (a subscription routing, a message
// queued) happens when it commits.
type Tx interface {
	// Batch is the transaction's writes to the database r reads; an error
	// if r is not a database of the transaction's group or the transaction
	// has ended.
	Batch(r pebble.Reader) (*pebble.Batch, error)
	// IndexedBatch is Batch, readable (see pebble.Batch's Indexed); it
	// must be the first use of that database in the transaction.
	IndexedBatch(r pebble.Reader) (*pebble.Batch, error)
	// OnCommit registers fn to run once the transaction has committed.
	OnCommit(fn func())
	// OnAbort registers fn to run if the transaction ends without
	// committing.
	OnAbort(fn func())
}

// Txn is a Tx that its owner commits: what Database.Begin returns.
type Txn interface {
	Tx
	// Commit writes the transaction as one frame of the group's log and
	// returns its LSN once it is durable and applied. ctx bounds the wait
	// to enter the log.
	Commit(ctx context.Context) (uint64, error)
	// Abort drops the transaction; it is safe after Commit.
	Abort()
}

// checkDatabase makes sure db's transactions take its reader, so begin
// never fails later.
func checkDatabase(db Database) error {
	if db == nil {
		return errors.New("messagebox: nil Database")
	}
	if err := store.CheckBegin(db.Reader(), db.Begin); err != nil {
		return fmt.Errorf("messagebox: the Database's transactions refuse its reader: %w", err)
	}
	return nil
}

// begin starts a transaction and returns it with its MessageBox batch.
func (s *Store) begin() (Txn, *pebble.Batch) {
	return store.Begin("messagebox", s.db.Begin, s.r)
}

// batch is the MessageBox's part of a caller's transaction.
func (s *Store) batch(tx Tx) (*pebble.Batch, error) {
	if tx == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidTx)
	}
	b, err := tx.Batch(s.r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	return b, nil
}
