package biztier

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// This file holds what package cluster needs to run a Group as one node of
// an active/passive pair. Applications use package cluster, not these:
// they reach cluster through internal/clusterhooks only.

func init() {
	clusterhooks.Of = func(g any) clusterhooks.Group { return clusterView{g.(*Group)} }
	clusterhooks.OpenReplica = func(dir string, opts any) (any, error) {
		o, _ := opts.(*Options)
		return open(dir, o, true)
	}
	clusterhooks.BeginReseed = func(dir string, opts any, staging string) (clusterhooks.Reseed, error) {
		o, _ := opts.(*Options)
		return beginReseed(dir, o, staging)
	}
}

// clusterView is a Group as package cluster sees it.
type clusterView struct{ g *Group }

var _ clusterhooks.Group = clusterView{}

func (v clusterView) Log() *wal.Log  { return v.g.set.Log() }
func (v clusterView) LogDir() string { return v.g.opts.Dirs.Log }
func (v clusterView) Replay() error  { return v.g.replay() }
func (v clusterView) TruncateTail(ctx context.Context, l uint64) error {
	return v.g.truncateTail(ctx, l)
}
func (v clusterView) MaxAppliedLSN() uint64                { return v.g.set.MaxApplied() }
func (v clusterView) Digest() (lsn, sum uint64, err error) { return v.g.digest() }
func (v clusterView) Checkpoint(dir string) (map[string]uint64, error) {
	return v.g.replicaCheckpoint(dir)
}
func (v clusterView) CloseTyped() error { return v.g.closeTyped() }

// ErrDiverged is returned by TruncateTail when a database has already
// applied frames past the point to cut after: the group must be rebuilt
// from a copy of the active's databases.
var ErrDiverged = store.ErrAppliedPast

// replay applies the rest of the log to every database, for a group opened
// with its tail unapplied. The log must not be applying frames
// concurrently.
func (g *Group) replay() error {
	if g.closed.Load() {
		return ErrClosed
	}
	if err := g.set.Replay(); err != nil {
		return fmt.Errorf("biztier: replay: %w", err)
	}
	return nil
}

// truncateTail cuts every log frame after lsn and replays the databases up
// to lsn. The log must be in follower mode (wal.Log.SetFollower). It fails
// with ErrDiverged, cutting nothing, if a database has applied past lsn.
func (g *Group) truncateTail(ctx context.Context, lsn uint64) error {
	ctx = store.Context(ctx)
	if g.closed.Load() {
		return ErrClosed
	}
	if err := g.set.TruncateTail(ctx, lsn); err != nil {
		return fmt.Errorf("biztier: truncate log after lsn %d: %w", lsn, err)
	}
	return nil
}

// digest hashes the contents of every database at one frame boundary and
// returns the highest LSN applied at that boundary. Two groups that applied
// the same frames have the same digest: replication tests compare nodes
// with it.
func (g *Group) digest() (lsn uint64, sum uint64, err error) {
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

// replicaCheckpoint writes a Pebble checkpoint of every database into
// dir/<database name>, without pausing commits, and returns the LSN each
// one holds. An active node sends these to a passive that must be rebuilt.
func (g *Group) replicaCheckpoint(dir string) (map[string]uint64, error) {
	if g.closed.Load() {
		return nil, ErrClosed
	}
	m, err := g.set.CheckpointTo(dir)
	out := make(map[string]uint64, len(m))
	for id, lsn := range m {
		out[id.String()] = lsn
	}
	return out, err
}

// reseed rebuilds a group directory from another group's database
// checkpoints: Apply brings the checkpoints to one LSN with the active's
// frames, and Finish swaps them in place of the group's databases and
// log, so that a group opened there starts its log at that LSN + 1. The
// group must be closed. Not safe for concurrent use.
type reseed struct {
	o       Options
	dir     string
	staging string
	r       *store.Restore
}

// beginReseed opens the checkpoints in staging/<database name> (see
// replicaCheckpoint) to rebuild the group in dir, which uses opts.
func beginReseed(dir string, opts *Options, staging string) (*reseed, error) {
	o := opts.withDefaults(dir)
	dirs := make(map[store.ID]string, len(store.All))
	for _, id := range store.All {
		dirs[id] = o.FS.PathJoin(staging, id.String())
	}
	r, err := store.OpenRestore(o.FS, dirs, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("biztier: reseed from %s: %w", staging, err)
	}
	return &reseed{o: o, dir: dir, staging: staging, r: r}, nil
}

// Apply applies frames to the databases whose LSN is below theirs.
func (r *reseed) Apply(frames []*wal.Frame) error { return r.r.Apply(frames) }

// Finish sets every database at lsn (none may be past it), makes them
// durable, and replaces the group's databases and log with them.
func (r *reseed) Finish(lsn uint64) error {
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
func (r *reseed) Abort() error {
	return errors.Join(r.r.Close(), r.o.FS.RemoveAll(r.staging))
}
