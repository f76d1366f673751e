package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
)

// Checkpoint makes every store durable up to the last applied frame and
// truncates the log below it (respecting the log's pins). Stores that no
// frame has touched lately get their applied LSN raised to that frame, so an
// idle store never holds the log back.
func (s *Set) Checkpoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if !s.replayed.Load() {
		// Replay is deferred (Options.DeferReplay): the log's applied LSN is
		// not yet true of the stores, so nothing may be declared current.
		return nil
	}
	bytesAtStart := s.log.Stats().BytesWritten

	s.applyMu.Lock()
	upTo := s.log.AppliedLSN()
	var err error
	for _, db := range s.stores() {
		if db.applied.Load() >= upTo {
			continue
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], upTo)
		if err = db.pdb.Set(appliedKey, v[:], pebble.NoSync); err != nil {
			err = fmt.Errorf("store: checkpoint: %s database: %w", db.id, err)
			break
		}
		db.applied.Store(upTo)
	}
	s.applyMu.Unlock()
	if err != nil {
		return err
	}
	// With Pebble's WAL off, a flush is what makes a store's state durable.
	for _, db := range s.stores() {
		if err := db.pdb.Flush(); err != nil {
			return fmt.Errorf("store: checkpoint: flush %s database: %w", db.id, err)
		}
	}
	if _, err := s.log.Truncate(upTo + 1); err != nil && !errors.Is(err, wal.ErrClosed) {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	s.ckptBytes.Store(bytesAtStart)
	s.checkpoints.Add(1)
	return nil
}

func (s *Set) runCheckpointer(ctx context.Context) {
	defer s.wg.Done()
	// The tick only checks the size trigger; it does no I/O of its own.
	tick := time.NewTicker(min(s.opts.CheckpointInterval, time.Second))
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		grown := s.log.Stats().BytesWritten - s.ckptBytes.Load()
		if time.Since(last) < s.opts.CheckpointInterval && int64(grown) < s.opts.CheckpointBytes {
			continue
		}
		last = time.Now()
		if err := s.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			// The next tick retries; the error also reaches Close's caller
			// through the final checkpoint if it persists.
			s.opts.Logger.Errorf("biztier: background checkpoint: %v", err)
		}
	}
}

// Stats describes the set.
type Stats struct {
	Log wal.Stats
	// Applied is each store's applied LSN.
	Applied map[ID]uint64
	// Checkpoints run since Open.
	Checkpoints uint64
	// ReplayFrames, ReplayBytes and ReplayTime describe Open's replay.
	ReplayFrames, ReplayBytes uint64
	ReplayTime                time.Duration
}

// Stats returns the set's counters.
func (s *Set) Stats() Stats {
	st := Stats{
		Log:          s.log.Stats(),
		Applied:      make(map[ID]uint64, len(All)),
		Checkpoints:  s.checkpoints.Load(),
		ReplayFrames: s.replayFrames,
		ReplayBytes:  s.replayBytes,
		ReplayTime:   s.replayTime,
	}
	for _, db := range s.stores() {
		st.Applied[db.id] = db.applied.Load()
	}
	return st
}

// Close stops the checkpointer, lets queued commits finish, closes the log,
// checkpoints the stores and closes them. Close is safe to call twice.
func (s *Set) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	var errs []error
	if err := s.log.Close(); err != nil {
		errs = append(errs, err)
	}
	// A final checkpoint makes the next Open replay nothing.
	if err := s.Checkpoint(context.Background()); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, s.closeDBs())
	return errors.Join(errs...)
}

func (s *Set) closeDBs() error {
	var errs []error
	for _, db := range s.stores() {
		// The DB stays in s.dbs, marked closed, so that a late call through
		// a kept handle gets ErrClosed rather than a nil pointer.
		db.closed.Store(true)
		if err := db.pdb.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: close %s database: %w", db.id, err))
		}
	}
	return errors.Join(errs...)
}
