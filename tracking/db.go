package tracking

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/store"

	"github.com/cockroachdb/pebble/v2"
)

// Database is the group's tracking database as Open takes it.
// biztier.Group provides it; nothing else needs to.
type Database interface {
	// Reader reads the committed state. It is also the database's key into
	// a transaction: Tx.Batch(Reader()) is the tracking part of it.
	Reader() pebble.Reader
	// NewSnapshot is a point-in-time view of the committed state, for
	// queries and purge passes that read a lot.
	NewSnapshot() *pebble.Snapshot
	// Metrics reports the store's size on disk, for Stats.
	Metrics() *pebble.Metrics
	// Begin starts a transaction of the group.
	Begin() Txn
}

// Tx is a transaction of the group (a *biztier.Tx, or the MessageBox's
// own) that Record adds tracking writes to, so they commit with the
// operation they describe or not at all.
type Tx interface {
	// Batch is the transaction's writes to the database r reads.
	Batch(r pebble.Reader) (*pebble.Batch, error)
	// IndexedBatch is Batch, readable; the first use of that database.
	IndexedBatch(r pebble.Reader) (*pebble.Batch, error)
	// OnCommit registers fn to run once the transaction has committed.
	OnCommit(fn func())
	// OnAbort registers fn to run if it ends without committing.
	OnAbort(fn func())
}

// Txn is a Tx its owner commits: what Database.Begin returns.
type Txn interface {
	Tx
	// Commit writes the transaction as one frame of the group's log.
	Commit(ctx context.Context) (uint64, error)
	// Abort drops it; it is safe after Commit.
	Abort()
}

// checkDatabase makes sure db's transactions take its reader, so begin
// never fails later.
func checkDatabase(db Database) error {
	if db == nil {
		return errors.New("tracking: nil Database")
	}
	if err := store.CheckBegin(db.Reader(), db.Begin); err != nil {
		return fmt.Errorf("tracking: the Database's transactions refuse its reader: %w", err)
	}
	return nil
}

// begin starts a transaction and returns it with its tracking batch.
func (s *Store) begin() (Txn, *pebble.Batch) {
	return store.Begin("tracking", s.db.Begin, s.r)
}
