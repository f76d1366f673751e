package sso

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/internal/store"

	"github.com/cockroachdb/pebble/v2"
)

// Database is the group's SSO database as Open takes it: reads of its
// committed state and the group's transactions. biztier.Group provides it;
// nothing else needs to. Implementations must be safe for concurrent use.
type Database interface {
	// Reader reads the SSO database's committed state: everything a Txn
	// committed is visible once its Commit returns. It is also the
	// database's key into a transaction: Tx.Batch(Reader()).
	Reader() pebble.Reader
	// Begin starts a transaction of the group.
	Begin() Txn
}

// Tx is a transaction of the group (a *biztier.Tx from Group.Update) that
// the SSO writes of SetConfigInfoTx join, so a configuration change and
// the secrets it belongs to commit as one frame of the group's log.
type Tx interface {
	// Batch is the transaction's writes to the database r reads; an error
	// if r is not a database of the transaction's group or it has ended.
	Batch(r pebble.Reader) (*pebble.Batch, error)
	// OnCommit registers fn to run once the transaction has committed,
	// before Commit returns.
	OnCommit(fn func())
	// OnAbort registers fn to run if it ends without committing.
	OnAbort(fn func())
}

// Txn is a Tx its owner commits: what Database.Begin returns. A Txn is not
// safe for concurrent use.
type Txn interface {
	Tx
	// Commit writes the transaction as one frame of the group log and
	// returns its LSN once it is durable (as the group's durability says)
	// and applied. ctx bounds the wait to enter the log.
	Commit(ctx context.Context) (uint64, error)
	// Abort drops the transaction. It is safe after Commit.
	Abort()
}

// checkDatabase makes sure db's transactions take its reader, so begin
// never fails later.
func checkDatabase(db Database) error {
	if db == nil {
		return fmt.Errorf("%w: nil database", ErrInvalid)
	}
	if err := store.CheckBegin(db.Reader(), db.Begin); err != nil {
		return fmt.Errorf("%w: the database's transactions refuse its reader: %v", ErrInvalid, err)
	}
	return nil
}

// begin starts a transaction and returns it with its SSO batch.
func (s *Store) begin() (Txn, *pebble.Batch) {
	return store.Begin("sso", s.db.Begin, s.db.Reader())
}

// batch is the SSO part of a caller's transaction.
func (s *Store) batch(tx Tx) (*pebble.Batch, error) {
	b, err := tx.Batch(s.db.Reader())
	if err != nil {
		return nil, fmt.Errorf("%w: transaction: %v", ErrInvalid, err)
	}
	return b, nil
}
