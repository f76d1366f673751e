package messagebox

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/google/uuid"
)

// routingFailureReason is the reason recorded on routing failure reports.
const routingFailureReason = "The published message could not be routed because no subscribers were found."

// Publish routes m and stores it with one queue entry per matching
// subscription, in one commit. m is copied; the caller may reuse it. When
// m.ID is zero a new ID is assigned; the returned IDs are the message's ID
// and its entries'.
//
// A message no subscription matches is stored too, as a non-resumable
// suspended entry with a routing failure report, and Publish returns a
// *RoutingError matching ErrNoSubscribers. An invalid message returns
// ErrInvalidMessage and stores nothing; a message ID already stored
// returns ErrDuplicate.
func (s *Store) Publish(ctx context.Context, m *Message) (uuid.UUID, []EntryID, error) {
	res, err := s.publish(ctx, []*Message{m})
	if len(res) == 0 {
		return uuid.Nil, nil, err
	}
	return res[0].MessageID, res[0].Entries, err
}

// Published is what PublishBatch did with one message.
type Published struct {
	MessageID uuid.UUID
	// Entries are the queue entries created, in subscription ID order;
	// for an unrouted message, the one suspended entry.
	Entries []EntryID
	// Routed is false for a message no subscription matched.
	Routed bool
}

// PublishBatch publishes msgs atomically in one commit: if one message is
// invalid, nothing is stored. Unrouted messages are suspended as in
// Publish, and the error is an errors.Join of their *RoutingErrors (the
// rest of the batch is stored and routed).
func (s *Store) PublishBatch(ctx context.Context, msgs []*Message) ([]Published, error) {
	return s.publish(ctx, msgs)
}

type pendingMsg struct {
	m     *Message
	rec   []byte
	frags []fragment
}

func (s *Store) publish(ctx context.Context, msgs []*Message) ([]Published, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	now := s.now()
	pend := make([]pendingMsg, len(msgs))
	seen := make(map[uuid.UUID]struct{}, len(msgs))
	for i, m := range msgs {
		if err := m.validate(s.opts.MaxPromotedLength); err != nil {
			if len(msgs) > 1 {
				return nil, fmt.Errorf("message %d: %w", i, err)
			}
			return nil, err
		}
		c := m.clone()
		if c.ID == uuid.Nil {
			c.ID = uuid.Must(uuid.NewV7())
		}
		if _, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("%w: message %s twice in one batch", ErrDuplicate, c.ID)
		}
		seen[c.ID] = struct{}{}
		c.PublishedAt = now.UTC()
		rec, frags := encodeMessage(nil, c, s.opts.FragmentSize, s.opts.CompressThreshold, s.opts.Compression)
		pend[i] = pendingMsg{m: c, rec: rec, frags: frags}
	}

	tx := s.set.NewTxn()
	b := tx.Batch(store.MessageBox)
	res := make([]Published, len(msgs))
	var (
		added    []*entry
		events   []Event
		failures []error
	)
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		tx.Abort()
		return nil, err
	}
	for _, p := range pend {
		if s.mu.msgs[p.m.ID] != nil {
			s.mu.Unlock()
			tx.Abort()
			return nil, fmt.Errorf("%w: message %s", ErrDuplicate, p.m.ID)
		}
	}
	nowNanos := now.UnixNano()
	for i, p := range pend {
		m := p.m
		ms := &msgState{id: m.ID, frag: len(p.frags) > 0}
		var flags uint8
		if ms.frag {
			flags = flagFragmented
		}
		subs := s.mu.idx.match(m, s.mu.buf)
		res[i] = Published{MessageID: m.ID, Routed: len(subs) > 0}
		if s.tracking() {
			events = append(events, Event{Kind: EventPublished, At: now, MessageID: m.ID})
		}
		if len(subs) == 0 {
			e := &entry{id: s.nextIDLocked(b), msg: ms, state: stBusy, flags: flags, at: nowNanos,
				reason: routingFailureReason, kind: RoutingFailure, idx: -1}
			near := s.closestLocked(m)
			rec := entryRec{msg: m.ID, flags: flags, at: nowNanos, reason: e.reason, kind: uint8(RoutingFailure), near: near}
			_ = b.Set(suspKey(e.id), encodeSuspended(&rec), nil)
			added = append(added, e)
			res[i].Entries = []EntryID{e.id}
			failures = append(failures, &RoutingError{MessageID: m.ID, Entry: e.id, Closest: near})
			if s.tracking() {
				events = append(events, Event{Kind: EventRoutingFailure, At: now, MessageID: m.ID, Entry: e.id, Reason: e.reason})
			}
		} else {
			res[i].Entries = make([]EntryID, 0, len(subs))
			for _, sub := range subs {
				hq := s.mu.hosts[sub.Host]
				e := &entry{id: s.nextIDLocked(b), msg: ms, sub: sub.ID, host: hq, prio: uint8(sub.Priority),
					state: stBusy, flags: flags, idx: -1}
				rec := entryRec{msg: m.ID, sub: sub.ID, flags: flags}
				s.mu.buf = queueKey(s.mu.buf[:0], hq.name, e.prio, e.id)
				_ = b.Set(s.mu.buf, encodeEntry(nil, &rec), nil)
				added = append(added, e)
				res[i].Entries = append(res[i].Entries, e.id)
				if s.tracking() {
					events = append(events, Event{Kind: EventRouted, At: now, MessageID: m.ID, Entry: e.id, Subscription: sub.ID, Host: hq.name})
				}
			}
		}
		ms.refs = int32(len(res[i].Entries))
		s.mu.msgs[m.ID] = ms
		_ = b.Set(msgKey(m.ID), p.rec, nil)
		for _, f := range p.frags {
			_ = b.Set(fragKey(m.ID, f.part, f.idx), f.data, nil)
		}
	}
	for _, e := range added {
		s.mu.entries[e.id] = e
	}
	s.mu.Unlock()

	if err := s.commit(ctx, tx, events); err != nil {
		s.mu.Lock()
		for _, e := range added {
			delete(s.mu.entries, e.id)
		}
		for _, p := range pend {
			delete(s.mu.msgs, p.m.ID)
		}
		s.mu.Unlock()
		return nil, err
	}

	s.mu.Lock()
	var woken *hostQueue
	for _, e := range added {
		if e.kind == RoutingFailure {
			e.state = stSuspended
			s.mu.suspended[e.id] = e
			continue
		}
		e.state = stReady
		e.host.ready.push(e)
		if e.host != woken {
			e.host.wakeLocked()
			woken = e.host
		}
	}
	s.mu.pubRate.add(nowNanos, uint64(len(msgs)))
	s.mu.Unlock()
	s.published.Add(uint64(len(msgs)))
	return res, errors.Join(failures...)
}

// Near is a subscription that came close to matching a message: the best
// of its groups, how many of that group's conditions held, and the first
// that did not.
type Near struct {
	Subscription uuid.UUID
	Name         string
	Host         string
	// Holding of Of conditions of the subscription's best group held.
	Holding, Of int
	// Failed describes the first condition that did not hold and why.
	Failed string
}

// closestLocked returns the subscriptions nearest to matching m, best
// first: by the share of conditions of their best group that held.
func (s *Store) closestLocked(m *Message) []Near {
	var out []Near
	better := func(a, b Near) bool { // a before b
		if a.Holding*b.Of != b.Holding*a.Of {
			return a.Holding*b.Of > b.Holding*a.Of
		}
		return compareUUID(a.Subscription, b.Subscription) < 0
	}
	for _, st := range s.mu.subs {
		var best Near
		for gi, g := range st.Predicate {
			n := Near{Subscription: st.ID, Name: st.Name, Host: st.Host, Of: len(g)}
			for ci := range g {
				if o := g[ci].eval(m); o == Holds {
					n.Holding++
				} else if n.Failed == "" {
					n.Failed = g[ci].String() + ": " + o.String()
				}
			}
			if gi == 0 || better(n, best) {
				best = n
			}
		}
		if best.Holding == 0 {
			continue
		}
		out = append(out, best)
		for i := len(out) - 1; i > 0 && better(out[i], out[i-1]); i-- {
			out[i], out[i-1] = out[i-1], out[i]
		}
		if len(out) > s.opts.Closest {
			out = out[:s.opts.Closest]
		}
	}
	return out
}
