package tracking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// purgeGrace is how far before the purge's clock a hard-purged instance is
// cut: records newer than that may still be in transactions that have not
// committed, so the range deletes stop short of them.
const purgeGrace = time.Minute

// PurgeResult reports one purge pass.
type PurgeResult struct {
	// Batches is the number of batches committed, each one transaction.
	Batches int
	// Instances is the number of service instances purged.
	Instances int
	// Rows is the number of primary rows (instance rows, lifecycle and
	// message events, bodies) archived and deleted.
	Rows int
	// ArchiveFiles names the archive files written, in order.
	ArchiveFiles []string
}

// Purge runs one purge pass now and returns when nothing more is due. It
// archives (when Options.ArchiveDir is set) and deletes, in batches of
// about Options.PurgeBatchRows rows:
//
//   - finished instances whose end is older than LiveWindow (soft purge),
//   - any instance whose start is older than HardDeleteAge (hard purge),
//   - message events outside any instance older than LiveWindow,
//   - any other message event older than HardDeleteAge (events that
//     arrived for an instance after it was purged).
//
// Each batch's archive file is durable before the batch's transaction
// commits, and that transaction records the purge's progress, so a crash
// at any point loses nothing unarchived: the next pass redoes the batch.
// The background purge calls Purge every PurgeInterval; a pass already
// running makes Purge wait for it.
func (s *Store) Purge(ctx context.Context) (PurgeResult, error) {
	ctx = store.Context(ctx)
	var res PurgeResult
	if s.closed.Load() {
		return res, ErrClosed
	}
	s.purgeMu.Lock()
	defer s.purgeMu.Unlock()
	now := stampOf(s.opts.Clock())
	c := cutoffs{
		soft: sub(now, s.opts.LiveWindow),
		hard: sub(now, s.opts.HardDeleteAge),
		full: sub(now, purgeGrace),
	}
	var resume resumeKeys
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		b, err := s.selectBatch(c, &resume)
		if err != nil {
			return res, fmt.Errorf("tracking: purge: %w", err)
		}
		if len(b.units) == 0 {
			return res, nil
		}
		name, err := s.commitBatch(ctx, b, now)
		if err != nil {
			return res, fmt.Errorf("tracking: purge: %w", err)
		}
		res.Batches++
		res.Instances += b.instances
		res.Rows += b.rows
		if name != "" {
			res.ArchiveFiles = append(res.ArchiveFiles, name)
		}
	}
}

func sub(now uint64, d time.Duration) uint64 {
	if uint64(d) >= now {
		return 0
	}
	return now - uint64(d)
}

type cutoffs struct {
	soft, hard, full uint64
}

// resumeKeys remember, within one pass, where each phase's scan got to, so
// later batches do not walk the tombstones of earlier ones.
type resumeKeys struct {
	finished, byTime, loose, orphans []byte
}

// kv is a primary row read for archiving.
type kv struct{ k, v []byte }

// unit is what a batch removes for one instance or one loose event.
type unit struct {
	rows   []kv        // primary rows, archived
	ranges [][2][]byte // range deletes over primary rows
	points [][]byte    // point deletes (index entries, single rows)
}

type batch struct {
	units     []unit
	rows      int
	instances int
	seen      map[uuid.UUID]bool
}

func (s *Store) selectBatch(c cutoffs, resume *resumeKeys) (*batch, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	rd := reader{r: snap}
	b := &batch{seen: map[uuid.UUID]bool{}}
	limit := s.opts.PurgeBatchRows
	full := func() bool { return b.rows >= limit }

	// Soft purge: finished instances, oldest end first.
	err := rd.walk(tablePrefix(keys.TableInstancesFinished), resume.finished, false, func(k []byte) (bool, error) {
		if full() {
			return false, nil
		}
		end, rest, err := keys.DecodeUint64(k[1:])
		if err != nil {
			return false, corruption("finished key", err)
		}
		if end >= c.soft {
			return false, nil
		}
		id, _, err := keys.DecodeUUID(rest)
		if err != nil {
			return false, corruption("finished key", err)
		}
		resume.finished = bytes.Clone(k)
		r, err := rd.instanceRow(id)
		if err != nil {
			return false, err
		}
		if r == nil || !r.state.Final() || r.end != end {
			// A stale entry (two transactions raced on the instance):
			// drop it, leave the instance to its current entry.
			b.units = append(b.units, unit{points: [][]byte{bytes.Clone(k)}})
			b.rows++
			return true, nil
		}
		return true, rd.addInstance(b, id, c.soft)
	})
	if err != nil || full() {
		return b, err
	}
	// Hard purge: any instance, oldest start first (the end of the
	// descending index).
	err = rd.walk(tablePrefix(keys.TableInstancesByTime), resume.byTime, true, func(k []byte) (bool, error) {
		if full() {
			return false, nil
		}
		start, id, err := decodeLocator(k)
		if err != nil {
			return false, err
		}
		if start >= c.hard {
			return false, nil
		}
		resume.byTime = bytes.Clone(k)
		r, err := rd.instanceRow(id)
		if err != nil {
			return false, err
		}
		if r == nil || r.start != start {
			// The instance was started again (or is gone): drop the
			// entries of its earlier start.
			b.units = append(b.units, unit{points: staleInstanceKeys(k, id, start, r)})
			b.rows++
			return true, nil
		}
		return true, rd.addInstance(b, id, c.full)
	})
	if err != nil || full() {
		return b, err
	}
	// Message events outside any instance, oldest first.
	err = rd.walk(eventPrefix(nil, uuid.Nil), resume.loose, false, func(k []byte) (bool, error) {
		if full() {
			return false, nil
		}
		stamp, _, err := keys.DecodeUint64(k[1+16:])
		if err != nil {
			return false, corruption("event key", err)
		}
		if stamp >= c.soft {
			return false, nil
		}
		resume.loose = bytes.Clone(k)
		return true, rd.addEvent(b, uuid.Nil, stamp)
	})
	if err != nil || full() {
		return b, err
	}
	// Anything older than the hard-delete age that is left: events
	// recorded for an instance after it was purged.
	err = rd.walk(tablePrefix(keys.TableEventsByTime), resume.orphans, true, func(k []byte) (bool, error) {
		if full() {
			return false, nil
		}
		stamp, inst, err := decodeLocator(k)
		if err != nil {
			return false, err
		}
		if stamp >= c.hard {
			return false, nil
		}
		resume.orphans = bytes.Clone(k)
		if inst == uuid.Nil || b.seen[inst] {
			// Taken by the phases above in this batch.
			return true, nil
		}
		return true, rd.addEvent(b, inst, stamp)
	})
	return b, err
}

// staleInstanceKeys returns the index keys an instance may have left from
// an earlier start: the time entry k itself, a state entry for every state
// and, when the instance still has a row, the service entry under its
// current service name.
func staleInstanceKeys(k []byte, id uuid.UUID, start uint64, r *instanceRow) [][]byte {
	out := [][]byte{bytes.Clone(k)}
	for st := StateRunning; st <= maxState; st++ {
		out = append(out, appendLocator(statePrefix(nil, st), start, id))
	}
	if r != nil && r.service != "" {
		out = append(out, appendLocator(servicePrefix(nil, r.service), start, id))
	}
	return out
}

// walk iterates the keys under prefix, forward or (reverse) backward,
// starting after from when it is set, until fn returns false.
func (rd reader) walk(prefix, from []byte, reverse bool, fn func(k []byte) (bool, error)) (err error) {
	lo, hi := keys.PrefixBounds(prefix)
	it, err := rd.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	var ok bool
	switch {
	case from == nil && !reverse:
		ok = it.First()
	case from == nil:
		ok = it.Last()
	case !reverse:
		if ok = it.SeekGE(from); ok && bytes.Equal(it.Key(), from) {
			ok = it.Next()
		}
	default:
		ok = it.SeekLT(from)
	}
	for ok {
		more, err := fn(it.Key())
		if err != nil || !more {
			return err
		}
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	return it.Error()
}

// addInstance adds to b the instance id and every record of it older than
// cut.
func (rd reader) addInstance(b *batch, id uuid.UUID, cut uint64) error {
	if b.seen[id] {
		return nil
	}
	b.seen[id] = true
	var u unit
	ik := instKey(nil, id)
	v, ok, err := rd.get(ik)
	if err != nil {
		return err
	}
	if ok {
		row, err := decodeInstance(v)
		if err != nil {
			return err
		}
		u.rows = append(u.rows, kv{ik, v})
		u.points = append(u.points, instanceIndexKeys(nil, id, &row)...)
	}
	// Lifecycle history: (id, stamp) for stamps below cut. The range
	// starts at the instance row itself, which sorts first.
	histEnd := histKey(nil, id, cut)
	if err := rd.collect(keys.AppendUint64(bytes.Clone(ik), 0), histEnd, &u.rows); err != nil {
		return err
	}
	u.ranges = append(u.ranges, [2][]byte{ik, histEnd})
	// Message events and their bodies.
	evLo, evHi := eventKey(nil, id, 0), eventKey(nil, id, cut)
	n := len(u.rows)
	if err := rd.collect(evLo, evHi, &u.rows); err != nil {
		return err
	}
	u.ranges = append(u.ranges, [2][]byte{evLo, evHi})
	for _, r := range u.rows[n:] {
		if err := rd.addEventRow(&u, id, r, false); err != nil {
			return err
		}
	}
	b.units = append(b.units, u)
	b.rows += len(u.rows)
	b.instances++
	return nil
}

// addEvent adds to b the single message event (inst, stamp).
func (rd reader) addEvent(b *batch, inst uuid.UUID, stamp uint64) error {
	k := eventKey(nil, inst, stamp)
	v, ok, err := rd.get(k)
	if err != nil || !ok {
		return err
	}
	var u unit
	u.rows = append(u.rows, kv{k, v})
	u.points = append(u.points, k)
	if err := rd.addEventRow(&u, inst, u.rows[0], true); err != nil {
		return err
	}
	b.units = append(b.units, u)
	b.rows += len(u.rows)
	return nil
}

// addEventRow adds the index entries and the body of the message event
// row ev to u. The body is added to u.rows after ev, which callers
// iterating u.rows must allow for.
func (rd reader) addEventRow(u *unit, inst uuid.UUID, ev kv, single bool) error {
	stamp, _, err := keys.DecodeUint64(ev.k[1+16:])
	if err != nil {
		return corruption("event key", err)
	}
	r, err := decodeEvent(ev.v)
	if err != nil {
		return err
	}
	if _, err := forEventIndexKeys(nil, inst, stamp, &r, func(k []byte) error {
		u.points = append(u.points, bytes.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	if r.hasBody {
		bk := bodyKey(nil, r.messageID, inst, stamp)
		v, ok, err := rd.get(bk)
		if err != nil {
			return err
		}
		if ok {
			u.rows = append(u.rows, kv{bk, v})
			if single {
				u.points = append(u.points, bk)
			} else {
				// One range per body: it also takes any body a retried
				// write left beside it.
				u.ranges = append(u.ranges, [2][]byte{
					bodyKey(nil, r.messageID, inst, 0), bodyKey(nil, r.messageID, inst, stamp+1),
				})
			}
		}
	}
	return nil
}

// collect appends copies of the rows in [lo, hi) to dst. Event rows come
// out with their bodies appended after the whole run by the caller.
func (rd reader) collect(lo, hi []byte, dst *[]kv) (err error) {
	it, err := rd.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		*dst = append(*dst, kv{bytes.Clone(it.Key()), bytes.Clone(v)})
	}
	return it.Error()
}

// commitBatch archives b and then deletes it in one transaction that also
// advances the purge progress. It returns the archive file's name.
func (s *Store) commitBatch(ctx context.Context, b *batch, now uint64) (string, error) {
	p, err := s.progress()
	if err != nil {
		return "", err
	}
	n := p.nextBatch
	var name string
	if s.opts.ArchiveDir != "" {
		if name, err = writeArchive(s.opts.FS, s.opts.ArchiveDir, n, b); err != nil {
			return "", err
		}
	}
	if h := s.hooks.afterArchive; h != nil {
		h(n)
	}
	tx, w := s.begin()
	defer tx.Abort()
	for _, u := range b.units {
		for _, r := range u.ranges {
			if err := w.DeleteRange(r[0], r[1], nil); err != nil {
				return "", err
			}
		}
		for _, k := range u.points {
			if err := w.Delete(k, nil); err != nil {
				return "", err
			}
		}
	}
	p.nextBatch++
	p.batches++
	p.instances += uint64(b.instances)
	p.rows += uint64(b.rows)
	p.lastRun = now
	var e codec.Encoder
	p.encode(&e)
	if err := w.Set(progressKey, e.Encoded(), nil); err != nil {
		return "", err
	}
	s.formatWritten.Store(false)
	if err := s.writeFormat(w); err != nil {
		return "", err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return "", err
	}
	if h := s.hooks.afterCommit; h != nil {
		h(n)
	}
	return name, nil
}

// progress reads the purge progress; a missing key is a fresh start.
func (s *Store) progress() (progress, error) {
	v, closer, err := s.r.Get(progressKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return progress{}, nil
	}
	if err != nil {
		return progress{}, err
	}
	defer closer.Close()
	return decodeProgress(v)
}

// runPurge is the background purge loop.
func (s *Store) runPurge(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// An error (a full disk, a closed group) is kept for Stats,
			// not logged; the pass is retried at the next tick and Stats
			// also shows the purge lag growing.
			_, err := s.Purge(ctx)
			if ctx.Err() != nil {
				return
			}
			s.errMu.Lock()
			if err != nil && s.purgeErr == nil && s.opts.Events != nil {
				s.opts.Events.Warn("tracking: purge pass failed", "err", err)
			}
			s.purgeErr = err
			s.errMu.Unlock()
		}
	}
}
