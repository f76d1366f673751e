package bam

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
)

// The spool is BizTalk's TDDS for BAM. Buffered, orchestration and
// messaging events are written compactly (one record per event, keyed by a
// sequence number) into the commit that carries them, so they cost their
// writer one Set each and are as durable as that commit. One decoder
// goroutine moves them into the activity tables in sequence order, in
// commits of its own that also delete what they moved and record how far
// they got (the decoder's applied position): a crash at any point leaves
// every spooled event either still spooled or folded, never both.
//
// Sequence numbers are handed out when an event joins a transaction, and
// transactions commit in any order; the decoder only moves events below
// the lowest number still held by an open transaction, so it never skips
// one that commits late. A transaction that never ends holds the decoder
// back: persistence points and publishes are short.

type spool struct {
	mu sync.Mutex
	// next is the next sequence number to hand out.
	next uint64
	// open maps the first number of each open transaction's events to how
	// many it holds.
	open map[uint64]int
	// applied: every number up to it is folded, or was never committed.
	applied uint64
	// changed is closed and replaced whenever applied moves.
	changed chan struct{}
	// wake signals the decoder (capacity one).
	wake chan struct{}
}

func (sp *spool) load(r pebble.Reader) error {
	sp.open = map[uint64]int{}
	sp.changed = make(chan struct{})
	sp.wake = make(chan struct{}, 1)
	v, err := get(r, decoderKey)
	switch {
	case err == nil:
		a, _, err := keys.DecodeUint64(v)
		if err != nil {
			return corruptf("decoder position: %v", err)
		}
		sp.applied = a
	case !errors.Is(err, errNotFound):
		return err
	}
	sp.next = sp.applied + 1
	lo, hi := keys.PrefixBounds(keys.AppendTable(nil, keys.TableBAMSpool))
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	if it.Last() {
		seq, _, err := keys.DecodeUint64(it.Key()[1:])
		if err != nil {
			_ = it.Close()
			return corruptf("spool key: %v", err)
		}
		sp.next = max(sp.next, seq+1)
	}
	return it.Close()
}

func (sp *spool) reserve(n int) uint64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	first := sp.next
	sp.next += uint64(n)
	sp.open[first] = n
	return first
}

func (sp *spool) release(first uint64) {
	sp.mu.Lock()
	delete(sp.open, first)
	sp.mu.Unlock()
	sp.signal()
}

func (sp *spool) signal() {
	select {
	case sp.wake <- struct{}{}:
	default:
	}
}

// settled returns the number below which every event is committed or
// abandoned, and the decoder's position.
func (sp *spool) settled() (below, applied uint64) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	below = sp.next
	for first := range sp.open {
		below = min(below, first)
	}
	return below, sp.applied
}

func (sp *spool) advance(to uint64) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if to > sp.applied {
		sp.applied = to
		close(sp.changed)
		sp.changed = make(chan struct{})
	}
}

// spoolTx writes events into a caller's transaction.
func (s *Store) spoolTx(tx Tx, evs []*event) error {
	if err := s.check(); err != nil {
		return err
	}
	b, err := s.batch(tx)
	if err != nil {
		return err
	}
	first := s.spool.reserve(len(evs))
	tx.OnCommit(func() { s.spool.release(first) })
	tx.OnAbort(func() { s.spool.release(first) })
	var buf []byte
	for i, ev := range evs {
		buf = encodeEvent(buf[:0], ev)
		if err := b.Set(spoolKey(first+uint64(i)), buf, nil); err != nil {
			return err
		}
	}
	return nil
}

// spoolOwn commits events to the spool in a transaction of BAM's own.
func (s *Store) spoolOwn(ctx context.Context, evs []*event) error {
	tx := s.db.Begin()
	defer tx.Abort()
	if err := s.spoolTx(tx, evs); err != nil {
		return err
	}
	_, err := tx.Commit(store.Context(ctx))
	return err
}

func (s *Store) startDecoder() {
	s.decCtx, s.decCancel = context.WithCancel(context.Background())
	s.decDone = make(chan struct{})
	s.spool.signal() // move what a previous process left
	go s.runDecoder()
}

func (s *Store) runDecoder() {
	defer close(s.decDone)
	for {
		select {
		case <-s.decCtx.Done():
			return
		case <-s.spool.wake:
		}
		if d := s.opts.DecoderDelay; d > 0 {
			// Let a few more commits land: one decoder commit (one log
			// sync) for several spooled ones.
			t := time.NewTimer(d)
			select {
			case <-s.decCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		n, err := s.decodeOnce(s.decCtx)
		if err != nil {
			if s.decCtx.Err() != nil {
				return
			}
			err = fmt.Errorf("bam: decoder stopped: %w", err)
			s.decErr.Store(&err)
			// Wake waiters to see the error.
			s.spool.mu.Lock()
			close(s.spool.changed)
			s.spool.changed = make(chan struct{})
			s.spool.mu.Unlock()
			return
		}
		if n > 0 {
			// More may have settled meanwhile (a backlog past the
			// batch, or commits during this pass): look again, after
			// the delay.
			s.spool.signal()
		}
	}
}

// decodeOnce moves up to DecoderBatch settled events into the tables in
// one commit and returns how many sequence numbers it moved past.
func (s *Store) decodeOnce(ctx context.Context) (int, error) {
	below, applied := s.spool.settled()
	if below <= applied+1 {
		return 0, nil
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	f := newFolder(s, s.cat.Load())
	tx, b := s.begin()
	defer tx.Abort()
	upTo := below - 1
	n := 0
	var failed []uint64
	err := scan(s.r, spoolKey(applied+1), spoolKey(below), func(k, v []byte) error {
		seq, _, err := keys.DecodeUint64(k[1:])
		if err != nil {
			return corruptf("spool key: %v", err)
		}
		if n == s.opts.DecoderBatch {
			upTo = seq - 1
			return errStop
		}
		n++
		// Point deletes, not a range delete: the scan starts past them,
		// and a range tombstone per pass would make every read of the
		// memtable re-fragment all of them.
		if err := b.Delete(k, nil); err != nil {
			return err
		}
		ev, err := decodeEvent(v)
		if err != nil {
			return fmt.Errorf("spool entry %d: %w", seq, err)
		}
		if err := f.apply(ev); err != nil {
			if errors.Is(err, errUnappliable) || errors.Is(err, ErrInvalidEvent) {
				// Kept, not dropped: TDDS's failed tracking data.
				failed = append(failed, seq)
				return b.Set(failedKey(seq), v, nil)
			}
			return err
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	if n == 0 {
		// Only numbers of transactions that never committed: nothing to
		// write. The position on disk catches up with the next commit; a
		// restart starts past every spooled event anyway.
		s.spool.advance(upTo)
		return int(upTo - applied), nil
	}
	if err := f.write(b); err != nil {
		return 0, err
	}
	if err := b.Set(decoderKey, keys.AppendUint64(nil, upTo), nil); err != nil {
		return 0, err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	s.spool.advance(upTo)
	return int(upTo - applied), nil
}

var errStop = errors.New("stop")

// WaitCaughtUp waits until the decoder has moved every event spooled before
// the call (by transactions that have committed or commit meanwhile) into
// the activity tables. It returns ctx's error if ctx ends first, and the
// decoder's error if it stopped.
func (s *Store) WaitCaughtUp(ctx context.Context) error {
	ctx = store.Context(ctx)
	s.spool.mu.Lock()
	target := s.spool.next - 1
	s.spool.mu.Unlock()
	s.spool.signal()
	for {
		if err := s.Err(); err != nil {
			return err
		}
		s.spool.mu.Lock()
		done, ch := s.spool.applied >= target, s.spool.changed
		s.spool.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Applied is the decoder's position: every spooled event numbered up to it
// has been moved into the activity tables (or was in a transaction that
// never committed).
func (s *Store) Applied() uint64 {
	_, a := s.spool.settled()
	return a
}

// Backlog is how many spooled events the decoder has not moved yet (at
// most: numbers of a transaction that never committed count until the
// decoder passes them): its lag, in events.
func (s *Store) Backlog() uint64 {
	s.spool.mu.Lock()
	defer s.spool.mu.Unlock()
	if last := s.spool.next - 1; last > s.spool.applied {
		return last - s.spool.applied
	}
	return 0
}

// FailedEvents is the number of spooled events the decoder could not apply
// (their activity was removed before they were moved) and kept aside.
func (s *Store) FailedEvents(ctx context.Context) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	n := 0
	lo, hi := keys.PrefixBounds(keys.AppendTable(nil, keys.TableBAMFailed))
	err := scan(s.r, lo, hi, func(k, v []byte) error { n++; return nil })
	return n, err
}
