package messagebox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/biztier/biztier/internal/event"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
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
	ctx = store.Context(ctx)
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
	ctx = store.Context(ctx)
	return s.publish(ctx, msgs)
}

// PublishAt is Publish with a not-before time: the message is stored and
// routed now, but its entries stay in the scheduled queue (counted as
// Delayed) until notBefore on the store's Clock.
func (s *Store) PublishAt(ctx context.Context, m *Message, notBefore time.Time) (uuid.UUID, []EntryID, error) {
	ctx = store.Context(ctx)
	ctx, span := startSpan(ctx, "messagebox.publish", publishAttrs(1))
	pend, err := s.preparePublish(ctx, []*Message{m}, s.now())
	if err != nil {
		endSpan(span, err)
		return uuid.Nil, nil, err
	}
	pend[0].at = notBefore.UnixNano()
	res, err := s.publishPrepared(ctx, pend)
	endSpan(span, err)
	if len(res) == 0 {
		return uuid.Nil, nil, err
	}
	return res[0].MessageID, res[0].Entries, err
}

type pendingMsg struct {
	m   *Message
	rec []byte
	// buf, when set, is the pooled buffer rec was encoded into, returned
	// by release once the publish is over.
	buf   *[]byte
	frags []fragment
	at    int64 // not before (UnixNano), 0 for now
	// failed is the error message published in m's place if m finds no
	// subscriber (failed-message routing); nil when it does not apply.
	failed *pendingMsg
}

// preparePublish validates and encodes msgs.
func (s *Store) preparePublish(ctx context.Context, msgs []*Message, now time.Time) ([]pendingMsg, error) {
	pend := make([]pendingMsg, len(msgs))
	seen := make(map[uuid.UUID]struct{}, len(msgs))
	for i, m := range msgs {
		if err := m.validate(s.opts.MaxPromotedLength); err != nil {
			if len(msgs) > 1 {
				return nil, fmt.Errorf("message %d: %w", i, err)
			}
			return nil, err
		}
		c := m.frame()
		if c.ID == uuid.Nil {
			c.ID = uuid.Must(uuid.NewV7())
		}
		if _, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("%w: message %s twice in one batch", ErrDuplicate, c.ID)
		}
		seen[c.ID] = struct{}{}
		c.PublishedAt = now.UTC()
		carryTrace(ctx, c)
		buf := recordPool.Get().(*[]byte)
		rec, frags := encodeMessage((*buf)[:0], c, s.opts.FragmentSize, s.opts.CompressThreshold, s.opts.Compression)
		pend[i] = pendingMsg{m: c, rec: rec, buf: buf, frags: frags}
		if s.opts.RouteFailed != nil && s.opts.RouteFailed(c) {
			em := ErrorMessage(c, routingFailureCode, routingFailureReason)
			em.ID, em.PublishedAt = uuid.Must(uuid.NewV7()), c.PublishedAt
			erec, efrags := encodeMessage(nil, em, s.opts.FragmentSize, s.opts.CompressThreshold, s.opts.Compression)
			pend[i].failed = &pendingMsg{m: em, rec: erec, frags: efrags}
		}
	}
	return pend, nil
}

// recordPool keeps the buffers messages are encoded into: a record lives
// only until its batch has copied it, and a fresh buffer per message was
// a large share of a publish's allocations.
var recordPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledRecord is the largest buffer recordPool keeps; larger messages
// are rare and would pin their memory.
const maxPooledRecord = 64 << 10

// release returns pend's record buffers to recordPool. Nothing may read
// their records afterwards.
func release(pend []pendingMsg) {
	for i := range pend {
		p := &pend[i]
		if p.buf != nil && cap(p.rec) <= maxPooledRecord {
			*p.buf = p.rec[:0]
			recordPool.Put(p.buf)
		}
		p.buf, p.rec = nil, nil
	}
}

// routingFailureCode is BizTalk's failure code of a routing failure.
const routingFailureCode = "0xc0c01680"

// ErrorMessage returns the error message failed-message routing publishes
// for m: a copy of its parts, its context with every promoted property
// demoted to written, and ErrorReport.ErrorType "FailedMessage",
// FailureCode, MessageType and, for a received message, ReceivePortName
// and InboundTransportLocation promoted (Description written), as BizTalk
// builds it. Its ID is zero.
func ErrorMessage(m *Message, code, description string) *Message {
	c := m.clone()
	c.ID = uuid.Nil
	var msgType, port, location Value
	for i := range c.Context {
		p := &c.Context[i]
		switch p.Name {
		case CanonicalName("BTS.MessageType"):
			msgType = p.Value
		case CanonicalName("BTS.ReceivePortName"):
			port = p.Value
		case CanonicalName("BTS.InboundTransportLocation"):
			location = p.Value
		}
		p.Promoted = false
	}
	set := func(name string, v Value, promoted bool) {
		name = CanonicalName(name)
		for i := range c.Context {
			if c.Context[i].Name == name {
				c.Context[i] = Property{Name: name, Value: v, Promoted: promoted}
				return
			}
		}
		c.Context = append(c.Context, Property{Name: name, Value: v, Promoted: promoted})
	}
	set("ErrorReport.ErrorType", String("FailedMessage"), true)
	set("ErrorReport.FailureCode", String(code), true)
	set("ErrorReport.Description", String(description), false)
	for _, p := range []struct {
		name string
		v    Value
	}{{"ErrorReport.MessageType", msgType}, {"ErrorReport.ReceivePortName", port}, {"ErrorReport.InboundTransportLocation", location}} {
		if !p.v.IsZero() {
			set(p.name, p.v, true)
		}
	}
	return c
}

func (s *Store) publish(ctx context.Context, msgs []*Message) (_ []Published, err error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	ctx, span := startSpan(ctx, "messagebox.publish", publishAttrs(len(msgs)))
	defer func() { endSpan(span, err) }()
	pend, err := s.preparePublish(ctx, msgs, s.now())
	if err != nil {
		return nil, err
	}
	return s.publishPrepared(ctx, pend)
}

func (s *Store) publishPrepared(ctx context.Context, pend []pendingMsg) ([]Published, error) {
	defer release(pend)
	tx, pl, events, now, err := s.planPublish(ctx, pend)
	if err != nil {
		return nil, err
	}
	if err := s.commit(ctx, tx, events); err != nil {
		s.mu.Lock()
		s.unpublishLocked(pl, pend)
		s.mu.Unlock()
		return nil, err
	}
	s.finishPublish(pl, len(pend), now)
	return pl.res, errors.Join(pl.failures...)
}

// PublishTx publishes msgs in tx, a transaction of the group that the
// caller commits (biztier.Group.Update): the messages and everything else
// in tx, such as the application's own state change, commit together or
// not at all (the transactional outbox). They are stored and routed now
// and become deliverable when tx commits; if it does not, nothing of them
// remains. ctx bounds the waits of throttling and of routing to an
// instance that is ending. Errors as PublishBatch; ErrInvalidTx for a tx
// that has ended or belongs to another group.
func (s *Store) PublishTx(ctx context.Context, tx Tx, msgs ...*Message) (_ []Published, err error) {
	ctx = store.Context(ctx)
	into, err := s.batch(tx)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	ctx, span := startSpan(ctx, "messagebox.publish", publishAttrs(len(msgs)))
	defer func() { endSpan(span, err) }()
	pend, err := s.preparePublish(ctx, msgs, s.now())
	if err != nil {
		return nil, err
	}
	defer release(pend)
	// The plan is written into a transaction of its own first: a plan that
	// must wait for an ending instance is dropped and redone, and writes
	// cannot be taken back out of the caller's batch.
	own, pl, events, now, err := s.planPublish(ctx, pend)
	if err != nil {
		return nil, err
	}
	defer own.Abort()
	undo := func() {
		s.mu.Lock()
		s.unpublishLocked(pl, pend)
		// The plan may have raised the reserved entry IDs in memory with a
		// write that will never commit: the next ID handed out writes the
		// reservation again.
		s.mu.reserved = min(s.mu.reserved, s.mu.seq)
		s.mu.Unlock()
	}
	b, err := own.Batch(s.r)
	if err == nil {
		err = into.Apply(b, nil)
	}
	if err == nil {
		if err = s.stage(tx, events); err != nil {
			err = fmt.Errorf("messagebox: stage tracking data: %w", err)
		}
	}
	if err != nil {
		undo()
		return nil, err
	}
	tx.OnAbort(undo)
	tx.OnCommit(func() { s.finishPublish(pl, len(pend), now) })
	return pl.res, errors.Join(pl.failures...)
}

// planPublish writes the storage and routing of pend into a new
// transaction, registering the entries in memory as busy. The caller
// commits it and then calls finishPublish, or undoes the plan with
// unpublishLocked.
func (s *Store) planPublish(ctx context.Context, pend []pendingMsg) (Txn, *publishPlan, []trackEvent, time.Time, error) {
	if err := s.throttle(ctx); err != nil {
		return nil, nil, nil, time.Time{}, err
	}
	var events []trackEvent
	for {
		now := s.now()
		tx, b := s.begin()
		events = events[:0]
		s.mu.Lock()
		err := s.checkLocked()
		var pl *publishPlan
		if err == nil {
			pl, err = s.planPublishLocked(b, pend, now, &events)
		}
		if err != nil {
			s.mu.Unlock()
			tx.Abort()
			return nil, nil, nil, now, err
		}
		s.mu.Unlock()
		if pl.wait == nil {
			return tx, pl, events, now, nil
		}
		// An instance it routes to is ending: publish after its end.
		tx.Abort()
		select {
		case <-pl.wait:
		case <-ctx.Done():
			return nil, nil, nil, now, ctx.Err()
		}
	}
}

// planPublishLocked adds the storage and routing of pend (not empty) to b:
// its duplicate check, its duplicate-detection keys and publishLocked. A
// plan whose wait is set has been undone: the caller must drop b and try
// again once wait is closed.
func (s *Store) planPublishLocked(b *pebble.Batch, pend []pendingMsg, now time.Time, events *[]trackEvent) (*publishPlan, error) {
	if err := s.duplicateLocked(pend); err != nil {
		return nil, err
	}
	reserved := s.mu.reserved
	keys, err := s.mu.dedup.plan(b, pend, now.UnixNano())
	if err != nil {
		return nil, err
	}
	pl := s.publishLocked(b, pend, now, events)
	pl.dedup = keys
	if pl.wait != nil {
		s.unpublishLocked(pl, pend)
		s.mu.reserved = reserved
	}
	return pl, nil
}

// finishPublish makes a committed plan's entries deliverable.
func (s *Store) finishPublish(pl *publishPlan, n int, now time.Time) {
	s.mu.Lock()
	s.publishedLocked(pl, now.UnixNano())
	s.mu.Unlock()
	s.published.Add(uint64(n))
}

// duplicateLocked fails if one of pend's messages is already stored.
func (s *Store) duplicateLocked(pend []pendingMsg) error {
	for _, p := range pend {
		if s.mu.msgs[p.m.ID] != nil {
			return fmt.Errorf("%w: message %s", ErrDuplicate, p.m.ID)
		}
	}
	return nil
}

// publishPlan is what publishLocked prepared, for publishedLocked to apply
// or unpublishLocked to undo.
type publishPlan struct {
	res      []Published
	added    []*entry
	failures []error
	// created are the instances the messages activated; convoys the
	// convoy sets recorded for them.
	created []*instState
	convoys []string
	// wait, when not nil, means a message routes to an instance whose end
	// is committing: the plan must be undone and retried once it closes.
	wait <-chan struct{}
	// dedup are the duplicate-detection keys remembered for it.
	dedup []string
}

// publishLocked adds the storage and routing of pend to b. Entries are
// registered in memory as busy; new instances and convoy sets are
// registered at once, so a concurrent publish of the same convoy routes to
// the same instance.
func (s *Store) publishLocked(b *pebble.Batch, pend []pendingMsg, now time.Time, events *[]trackEvent) *publishPlan {
	nowNanos := now.UnixNano()
	pl := &publishPlan{res: make([]Published, len(pend))}
	res := pl.res
	for i, p := range pend {
		subs := s.mu.routing.match(p.m, s.mu.buf)
		if len(subs) == 0 && p.failed != nil {
			// Failed-message routing: the error message goes in m's place
			// if anything subscribes to it.
			if esubs := s.mu.routing.match(p.failed.m, s.mu.buf); len(esubs) > 0 {
				em := *p.failed
				em.at = p.at
				pend[i], p, subs = em, em, esubs
			}
		}
		m := p.m
		ms := &msgState{id: m.ID, frag: len(p.frags) > 0}
		var flags uint8
		if ms.frag {
			flags = flagFragmented
		}
		res[i] = Published{MessageID: m.ID, Routed: len(subs) > 0}
		if s.tracking() {
			*events = append(*events, trackEvent{Kind: event.Published, At: now, MessageID: m.ID, Message: m})
		}
		if len(subs) == 0 {
			e := &entry{id: s.nextIDLocked(b), msg: ms, state: stBusy, flags: flags, at: nowNanos,
				reason: routingFailureReason, kind: RoutingFailure, idx: -1}
			near := s.closestLocked(m)
			rec := entryRec{msg: m.ID, flags: flags, at: nowNanos, reason: e.reason, kind: uint8(RoutingFailure), near: near}
			_ = b.Set(suspKey(e.id), encodeSuspended(&rec), nil)
			pl.added = append(pl.added, e)
			res[i].Entries = []EntryID{e.id}
			pl.failures = append(pl.failures, &RoutingError{MessageID: m.ID, Entry: e.id, Closest: near})
			if s.tracking() {
				*events = append(*events, trackEvent{Kind: event.RoutingFailure, At: now, MessageID: m.ID, Entry: e.id, Reason: e.reason})
			}
		} else {
			res[i].Entries = make([]EntryID, 0, len(subs))
			var routed []*instState // instances this message already reached
			for _, sub := range subs {
				inst := s.routeLocked(b, pl, sub, m, nowNanos)
				if inst != nil && inst.ended != nil {
					pl.wait = inst.ended
					return pl
				}
				if inst != nil {
					if slices.Contains(routed, inst) {
						continue
					}
					routed = append(routed, inst)
					inst.pending++
				}
				hq := s.mu.hosts[sub.Host]
				if sub.Paused && inst == nil {
					e := &entry{id: s.nextIDLocked(b), msg: ms, sub: sub.ID, host: hq, prio: uint8(sub.Priority),
						state: stBusy, flags: flags | flagResumable, idx: -1, kind: sub.Kind, reason: PausedReason, at: nowNanos, paused: true}
					rec := entryRec{msg: m.ID, sub: sub.ID, flags: e.flags, at: nowNanos, reason: PausedReason,
						host: hq.name, prio: e.prio, kind: uint8(sub.Kind)}
					_ = b.Set(suspKey(e.id), encodeSuspended(&rec), nil)
					pl.added = append(pl.added, e)
					res[i].Entries = append(res[i].Entries, e.id)
					if s.tracking() {
						*events = append(*events, trackEvent{Kind: event.Routed, At: now, MessageID: m.ID, Entry: e.id, Subscription: sub.ID, Host: hq.name},
							trackEvent{Kind: event.Suspended, At: now, MessageID: m.ID, Entry: e.id, Subscription: sub.ID, Host: hq.name, Reason: PausedReason})
					}
					continue
				}
				e := &entry{id: s.nextIDLocked(b), msg: ms, sub: sub.ID, host: hq, prio: uint8(sub.Priority),
					state: stBusy, flags: flags, idx: -1, inst: inst}
				at := p.at
				if sub.Window != nil {
					at = max(at, sub.Window.next(time.Unix(0, max(at, nowNanos))).UnixNano())
				}
				if at > nowNanos {
					e.at = at
				}
				rec := e.recAt()
				s.mu.buf = queueKey(s.mu.buf[:0], hq.name, e.prio, e.id)
				s.mu.vbuf = encodeEntry(s.mu.vbuf[:0], &rec)
				_ = b.Set(s.mu.buf, s.mu.vbuf, nil)
				pl.added = append(pl.added, e)
				res[i].Entries = append(res[i].Entries, e.id)
				if s.tracking() {
					*events = append(*events, trackEvent{Kind: event.Routed, At: now, MessageID: m.ID, Entry: e.id, Subscription: sub.ID, Host: hq.name})
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
	for _, e := range pl.added {
		s.mu.entries[e.id] = e
	}
	return pl
}

// routeLocked returns the service instance a message matched by sub goes
// to, creating it (and its convoy set) in b for an activation, or nil for
// a messaging subscription.
func (s *Store) routeLocked(b *pebble.Batch, pl *publishPlan, sub *subState, m *Message, now int64) *instState {
	switch {
	case sub.Kind == Instance:
		return s.mu.instances.byID[sub.InstanceID]
	case sub.Service == "":
		return nil
	}
	var ck string
	if len(sub.Correlation) > 0 {
		var ok bool
		if ck, ok = convoyKeyOf(sub, m); ok {
			if inst := s.mu.instances.convoys[ck]; inst != nil {
				return inst
			}
		}
	}
	inst := newInstState(uuid.Must(uuid.NewV7()), sub.Service, sub.Host, StateReadyToRun, now)
	if sub.Paused {
		inst.state, inst.errText = StateSuspendedResumable, PausedServiceReason
	}
	s.mu.instances.byID[inst.id] = inst
	pl.created = append(pl.created, inst)
	_ = b.Set(instKey(inst.id), encodeInstance(inst, nil), nil)
	if ck != "" {
		s.mu.instances.convoys[ck] = inst
		inst.convoys = append(inst.convoys, ck)
		pl.convoys = append(pl.convoys, ck)
		_ = b.Set(convoyKey(ck), encodeConvoy(inst.id), nil)
	}
	return inst
}

// unpublishLocked undoes publishLocked after a failed commit.
func (s *Store) unpublishLocked(pl *publishPlan, pend []pendingMsg) {
	for _, e := range pl.added {
		delete(s.mu.entries, e.id)
		if e.inst != nil {
			e.inst.settleLocked()
		}
	}
	for _, p := range pend {
		delete(s.mu.msgs, p.m.ID)
	}
	for _, ck := range pl.convoys {
		delete(s.mu.instances.convoys, ck)
	}
	for _, inst := range pl.created {
		delete(s.mu.instances.byID, inst.id)
	}
	s.mu.dedup.undo(pl.dedup)
}

// publishedLocked applies publishLocked after its commit.
func (s *Store) publishedLocked(pl *publishPlan, nowNanos int64) {
	var woken *hostQueue
	for _, e := range pl.added {
		if e.kind == RoutingFailure || e.paused {
			e.state = stSuspended
			e.paused = false
			s.mu.suspended[e.id] = e
			continue
		}
		if inst := e.inst; inst != nil {
			inst.entries[e.id] = e
			inst.settleLocked()
			if inst.state == StateDehydrated {
				inst.state = StateReadyToRun // rehydrated by this message
			}
		}
		if e.at > nowNanos {
			e.state = stDelayed
			e.host.timed.push(e)
		} else {
			e.state, e.at = stReady, 0
			e.host.ready.push(e)
		}
		if e.host != woken {
			e.host.wakeLocked()
			woken = e.host
		}
	}
	s.mu.pubRate.add(nowNanos, uint64(len(pl.res)))
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
	for _, st := range s.mu.routing.subs {
		var best Near
		for gi, g := range st.Predicate {
			n := Near{Subscription: st.ID, Name: st.Name, Host: st.Host, Of: len(g)}
			for ci := range g {
				if o := g[ci].Eval(m.Context); o == Holds {
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
