package biztier

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// This file holds the hooks package cluster needs to run a Group as one
// node of an active/passive pair. Applications use package cluster, not
// these.

// ErrDiverged is returned by TruncateTail when a database has already
// applied frames past the point to cut after: the group must be rebuilt
// from a copy of the active's databases.
var ErrDiverged = store.ErrAppliedPast

// OpenReplica opens the group like Open but leaves the log's tail
// unapplied: the databases stay where they were at the last shutdown or
// checkpoint until Replay or TruncateTail runs, and the background
// checkpointer does nothing until then. A returning node uses it to cut
// frames the new active never received before they reach a database. For
// package cluster.
func OpenReplica(dir string, opts *Options) (*Group, error) {
	return open(dir, opts, true)
}

// Replay applies the rest of the log to every database, for a group opened
// with OpenReplica. The log must not be applying frames concurrently. For
// package cluster.
func (g *Group) Replay() error {
	if g.closed.Load() {
		return ErrClosed
	}
	if err := g.set.Replay(); err != nil {
		return fmt.Errorf("biztier: replay: %w", err)
	}
	return nil
}

// TruncateTail cuts every log frame after lsn and replays the databases up
// to lsn. The log must be in follower mode (wal.Log.SetFollower). It fails
// with ErrDiverged, cutting nothing, if a database has applied past lsn.
// For package cluster.
func (g *Group) TruncateTail(ctx context.Context, lsn uint64) error {
	ctx = store.Context(ctx)
	if g.closed.Load() {
		return ErrClosed
	}
	if err := g.set.TruncateTail(ctx, lsn); err != nil {
		return fmt.Errorf("biztier: truncate log after lsn %d: %w", lsn, err)
	}
	return nil
}

// MaxAppliedLSN is the highest LSN any database has applied.
func (g *Group) MaxAppliedLSN() uint64 { return g.set.MaxApplied() }

// Digest hashes the contents of every database at one frame boundary and
// returns the highest LSN applied at that boundary. Two groups that applied
// the same frames have the same digest: replication tests compare nodes
// with it.
func (g *Group) Digest() (lsn uint64, sum uint64, err error) {
	if g.closed.Load() {
		return 0, 0, ErrClosed
	}
	lsn, sum, err = g.set.Digest()
	if err != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("biztier: digest: %w", err)
	}
	return lsn, sum, err
}

// syncParentDir makes dir's entry in its parent durable.
// mkdirAllSynced makes dir and any missing directories above it, then
// syncs the parent of each one it made, and dir's parent in any case, so
// that the whole path survives a crash.
func mkdirAllSynced(fs vfs.FS, dir string) error {
	var made []string
	for d := dir; ; {
		if _, err := fs.Stat(d); err == nil {
			break
		}
		made = append(made, d)
		parent := fs.PathDir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("biztier: create %s: %w", dir, err)
	}
	if len(made) == 0 {
		made = []string{dir}
	}
	// Outermost first: a directory's entry is synced after its parent's.
	for i := len(made) - 1; i >= 0; i-- {
		if err := syncParentDir(fs, made[i]); err != nil {
			return err
		}
	}
	return nil
}

func syncParentDir(fs vfs.FS, dir string) error {
	parent := fs.PathDir(dir)
	d, err := fs.OpenDir(parent)
	if err != nil {
		return fmt.Errorf("biztier: open dir %s: %w", parent, err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("biztier: sync dir %s: %w", parent, err)
	}
	return d.Close()
}

// ReplicaCheckpoint writes a Pebble checkpoint of every database into
// dir/<database name>, without pausing commits, and returns the LSN each
// one holds. An active node sends these to a passive that must be rebuilt.
// For package cluster.
func (g *Group) ReplicaCheckpoint(dir string) (map[Database]uint64, error) {
	if g.closed.Load() {
		return nil, ErrClosed
	}
	return g.set.CheckpointTo(dir)
}

// Reseed rebuilds a group directory from another group's database
// checkpoints: Apply brings the checkpoints to one LSN with the active's
// frames, and Finish swaps them in place of the group's databases and
// log, so that a group opened there starts its log at that LSN + 1. The
// group must be closed. For package cluster. Not safe for concurrent use.
type Reseed struct {
	o       Options
	dir     string
	staging string
	r       *store.Restore
}

// BeginReseed opens the checkpoints in staging/<database name> (see
// ReplicaCheckpoint) to rebuild the group in dir, which uses opts.
func BeginReseed(dir string, opts *Options, staging string) (*Reseed, error) {
	o := opts.withDefaults(dir)
	dirs := make(map[store.ID]string, len(store.All))
	for _, id := range store.All {
		dirs[id] = o.FS.PathJoin(staging, id.String())
	}
	r, err := store.OpenRestore(o.FS, dirs, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("biztier: reseed from %s: %w", staging, err)
	}
	return &Reseed{o: o, dir: dir, staging: staging, r: r}, nil
}

// Applied returns the LSN each checkpoint holds.
func (r *Reseed) Applied() map[Database]uint64 { return r.r.Applied() }

// Apply applies frames to the databases whose LSN is below theirs.
func (r *Reseed) Apply(frames []*wal.Frame) error { return r.r.Apply(frames) }

// Finish sets every database at lsn (none may be past it), makes them
// durable, and replaces the group's databases and log with them.
func (r *Reseed) Finish(lsn uint64) error {
	if err := r.r.Finish(lsn); err != nil {
		_ = r.r.Close()
		return err
	}
	if err := r.r.Close(); err != nil {
		return err
	}
	fs := r.o.FS
	if err := fs.RemoveAll(r.o.Dirs.Log); err != nil {
		return fmt.Errorf("biztier: reseed: remove log: %w", err)
	}
	for id, dst := range r.o.Dirs.byID() {
		if err := fs.RemoveAll(dst); err != nil {
			return fmt.Errorf("biztier: reseed: remove %s: %w", dst, err)
		}
		if err := fs.Rename(fs.PathJoin(r.staging, id.String()), dst); err != nil {
			return fmt.Errorf("biztier: reseed: move %s into place: %w", id, err)
		}
		if err := syncParentDir(fs, dst); err != nil {
			return err
		}
	}
	if err := syncParentDir(fs, r.o.Dirs.Log); err != nil {
		return err
	}
	return fs.RemoveAll(r.staging)
}

// Abort closes the checkpoints and removes the staging directory.
func (r *Reseed) Abort() error {
	return errors.Join(r.r.Close(), r.o.FS.RemoveAll(r.staging))
}

// CloseTyped closes the MessageBox and Tracking stores if they are open,
// so that the next Group.MessageBox or Group.Tracking call opens them
// again, rebuilding their in-memory state from the databases. A node that
// stops being active calls it (on a passive, frames are applied under
// them), and so does one whose MessageBox failed. For package cluster.
func (g *Group) CloseTyped() error { return g.closeTyped() }

// LogDir is the directory of the group's log. Package cluster keeps the
// node's disk identity there, so that a log made afresh (an empty disk, a
// rebuilt or restored group) comes with a new one. For package cluster.
func (g *Group) LogDir() string { return g.opts.Dirs.Log }
