package tracking

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/biztier/biztier/internal/event"
	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
)

// This file is the tracking database's Tracking Data Decode Service: it
// takes the records the MessageBox staged in its commits and writes what
// they describe, in order, each batch in one commit that also removes the
// records from the MessageBox. A crash between the two commits loses
// nothing (the records are still staged) and records nothing twice (they
// are removed in the commit that writes them).

// Source is where the MessageBox stages what it tracks: the group wires
// its *messagebox.Store here.
type Source interface {
	// TakeTracking adds to tx the removal of up to limit staged records,
	// oldest first, and returns them. Calls never overlap.
	TakeTracking(tx Tx, limit int) ([][]byte, error)
	// TrackingStaged is signalled when records have been staged.
	TrackingStaged() <-chan struct{}
	// TrackingBacklog is how many records are staged and not yet taken
	// (at most).
	TrackingBacklog() uint64
}

// decodeBatch is how many staged records one decode commit takes: each is
// one MessageBox commit's events, so a batch usually covers whole messages
// from publish to completion, whose instance rows are then written once.
const decodeBatch = 1024

// failedPrefix keys the staged records the decoder could not take in
// (BizTalk's TDDS_FailedTrackingData), kept for inspection, by stamp.
var failedPrefix = append(tablePrefix(keys.TableTrackingMeta), "failed/"...)

// tdds is the decoder's state.
type tdds struct {
	// mu serialises decode passes (the background loop and the catch-up
	// of queries) and guards the counters below.
	mu      sync.Mutex
	src     Source
	decoded uint64 // records taken in
	failed  uint64 // records kept in the failed table
	err     error  // the last pass's error, nil once one succeeds
	// events and records are ingest's buffers, kept between passes: a
	// pass's events grew a fresh slice by doubling, a sixth of what a busy
	// group allocated.
	events  []Event
	records []event.Event
}

// maxKeptEvents bounds the buffers ingest keeps between passes.
const maxKeptEvents = 1 << 16

// startDecoder starts the background decode loop; Close stops it.
func (s *Store) startDecoder() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// What a previous run staged and did not take in goes first.
		_ = s.catchUp(s.ctx)
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-s.tdds.src.TrackingStaged():
			}
			_ = s.catchUp(s.ctx)
		}
	}()
}

// catchUp takes in every record staged by a commit that ended before it
// was called. It is a no-op without a Source.
func (s *Store) catchUp(ctx context.Context) error {
	d := &s.tdds
	if d.src == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.closed.Load() {
			return ErrClosed
		}
		n, err := s.decodePass(ctx)
		if err != nil && d.err == nil && s.opts.Events != nil {
			s.opts.Events.Warn("tracking: decode pass failed", "err", err)
		}
		d.err = err
		if err != nil {
			return fmt.Errorf("tracking: decode: %w", err)
		}
		if n < decodeBatch {
			return nil
		}
	}
}

// decodePass takes one batch in, in one commit, and returns how many
// records it took.
func (s *Store) decodePass(ctx context.Context) (int, error) {
	tx := s.db.Begin()
	defer tx.Abort()
	recs, err := s.tdds.src.TakeTracking(tx, decodeBatch)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	failed, err := s.ingest(tx, recs)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Commit(context.WithoutCancel(ctx)); err != nil {
		return 0, err
	}
	s.tdds.decoded += uint64(len(recs))
	s.tdds.failed += uint64(failed)
	if failed > 0 && s.opts.Events != nil {
		s.opts.Events.Warn("tracking: records kept in the failed table", "records", failed)
	}
	return len(recs), nil
}

// ingest adds to tx the tracking writes of records, all in one Record call
// so the events of one instance across records coalesce. A record that
// does not decode, or whose events Record refuses, is kept in the failed
// table instead; the rest go in.
func (s *Store) ingest(tx Tx, recs [][]byte) (failed int, err error) {
	var (
		all  = s.tdds.events[:0]
		evs  = s.tdds.records[:0]
		bad  [][]byte
		ends = make([]int, 0, len(recs)) // end of each record's events in all
	)
	defer func() {
		// Record copied what it keeps: drop the references, keep the room.
		clear(all)
		clear(evs)
		if cap(all) <= maxKeptEvents && cap(evs) <= maxKeptEvents {
			s.tdds.events, s.tdds.records = all[:0], evs[:0]
		}
	}()
	for _, r := range recs {
		evs, err = event.Decode(evs[:0], r)
		if err != nil {
			bad = append(bad, r)
			ends = append(ends, len(all))
			continue
		}
		all = fromMessageBox(all, evs)
		ends = append(ends, len(all))
	}
	if err := s.Record(tx, all); err != nil {
		if !errors.Is(err, ErrInvalidEvent) {
			return 0, err
		}
		// Find the records Record refuses, one at a time.
		start := 0
		for i, end := range ends {
			if end > start {
				if rerr := s.Record(tx, all[start:end]); errors.Is(rerr, ErrInvalidEvent) {
					bad = append(bad, recs[i])
				} else if rerr != nil {
					return 0, rerr
				}
			}
			start = end
		}
	}
	if len(bad) > 0 {
		b, err := tx.Batch(s.r)
		if err != nil {
			return 0, err
		}
		for _, r := range bad {
			k := keys.AppendUint64(append([]byte(nil), failedPrefix...), s.stamp())
			if err := b.Set(k, r, nil); err != nil {
				return 0, err
			}
		}
	}
	return len(bad), nil
}

// WaitCaughtUp returns once every tracking record staged by a MessageBox
// operation that returned before the call has been taken in. Queries do
// this themselves; tests and monitoring call it to wait for the decoder.
func (s *Store) WaitCaughtUp(ctx context.Context) error {
	return s.catchUp(store.Context(ctx))
}

// DecodeStats describe the decoder.
type DecodeStats struct {
	// Decoded counts the staged records taken in since Open; Failed those
	// of them kept in the failed table because they could not be.
	Decoded, Failed uint64
	// Err is the last decode pass's error, nil once one succeeds.
	Err error
	// Backlog is how many records are staged and not yet taken in (at
	// most): the decoder's lag, in MessageBox commits.
	Backlog uint64
	// At is when the stats were read.
	At time.Time
}

// DecodeStats returns the decoder's counters.
func (s *Store) DecodeStats() DecodeStats {
	d := &s.tdds
	var backlog uint64
	if d.src != nil {
		backlog = d.src.TrackingBacklog()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return DecodeStats{Decoded: d.decoded, Failed: d.failed, Err: d.err, Backlog: backlog, At: s.opts.Clock()}
}
