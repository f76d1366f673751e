package mgmt

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/internal/store"

	"github.com/cockroachdb/pebble/v2"
)

// Database is the group's Management database as Open takes it.
// biztier.Group provides it; nothing else needs to.
type Database interface {
	// Reader reads the committed state. It is also the database's key into
	// a transaction: GroupTx.Batch(Reader()) is the Management part of it.
	Reader() pebble.Reader
	// Begin starts a transaction of the group.
	Begin() GroupTxn
}

// GroupTx is a transaction of the group (a *biztier.Tx) as the
// implementations of Subscriptions, HostGate and Secrets see it: they add
// their own databases' writes to it, so a configuration change and
// everything it causes commit as one frame of the group's log. (Tx is the
// configuration change itself.)
type GroupTx interface {
	// Batch is the transaction's writes to the database r reads.
	Batch(r pebble.Reader) (*pebble.Batch, error)
	// IndexedBatch is Batch, readable; the first use of that database.
	IndexedBatch(r pebble.Reader) (*pebble.Batch, error)
	// OnCommit registers fn to run once the transaction has committed.
	OnCommit(fn func())
	// OnAbort registers fn to run if it ends without committing.
	OnAbort(fn func())
}

// GroupTxn is a GroupTx its owner commits: what Database.Begin returns.
type GroupTxn interface {
	GroupTx
	// Commit writes the transaction as one frame of the group's log.
	Commit(ctx context.Context) (uint64, error)
	// Abort drops it; it is safe after Commit.
	Abort()
}

// checkDatabase makes sure db's transactions take its reader, so a
// configuration change never fails on it later.
func checkDatabase(db Database) error {
	if db == nil {
		return fmt.Errorf("%w: nil Database", ErrInvalid)
	}
	if err := store.CheckBegin(db.Reader(), db.Begin); err != nil {
		return fmt.Errorf("%w: the Database's transactions refuse its reader: %v", ErrInvalid, err)
	}
	return nil
}
