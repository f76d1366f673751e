package messagebox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/biztier/biztier/internal/event"
	"go.opentelemetry.io/otel/attribute"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// zombieReason is the error recorded on messages an instance completed
// without consuming.
const zombieReason = "The instance completed without consuming this message (zombie): completed with discarded messages."

// CorrelationSet initializes a correlation set: an instance subscription
// that routes to the instance every message whose promoted Properties have
// these values (and that matches Filter, the receive's own conditions such
// as its message type).
type CorrelationSet struct {
	// Name identifies the set within its instance.
	Name string
	// Properties are 1 to MaxCorrelationProperties promoted properties
	// and the values that correlate.
	Properties []Property
	// Filter, if not empty, adds conditions (an AND) to the subscription.
	Filter Group
}

// PersistPoint is an orchestration persistence point: everything in it
// commits in one transaction, or nothing does.
type PersistPoint struct {
	// Instance is the service instance persisting.
	Instance uuid.UUID
	// Consumed are the leases of the instance's messages it has consumed
	// since its last persistence point; their entries are completed.
	Consumed []Lease
	// State is the instance's new opaque state (at most
	// Options.MaxInstanceState bytes). It replaces the stored state.
	State []byte
	// Publish are the messages it sends, routed as by Publish.
	Publish []*Message
	// Initialize creates (or replaces, by name) correlation sets.
	Initialize []CorrelationSet
	// Release removes correlation sets by name.
	Release []string
	// Follow names the correlation sets the instance's next receives
	// follow: each must be initialized (ErrNotInitialized).
	Follow []string
	// Dehydrate marks the instance dehydrated: idle, out of memory, woken
	// (ready to run, its State handed back with the next delivery) by a
	// message for one of its subscriptions.
	Dehydrate bool
	// Complete ends the instance: its correlation and convoy sets go.
	// Messages still routed to it are suspended, not resumable (zombies),
	// and the instance stays, completed with discarded messages, until
	// terminated; otherwise its record is deleted.
	Complete bool
	// Extra, if set, adds writes of other stores (tracking, BAM) to the
	// transaction. It must only add writes to tx and must not call back
	// into the Store.
	Extra func(tx Tx) error
}

// PersistResult is what a persistence point did.
type PersistResult struct {
	// Published describes the messages published, in order.
	Published []Published
	// Zombies are the entries suspended as zombies by a completion.
	Zombies []EntryID
	// State is the instance's state after the point.
	State InstanceState
}

// Persist commits a persistence point of an instance. After a crash the
// instance resumes from its last persistence point: messages it consumed
// since are delivered again, messages it published since do not exist.
//
// Errors, with nothing committed: ErrNotFound for an instance that
// completed or was terminated, ErrInstanceBusy, ErrLeaseLost for a lease
// not held or not routed to the instance, ErrStateTooLarge,
// ErrInvalidCorrelation, ErrNotInitialized, ErrInvalidMessage,
// ErrDuplicate. ErrInstanceBusy for a completion while one of the
// instance's entries is being dequeued or retried: retry it. A message
// published by it that matches nothing is suspended as by Publish and the
// error is a *RoutingError, the point committed. Persist does not wait for
// publishing throttling: an instance's progress releases the spool. A
// failed commit fails the store (ErrFailed).
func (s *Store) Persist(ctx context.Context, p PersistPoint) (PersistResult, error) {
	ctx = store.Context(ctx)
	ctx, span := startSpan(ctx, "messagebox.persist", func() []attribute.KeyValue {
		return []attribute.KeyValue{attribute.String("messagebox.instance", p.Instance.String()),
			attribute.Int("messagebox.consumed", len(p.Consumed)), attribute.Int("messagebox.published", len(p.Publish)),
			attribute.Bool("messagebox.complete", p.Complete)}
	})
	res, err := s.persist(ctx, p)
	endSpan(span, err)
	return res, err
}

// persist is Persist inside its span.
func (s *Store) persist(ctx context.Context, p PersistPoint) (PersistResult, error) {
	if len(p.State) > s.opts.MaxInstanceState {
		return PersistResult{}, fmt.Errorf("%w: %d bytes, limit %d", ErrStateTooLarge, len(p.State), s.opts.MaxInstanceState)
	}
	now := s.now()
	nowNanos := now.UnixNano()
	pend, err := s.preparePublish(ctx, p.Publish, now)
	if err != nil {
		return PersistResult{}, err
	}
	defer release(pend)
	subs := make([]Subscription, len(p.Initialize))
	for i, cs := range p.Initialize {
		if subs[i], err = s.correlationSub(p.Instance, cs); err != nil {
			return PersistResult{}, err
		}
	}
	tx, b := s.begin()
	if p.Extra != nil {
		if err := p.Extra(tx); err != nil {
			tx.Abort()
			return PersistResult{}, fmt.Errorf("messagebox: persist: extra writes: %w", err)
		}
	}

	inst, err := s.claim(ctx, p.Instance, p.Complete) // s.mu held on success
	if err != nil {
		tx.Abort()
		return PersistResult{}, err
	}
	consumed, err := s.checkPersistLocked(inst, &p, subs, pend, nowNanos)
	if err != nil {
		inst.busy = false
		s.mu.Unlock()
		tx.Abort()
		return PersistResult{}, err
	}
	// From here on nothing fails before the commit.
	var events []trackEvent
	reserved := s.mu.reserved
	dead := s.completeLocked(b, consumed, nowNanos, &events)
	published := len(events)
	pl := s.publishLocked(b, pend, now, &events)
	for i := published; i < len(events); i++ {
		if events[i].Kind == event.Published {
			events[i].Instance = inst.id // the orchestration sent it
		}
	}
	if pl.wait != nil {
		// A message it publishes routes to an instance whose end is
		// committing: undo, wait for that end, and start over.
		s.unpublishLocked(pl, pend)
		s.uncompleteLocked(consumed)
		s.mu.reserved = reserved
		inst.busy = false
		s.mu.Unlock()
		tx.Abort()
		select {
		case <-pl.wait:
		case <-ctx.Done():
			return PersistResult{}, ctx.Err()
		}
		return s.persist(ctx, p)
	}
	if p.Complete {
		subs = nil // its sets go with it
	}
	sets := s.planSetsLocked(b, inst, p.Release, subs)
	end := s.planStateLocked(b, inst, &p, consumed, pl, now, &events)
	s.mu.Unlock()

	err = s.commitFatal(ctx, tx, events)
	s.mu.Lock()
	defer s.mu.Unlock()
	inst.endedLocked()
	if err != nil {
		return PersistResult{}, err
	}
	inst.busy = false
	s.completedLocked(consumed, dead, nowNanos)
	s.publishedLocked(pl, nowNanos)
	sets.applyLocked(s, inst)
	res := PersistResult{Published: pl.res, State: end.state}
	for _, e := range end.zombies {
		e.state = stSuspended
		s.mu.suspended[e.id] = e
		inst.entries[e.id] = e
		s.releaseHolderLocked(e)
		res.Zombies = append(res.Zombies, e.id)
	}
	inst.updated = nowNanos
	switch end.state {
	case 0:
		s.forgetInstanceLocked(inst)
	case StateCompletedWithDiscardedMessages:
		s.forgetSetsLocked(inst)
		inst.state, inst.errText = end.state, zombieReason
	default:
		inst.state = end.state
		if end.state == StateDehydrated {
			// A message that arrived since the instance was dequeued
			// wakes it again at once.
			inst.state = inst.idleStateLocked()
		}
	}
	s.published.Add(uint64(len(pend)))
	return res, errors.Join(pl.failures...)
}

// checkPersistLocked refuses a persistence point that cannot commit (a
// zombie instance, a correlation set followed or released before it is
// initialized, an invalid one, a duplicate message, a lease not held or
// not routed to the instance) and otherwise takes the consumed entries'
// leases. The correlation subscriptions get the instance's host.
func (s *Store) checkPersistLocked(inst *instState, p *PersistPoint, subs []Subscription, pend []pendingMsg, now int64) ([]*entry, error) {
	if inst.state == StateCompletedWithDiscardedMessages {
		return nil, fmt.Errorf("%w: instance %s", ErrZombie, inst.id)
	}
	for _, name := range slices.Concat(p.Follow, p.Release) {
		ok := inst.subs[name] != nil
		for _, cs := range p.Initialize {
			ok = ok || cs.Name == name
		}
		if !ok {
			return nil, fmt.Errorf("%w: %q of instance %s", ErrNotInitialized, name, inst.id)
		}
	}
	for i := range subs {
		subs[i].Host = inst.host
		if err := subs[i].validate(*s.opts.Retry, s.schemas); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrInvalidCorrelation, p.Initialize[i].Name, err)
		}
	}
	if err := s.duplicateLocked(pend); err != nil {
		return nil, err
	}
	consumed, err := s.takeLeasesLocked(p.Consumed, now)
	if err != nil {
		return nil, err
	}
	for _, e := range consumed {
		if e.inst != inst {
			s.releaseLocked(consumed)
			return nil, fmt.Errorf("%w: entry %d is not routed to instance %s", ErrLeaseLost, e.id, inst.id)
		}
	}
	return consumed, nil
}

// setsPlan is a persistence point's change to an instance's correlation
// sets: the subscriptions it releases or replaces and the ones it
// initializes.
type setsPlan struct {
	added, removed []*subState
}

// planSetsLocked adds to b the release of the sets named in release and
// the subscriptions of the sets initialized (replacing a set of the same
// name).
func (s *Store) planSetsLocked(b *pebble.Batch, inst *instState, release []string, subs []Subscription) setsPlan {
	var pl setsPlan
	for _, name := range release {
		if st := inst.subs[name]; st != nil {
			_ = b.Delete(subKey(st.ID), nil)
			pl.removed = append(pl.removed, st)
		}
	}
	for _, sub := range subs {
		if st := inst.subs[sub.Name]; st != nil && !slices.Contains(pl.removed, st) {
			_ = b.Delete(subKey(st.ID), nil)
			pl.removed = append(pl.removed, st)
		}
		_ = b.Set(subKey(sub.ID), encodeSubscription(&sub), nil)
		pl.added = append(pl.added, &subState{Subscription: sub})
	}
	return pl
}

// applyLocked routes the committed sets' subscriptions.
func (pl setsPlan) applyLocked(s *Store, inst *instState) {
	for _, st := range pl.removed {
		s.mu.routing.remove(st)
		delete(inst.subs, st.Name)
		s.unparkAllLocked(&st.parked)
	}
	for _, st := range pl.added {
		s.mu.routing.add(st)
		inst.subs[st.Name] = st
	}
}

// stateEnd is the state a persistence point leaves its instance in, and
// the entries a completion made zombies.
type stateEnd struct {
	state   InstanceState // 0: the instance is gone
	zombies []*entry
}

// planStateLocked adds to b the instance's new state: for a completion,
// its end, with every message still routed to it (and any it publishes to
// itself) suspended as a zombie; otherwise active, still suspended, or
// dehydrated.
func (s *Store) planStateLocked(b *pebble.Batch, inst *instState, p *PersistPoint, consumed []*entry, pl *publishPlan, now time.Time, events *[]trackEvent) stateEnd {
	nowNanos := now.UnixNano()
	end := stateEnd{state: StateActive}
	switch {
	case p.Complete:
		inst.endLocked()
		s.dropInstanceLocked(b, inst)
		for _, e := range inst.entries {
			if slices.Contains(consumed, e) || e.state == stSuspended {
				continue
			}
			s.detachLocked(e)
			*events = append(*events, s.zombieLocked(b, e, nowNanos)...)
			end.zombies = append(end.zombies, e)
		}
		// A message it publishes to itself as it completes is a zombie
		// too.
		kept := pl.added[:0]
		for _, e := range pl.added {
			if e.inst != inst {
				kept = append(kept, e)
				continue
			}
			inst.settleLocked()
			*events = append(*events, s.zombieLocked(b, e, nowNanos)...)
			end.zombies = append(end.zombies, e)
		}
		pl.added = kept
		end.state = 0
		if len(end.zombies) > 0 || len(inst.entries) > len(consumed) {
			end.state = StateCompletedWithDiscardedMessages
		}
		if s.tracking() {
			ev := trackEvent{Kind: event.InstanceEnded, At: now, Instance: inst.id, Host: inst.host}
			if end.state == StateCompletedWithDiscardedMessages {
				ev.Reason = zombieReason
			}
			*events = append(*events, ev)
		}
	case inst.state == StateSuspendedResumable:
		end.state = StateSuspendedResumable
	case p.Dehydrate:
		end.state = StateDehydrated
	}
	upd := *inst
	upd.state, upd.updated = end.state, nowNanos
	switch end.state {
	case StateCompletedWithDiscardedMessages:
		upd.errText = zombieReason
		_ = b.Set(instKey(inst.id), encodeInstance(&upd, p.State), nil)
	case 0:
		_ = b.Delete(instKey(inst.id), nil)
	default:
		_ = b.Set(instKey(inst.id), encodeInstance(&upd, p.State), nil)
	}
	return end
}

// zombieLocked adds the move of detached entry e to the suspended queue
// as a zombie to b.
func (s *Store) zombieLocked(b *pebble.Batch, e *entry, now int64) []trackEvent {
	_ = b.Delete(s.entryKey(e), nil)
	e.kind = Instance
	e.flags &^= flagResumable
	e.reason = zombieReason
	e.at = now
	r := entryRec{msg: e.msg.id, sub: e.sub, flags: e.flags, attempts: e.attempts, deliveries: e.deliveries,
		at: now, reason: e.reason, host: e.host.name, prio: e.prio, kind: uint8(e.kind), inst: e.inst.id}
	_ = b.Set(suspKey(e.id), encodeSuspended(&r), nil)
	if s.tracking() {
		return []trackEvent{{Kind: event.Suspended, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id, Subscription: e.sub, Host: e.host.name, Reason: e.reason}}
	}
	return nil
}

// correlationSub builds the instance subscription of cs.
func (s *Store) correlationSub(inst uuid.UUID, cs CorrelationSet) (Subscription, error) {
	switch {
	case cs.Name == "":
		return Subscription{}, fmt.Errorf("%w: no name", ErrInvalidCorrelation)
	case len(cs.Properties) == 0 || len(cs.Properties) > MaxCorrelationProperties:
		return Subscription{}, fmt.Errorf("%w: %q has %d properties, want 1 to %d", ErrInvalidCorrelation, cs.Name, len(cs.Properties), MaxCorrelationProperties)
	}
	g := slices.Clone(cs.Filter)
	for _, p := range cs.Properties {
		if err := p.Value.Check(); err != nil || p.Name == "" {
			return Subscription{}, fmt.Errorf("%w: %q property %q: %v", ErrInvalidCorrelation, cs.Name, p.Name, err)
		}
		g = append(g, Eq(p.Name, p.Value))
	}
	return Subscription{ID: uuid.Must(uuid.NewV7()), Name: cs.Name, Kind: Instance, InstanceID: inst,
		Predicate: Or(g)}, nil
}
