package messagebox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/biztier/biztier/internal/event"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// SuspendedQuery selects suspended entries. Zero fields select everything.
type SuspendedQuery struct {
	// Host selects the entries suspended from this host's queue.
	Host string
	// Kind selects by the subscription's kind, or RoutingFailure.
	Kind Kind
	// Subscription selects the entries routed to this subscription (a
	// send port's, say, to resume its messages once it is started).
	Subscription uuid.UUID
	// ErrorContains selects entries whose error text contains it.
	ErrorContains string
	// Property selects entries whose message has this context property
	// (written or promoted) and, if Value is set, with a value equal to it.
	Property string
	Value    Value
	// After and Before bound the suspension time: After <= t < Before.
	After, Before time.Time
	// ResumableOnly selects only resumable entries.
	ResumableOnly bool
	// Entries, if set, selects exactly these entries and the other fields
	// are ignored. Resume and Terminate then act on all of them or on none:
	// each must be suspended (ErrNotFound) and, for Resume, resumable
	// (ErrNotResumable).
	Entries []EntryID
	// Limit caps ListSuspended's result; 0 means no cap.
	Limit int
}

// SuspendedEntry is an entry in the suspended queue.
type SuspendedEntry struct {
	ID           EntryID
	MessageID    uuid.UUID
	Subscription uuid.UUID // zero for a routing failure
	Host         string    // "" for a routing failure
	Kind         Kind
	Priority     int
	Resumable    bool
	// Error is the reason it was suspended (the last error).
	Error       string
	SuspendedAt time.Time
	Attempts    int
	Deliveries  int
	// Closest lists, for a routing failure, the subscriptions that came
	// closest to matching.
	Closest []Near
}

// candidatesLocked returns the suspended entries matching q's in-memory
// fields, sorted by ID.
func (s *Store) candidatesLocked(q *SuspendedQuery) []*entry {
	var out []*entry
	if len(q.Entries) > 0 {
		for _, id := range q.Entries {
			if e := s.mu.suspended[id]; e != nil {
				out = append(out, e)
			}
		}
		return out
	}
	after, before := int64(0), int64(0)
	if !q.After.IsZero() {
		after = q.After.UnixNano()
	}
	if !q.Before.IsZero() {
		before = q.Before.UnixNano()
	}
	for _, e := range s.mu.suspended {
		switch {
		case q.Host != "" && (e.host == nil || e.host.name != q.Host):
		case q.Kind != 0 && e.kind != q.Kind:
		case q.Subscription != uuid.Nil && e.sub != q.Subscription:
		case q.ErrorContains != "" && !strings.Contains(e.reason, q.ErrorContains):
		case after != 0 && e.at < after:
		case before != 0 && e.at >= before:
		case q.ResumableOnly && e.flags&flagResumable == 0:
		default:
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return cmpID(a.id, b.id) })
	return out
}

func cmpID(a, b EntryID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// query returns the IDs of the suspended entries matching q, sorted.
func (s *Store) query(q *SuspendedQuery) ([]EntryID, error) {
	type cand struct {
		id  EntryID
		msg uuid.UUID
	}
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	es := s.candidatesLocked(q)
	cs := make([]cand, len(es))
	for i, e := range es {
		cs[i] = cand{e.id, e.msg.id}
	}
	s.mu.Unlock()
	slices.SortFunc(cs, func(a, b cand) int { return cmpID(a.id, b.id) })
	out := make([]EntryID, 0, len(cs))
	for _, c := range cs {
		if q.Property != "" && len(q.Entries) == 0 {
			m, err := s.readMessage(c.msg)
			if errors.Is(err, ErrNotFound) {
				continue // terminated meanwhile
			}
			if err != nil {
				return nil, err
			}
			p, ok := m.Property(q.Property)
			if !ok {
				continue
			}
			if !q.Value.IsZero() {
				if r, ok := Compare(p.Value, q.Value); !ok || r != 0 {
					continue
				}
			}
		}
		out = append(out, c.id)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

// CountSuspended counts the suspended entries matching q (Limit ignored).
func (s *Store) CountSuspended(ctx context.Context, q SuspendedQuery) (int, error) {
	ctx = store.Context(ctx)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q.Limit = 0
	ids, err := s.query(&q)
	return len(ids), err
}

// ListSuspended returns the suspended entries matching q, by ID.
func (s *Store) ListSuspended(ctx context.Context, q SuspendedQuery) ([]SuspendedEntry, error) {
	ctx = store.Context(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, err := s.query(&q)
	if err != nil {
		return nil, err
	}
	out := make([]SuspendedEntry, 0, len(ids))
	for _, id := range ids {
		se, err := s.readSuspended(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	return out, nil
}

// GetSuspended returns one suspended entry.
func (s *Store) GetSuspended(ctx context.Context, id EntryID) (SuspendedEntry, error) {
	ctx = store.Context(ctx)
	if err := ctx.Err(); err != nil {
		return SuspendedEntry{}, err
	}
	return s.readSuspended(id)
}

func (s *Store) readSuspended(id EntryID) (SuspendedEntry, error) {
	v, c, err := s.r.Get(suspKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return SuspendedEntry{}, fmt.Errorf("%w: suspended entry %d", ErrNotFound, id)
	}
	if err != nil {
		return SuspendedEntry{}, err
	}
	r, err := decodeSuspended(v)
	_ = c.Close()
	if err != nil {
		return SuspendedEntry{}, err
	}
	return SuspendedEntry{
		ID: id, MessageID: r.msg, Subscription: r.sub, Host: r.host, Kind: Kind(r.kind), Priority: int(r.prio),
		Resumable: r.flags&flagResumable != 0, Error: r.reason, SuspendedAt: time.Unix(0, r.at).UTC(),
		Attempts: int(r.attempts), Deliveries: int(r.deliveries), Closest: r.near,
	}, nil
}

// Resume puts the resumable suspended entries q selects back on their
// queues (the primary host for an entry that had moved to its backup
// host) with their attempts reset, and returns how many. It acts on
// everything q matches, not a page of it (Limit is ignored), in batches
// of Options.BulkBatchSize, each one commit; the count is returned even on
// error. Entries suspended by a subscription's removal resume only once a
// subscription with its ID exists again.
func (s *Store) Resume(ctx context.Context, q SuspendedQuery) (int, error) {
	ctx = store.Context(ctx)
	if len(q.Entries) > 0 {
		return s.bulk(ctx, q.Entries, true, true)
	}
	q.Limit, q.ResumableOnly = 0, true
	ids, err := s.query(&q)
	if err != nil {
		return 0, err
	}
	return s.bulk(ctx, ids, true, false)
}

// Terminate deletes the suspended entries q selects and drops their
// references (a message whose last entry goes is deleted in the same
// commit), and returns how many. It batches as Resume.
func (s *Store) Terminate(ctx context.Context, q SuspendedQuery) (int, error) {
	ctx = store.Context(ctx)
	if len(q.Entries) > 0 {
		return s.bulk(ctx, q.Entries, false, true)
	}
	q.Limit = 0
	ids, err := s.query(&q)
	if err != nil {
		return 0, err
	}
	return s.bulk(ctx, ids, false, false)
}

// bulk resumes or terminates ids in batches. strict checks every ID first
// and fails without changes; otherwise IDs that are no longer suspended
// (or not resumable, for resume) are skipped.
func (s *Store) bulk(ctx context.Context, ids []EntryID, resume, strict bool) (int, error) {
	if strict {
		s.mu.Lock()
		err := s.checkLocked()
		for _, id := range ids {
			if err != nil {
				break
			}
			e := s.mu.suspended[id]
			switch {
			case e == nil:
				err = fmt.Errorf("%w: suspended entry %d", ErrNotFound, id)
			case resume && e.flags&flagResumable == 0:
				err = fmt.Errorf("%w: entry %d", ErrNotResumable, id)
			case resume && s.orphanLocked(e):
				err = fmt.Errorf("%w: entry %d: subscription %s no longer exists (enlist its port again first)", ErrNotResumable, id, e.sub)
			}
		}
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	done := 0
	for len(ids) > 0 {
		n := min(len(ids), s.opts.BulkBatchSize)
		k, err := s.bulkBatch(ctx, ids[:n], resume)
		done += k
		if err != nil {
			return done, err
		}
		ids = ids[n:]
	}
	return done, nil
}

// requeueLocked adds to b the move of suspended entry e (already out of
// s.mu.suspended) back to its queue, on its subscription's primary host,
// with its attempts reset, and returns its tracking event.
func (s *Store) requeueLocked(b *pebble.Batch, e *entry, now int64) []trackEvent {
	if sub := s.mu.routing.subs[e.sub]; e.flags&flagBackup != 0 && sub != nil && s.mu.hosts[sub.Host] != nil {
		e.host = s.mu.hosts[sub.Host]
	}
	e.flags &^= flagBackup | flagResumable
	e.attempts, e.at, e.reason, e.kind = 0, 0, "", 0
	r := e.rec()
	_ = b.Set(s.entryKey(e), encodeEntry(nil, &r), nil)
	if !s.tracking() {
		return nil
	}
	return []trackEvent{{Kind: event.Resumed, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id,
		Subscription: e.sub, Host: e.host.name, Instance: e.instID()}}
}

// orphanLocked reports whether e is an activation entry whose subscription
// no longer exists: resuming it would queue it for nobody.
func (s *Store) orphanLocked(e *entry) bool {
	return e.inst == nil && e.host != nil && s.mu.routing.subs[e.sub] == nil
}

func (s *Store) bulkBatch(ctx context.Context, ids []EntryID, resume bool) (int, error) {
	now := s.now().UnixNano()
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		return 0, err
	}
	tx, b := s.begin()
	type change struct {
		e     *entry
		saved entry
		dead  bool
	}
	var (
		cs     []change
		events []trackEvent
	)
	for _, id := range ids {
		e := s.mu.suspended[id]
		if e == nil || (resume && (e.flags&flagResumable == 0 || s.orphanLocked(e))) {
			continue
		}
		c := change{e: e, saved: *e}
		delete(s.mu.suspended, id)
		_ = b.Delete(suspKey(id), nil)
		var host string
		if e.host != nil {
			host = e.host.name
		}
		if resume {
			events = append(events, s.requeueLocked(b, e, now)...)
		} else {
			c.dead = dropRefLocked(b, e.msg)
			if s.tracking() {
				events = append(events, trackEvent{Kind: event.Terminated, At: time.Unix(0, now), MessageID: e.msg.id, Entry: id, Subscription: e.sub, Host: host})
			}
		}
		e.state = stBusy
		cs = append(cs, c)
	}
	s.mu.Unlock()
	if len(cs) == 0 {
		tx.Abort()
		return 0, nil
	}
	if err := s.commit(ctx, tx, events); err != nil {
		s.mu.Lock()
		for _, c := range cs {
			*c.e = c.saved
			s.mu.suspended[c.e.id] = c.e
			if !resume {
				c.e.msg.refs++
			}
		}
		s.mu.Unlock()
		return 0, err
	}
	s.mu.Lock()
	for _, c := range cs {
		e := c.e
		if resume {
			e.state = stReady
			e.host.ready.push(e)
			e.host.wakeLocked()
			continue
		}
		delete(s.mu.entries, e.id)
		if e.inst != nil {
			delete(e.inst.entries, e.id)
		}
		s.releaseHolderLocked(e)
		if c.dead {
			delete(s.mu.msgs, e.msg.id)
		}
	}
	if !resume {
		s.reliefLocked()
	}
	s.mu.Unlock()
	return len(cs), nil
}
