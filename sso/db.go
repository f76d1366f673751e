package sso

import (
	"context"

	"github.com/cockroachdb/pebble/v2"
)

// Database is what a Store needs from the group's SSO database: reads of
// its committed state, and writes committed on the group log. It is the
// one seam between this package and the group: biztier.Group adapts its
// store set to it (see the root's sso_wiring.go), so nothing here depends
// on how the group is built. Implementations must be safe for concurrent
// use.
type Database interface {
	// Reader reads the SSO database's committed state: everything a Txn
	// committed is visible once its Commit returns.
	Reader() pebble.Reader
	// NewTxn starts a write on the group log.
	NewTxn() Txn
}

// Txn is one group transaction as the SSO database sees it. A Store adds
// its writes to Batch; whoever started the transaction commits it, so the
// same Txn can carry other databases' writes (a configuration change and
// the secrets it belongs to, in one commit). A Txn is not safe for
// concurrent use.
type Txn interface {
	// Batch is the SSO database's part of the transaction. It belongs to
	// the Txn: do not commit or close it.
	Batch() *pebble.Batch
	// OnCommit registers fn to run once the transaction has committed,
	// before Commit returns.
	OnCommit(fn func())
	// Commit writes the transaction as one frame of the group log and
	// returns its LSN once it is durable (as the group's durability says)
	// and applied. ctx bounds the wait to enter the log.
	Commit(ctx context.Context) (uint64, error)
	// Abort drops the transaction. It is safe after Commit.
	Abort()
}
