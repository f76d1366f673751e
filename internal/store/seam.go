package store

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The database packages each declare their own Database and Tx interfaces
// (so that no exported signature names this package); these helpers are
// what their implementations share.

// Batcher is the part of every database package's Tx the helpers use.
type Batcher interface {
	Batch(r pebble.Reader) (*pebble.Batch, error)
}

// CheckBegin reports whether the transactions begin starts take r, the
// database's reader: what a database package's Open checks, so that its
// own part of a transaction can never be refused later.
func CheckBegin[T interface {
	Batcher
	Abort()
}](r pebble.Reader, begin func() T) error {
	tx := begin()
	defer tx.Abort()
	_, err := tx.Batch(r)
	return err
}

// Begin starts a transaction with begin and returns it with the batch of
// the database r reads. Database packages call it only on a database
// CheckBegin accepted, so a refusal is a Database implementation that
// broke its contract, a programming error: Begin panics naming pkg.
func Begin[T Batcher](pkg string, begin func() T, r pebble.Reader) (T, *pebble.Batch) {
	tx := begin()
	b, err := tx.Batch(r)
	if err != nil {
		panic(fmt.Sprintf("%s: Database broke its contract: %v", pkg, err))
	}
	return tx, b
}
