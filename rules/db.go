package rules

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/internal/store"

	"github.com/cockroachdb/pebble/v2"
)

// Database is the group's Rules database as Open takes it: its committed
// state and the group's transactions. biztier.Group provides it; tests may
// use any implementation.
type Database interface {
	// Reader reads the committed state. It is also the database's key into
	// a transaction: Tx.Batch(Reader()) is the Rules part of it.
	Reader() pebble.Reader
	// Begin starts a transaction of the group.
	Begin() Txn
}

// Tx is a transaction of the group (a *biztier.Tx) that rule store writes
// can join.
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
	// Commit writes the transaction as one frame of the group's log and
	// returns its LSN once it is durable. ctx bounds the wait to enter the
	// log.
	Commit(ctx context.Context) (uint64, error)
	// Abort drops it; it is safe after Commit.
	Abort()
}

// checkDatabase makes sure db's transactions take its reader.
func checkDatabase(db Database) error {
	if db == nil {
		return fmt.Errorf("%w: nil database", ErrInvalid)
	}
	if err := store.CheckBegin(db.Reader(), db.Begin); err != nil {
		return fmt.Errorf("%w: the database's transactions refuse its reader: %v", ErrInvalid, err)
	}
	return nil
}

// commit writes ws in one transaction of the group.
func (s *Store) commit(ctx context.Context, ws []write) error {
	tx := s.db.Begin()
	defer tx.Abort()
	b, err := tx.Batch(s.db.Reader())
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.delete {
			err = b.Delete(w.key, nil)
		} else {
			err = b.Set(w.key, w.value, nil)
		}
		if err != nil {
			return err
		}
	}
	_, err = tx.Commit(ctx)
	return err
}

// write is one key change of a commit: a set, or a delete.
type write struct {
	key, value []byte
	delete     bool
}
