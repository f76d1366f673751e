// Package clusterhooks is the door between package biztier and package
// cluster: what a node of an active/passive pair needs of its Group that
// an application must never call — the raw log, replay and truncation of
// its tail, checkpoints to reseed a passive, closing the typed stores on
// demotion. Package biztier fills the variables in when it is initialised;
// package cluster (and tests of this module) call them. A Group argument or
// result is a *biztier.Group, typed any because this package cannot
// import biztier; the Options argument is a *biztier.Options.
package clusterhooks

import (
	"context"

	"github.com/biztier/biztier/wal"
)

// Group is what a node needs of its *biztier.Group beyond the public API.
type Group interface {
	// Log is the group's log, for replication.
	Log() *wal.Log
	// LogDir is the log's directory; the node keeps its disk identity
	// there, so a log made afresh comes with a new one.
	LogDir() string
	// Replay applies the rest of the log to every database, for a group
	// opened with OpenReplica.
	Replay() error
	// TruncateTail cuts every frame after lsn and replays the databases up
	// to lsn; biztier.ErrDiverged if a database applied past it.
	TruncateTail(ctx context.Context, lsn uint64) error
	// MaxAppliedLSN is the highest LSN any database has applied.
	MaxAppliedLSN() uint64
	// Digest hashes every database at one frame boundary and returns the
	// highest LSN applied there: nodes that applied the same frames agree.
	Digest() (lsn, sum uint64, err error)
	// Checkpoint writes a Pebble checkpoint of every database into
	// dir/<database name>, without pausing commits, and returns the LSN
	// each holds, keyed by database directory name.
	Checkpoint(dir string) (map[string]uint64, error)
	// CloseTyped closes the typed stores, so the next call opens them
	// again from the databases.
	CloseTyped() error
}

// Reseed rebuilds a group directory from another group's checkpoints.
// Not safe for concurrent use.
type Reseed interface {
	// Apply applies frames to the checkpoints whose LSN is below theirs.
	Apply(frames []*wal.Frame) error
	// Finish sets every database at lsn, makes them durable and puts them
	// (and an empty log starting after lsn) in place of the group's.
	Finish(lsn uint64) error
	// Abort drops the checkpoints and the staging directory.
	Abort() error
}

var (
	// Of returns the hooks of g, a *biztier.Group.
	Of func(g any) Group
	// OpenReplica opens the group in dir like biztier.Open but leaves the
	// log's tail unapplied until Replay or TruncateTail, and returns the
	// *biztier.Group.
	OpenReplica func(dir string, opts any) (any, error)
	// BeginReseed opens the checkpoints in staging/<database name> to
	// rebuild the group in dir, which uses opts. The group must be closed.
	BeginReseed func(dir string, opts any, staging string) (Reseed, error)
)
