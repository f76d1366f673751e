package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// CheckpointTo writes a Pebble checkpoint of every store into
// dir/<store name> (dir must not hold them yet) without pausing commits, and
// returns the applied LSN each checkpoint holds. Each store is flushed first
// so that its checkpoint is recent: with Pebble's WAL off, a checkpoint holds
// only flushed state, and the applied-LSN key flushed with it says exactly
// which log prefix that is. The stores land at different LSNs; a backup
// makes them agree by replaying the log after each one's LSN (see
// internal/backup).
func (s *Set) CheckpointTo(dir string) (map[ID]uint64, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	fs := s.opts.FS
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: checkpoint to %s: %w", dir, err)
	}
	out := make(map[ID]uint64, len(All))
	for _, db := range s.stores() {
		if err := db.pdb.Flush(); err != nil {
			return nil, fmt.Errorf("store: checkpoint: flush %s database: %w", db.id, err)
		}
		dest := fs.PathJoin(dir, db.id.String())
		if err := db.pdb.Checkpoint(dest, pebble.WithFlushedWAL()); err != nil {
			return nil, fmt.Errorf("store: checkpoint %s database to %s: %w", db.id, dest, err)
		}
		lsn, err := checkpointApplied(fs, dest, s.opts.Logger)
		if err != nil {
			return nil, fmt.Errorf("store: checkpoint of %s database: %w", db.id, err)
		}
		out[db.id] = lsn
	}
	return out, nil
}

// checkpointApplied opens a checkpoint read-only and reads its applied LSN.
func checkpointApplied(fs vfs.FS, dir string, logger pebble.Logger) (uint64, error) {
	pdb, err := pebble.Open(dir, &pebble.Options{FS: fs, ReadOnly: true, Logger: logger})
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dir, err)
	}
	lsn, err := getUint64(pdb, appliedKey)
	return lsn, errors.Join(err, pdb.Close())
}

// Restore is a set of stores being rebuilt from checkpoints outside any
// log: a restore or a disaster-recovery standby applies frames to them
// directly, then pins them all to one LSN so that a group opened on them
// starts its log right after it. It is not safe for concurrent use.
type Restore struct {
	fs  vfs.FS
	dbs [maxID + 1]*DB
}

// OpenRestore opens the stores in dirs (one per ID in All), each a
// checkpoint or a store left by an earlier Restore.
func OpenRestore(fs vfs.FS, dirs map[ID]string, logger pebble.Logger) (_ *Restore, err error) {
	if logger == nil {
		logger = quietLogger{}
	}
	r := &Restore{fs: fs}
	defer func() {
		if err != nil {
			_ = r.Close()
		}
	}()
	cache := pebble.NewCache(16 << 20)
	defer cache.Unref()
	for _, id := range All {
		if dirs[id] == "" {
			return nil, fmt.Errorf("store: restore: no directory for database %s", id)
		}
		db, err := openDB(id, dirs[id], &pebble.Options{
			FS:                 fs,
			Cache:              cache,
			DisableWAL:         true,
			MemTableSize:       16 << 20,
			FormatMajorVersion: pebbleFormat,
			Logger:             logger,
		})
		if err != nil {
			return nil, err
		}
		r.dbs[id] = db
	}
	return r, nil
}

// Applied returns each store's applied LSN.
func (r *Restore) Applied() map[ID]uint64 {
	out := make(map[ID]uint64, len(All))
	for _, id := range All {
		out[id] = r.dbs[id].applied.Load()
	}
	return out
}

// DB returns store id, for reads.
func (r *Restore) DB(id ID) *DB { return r.dbs[id] }

// Apply applies a run of frames, in LSN order, to each store they touch
// whose applied LSN is below the frame's: the same rule as Open's replay.
func (r *Restore) Apply(frames []*wal.Frame) error {
	var parts [maxID + 1][][]byte
	var last [maxID + 1]uint64
	for _, f := range frames {
		if f.Type != wal.TypeCommit {
			continue
		}
		recs, err := wal.DecodeRecords(f.Payload)
		if err != nil {
			return fmt.Errorf("store: restore: lsn %d: %w", f.LSN, err)
		}
		for _, rec := range recs {
			id := ID(rec.Store)
			if !id.Valid() {
				return fmt.Errorf("store: restore: lsn %d: %w: unknown store id %d", f.LSN, wal.ErrCorrupt, rec.Store)
			}
			if f.LSN <= r.dbs[id].applied.Load() {
				continue
			}
			if len(rec.Data) < batchHeaderLen {
				return fmt.Errorf("store: restore: lsn %d: %w: %s record of %d bytes", f.LSN, wal.ErrCorrupt, id, len(rec.Data))
			}
			parts[id] = append(parts[id], rec.Data)
			last[id] = f.LSN
		}
	}
	for _, id := range All {
		if len(parts[id]) == 0 {
			continue
		}
		if err := r.dbs[id].applyReprs(parts[id], last[id]); err != nil {
			return fmt.Errorf("store: restore: %w", err)
		}
	}
	return nil
}

// Finish records lsn as every store's applied LSN (no store may be past it)
// and flushes them all, so that they are durable and a log opened on them
// starts at lsn+1.
func (r *Restore) Finish(lsn uint64) error {
	for _, id := range All {
		db := r.dbs[id]
		if a := db.applied.Load(); a > lsn {
			return fmt.Errorf("store: restore: %s database is at lsn %d, past the target %d", id, a, lsn)
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], lsn)
		if err := db.pdb.Set(appliedKey, v[:], pebble.NoSync); err != nil {
			return fmt.Errorf("store: restore: %s database: %w", id, err)
		}
		db.applied.Store(lsn)
		if err := db.pdb.Flush(); err != nil {
			return fmt.Errorf("store: restore: flush %s database: %w", id, err)
		}
	}
	return nil
}

// Close closes the stores without flushing: what Finish did not make
// durable is lost, as it should be for an unfinished restore.
func (r *Restore) Close() error {
	var errs []error
	for _, id := range All {
		if db := r.dbs[id]; db != nil {
			if err := db.pdb.Close(); err != nil {
				errs = append(errs, fmt.Errorf("store: restore: close %s database: %w", id, err))
			}
			r.dbs[id] = nil
		}
	}
	return errors.Join(errs...)
}
