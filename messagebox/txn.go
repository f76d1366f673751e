package messagebox

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// The Tx methods below let a caller's transaction (Management's, through
// the root package, or an application's Group.Update) change hosts and
// subscriptions, so the configuration change and the MessageBox change
// commit in one log frame. Each adds its writes to tx and applies its
// in-memory change when tx commits (tx.OnCommit), never otherwise: a
// subscription routes Publish from the moment tx's Commit returns.

// CreateHostTx adds the creation of host name to tx. Creating an existing
// host writes nothing. The host's (empty) queue exists in memory from this
// call on, so that SubscribeTx in the same transaction can target it; if
// tx does not commit, it is removed again.
func (s *Store) CreateHostTx(tx Tx, name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty host name", ErrInvalidSubscription)
	}
	b, err := s.batch(tx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(); err != nil {
		return err
	}
	if s.mu.hosts[name] != nil {
		return nil
	}
	if err := b.Set(hostKey(name), encodeHost(name, false), nil); err != nil {
		return err
	}
	h := newHostQueue(name)
	s.mu.hosts[name] = h
	tx.OnAbort(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		// Nothing can have been queued on it: no committed subscription
		// targets it.
		if s.mu.hosts[name] == h {
			delete(s.mu.hosts, name)
		}
	})
	return nil
}

// SetHostHeldTx adds to tx that host's queue is held (no running host
// instance: it keeps its entries and delivers none) or released, creating
// the host if need be. Releasing wakes the host's waiting DequeueWait
// calls when tx commits.
func (s *Store) SetHostHeldTx(tx Tx, host string, held bool) error {
	if host == "" {
		return fmt.Errorf("%w: empty host name", ErrInvalidSubscription)
	}
	if err := s.CreateHostTx(tx, host); err != nil {
		return err
	}
	b, err := s.batch(tx)
	if err != nil {
		return err
	}
	if err := b.Set(hostKey(host), encodeHost(host, held), nil); err != nil {
		return err
	}
	tx.OnCommit(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if h := s.mu.hosts[host]; h != nil {
			h.held = held
			if !held {
				h.wakeLocked()
			}
		}
	})
	return nil
}

// SubscribeTx adds sub to tx, replacing the subscription with the same ID
// if there is one (entries already queued keep their host and priority),
// and returns it with its ID set. Its host must exist (ErrUnknownHost):
// create it first with CreateHost, or with CreateHostTx in the same
// transaction. Errors as Subscribe, except that an existing ID is not
// ErrDuplicate.
func (s *Store) SubscribeTx(tx Tx, sub Subscription) (Subscription, error) {
	sub = sub.clone()
	if err := sub.validate(*s.opts.Retry, s.schemas); err != nil {
		return Subscription{}, err
	}
	b, err := s.batch(tx)
	if err != nil {
		return Subscription{}, err
	}
	if sub.ID == uuid.Nil {
		sub.ID = uuid.Must(uuid.NewV7())
	}
	s.mu.Lock()
	err = s.checkLocked()
	switch {
	case err != nil:
	case s.mu.hosts[sub.Host] == nil:
		err = fmt.Errorf("%w: %q", ErrUnknownHost, sub.Host)
	case sub.BackupHost != "" && s.mu.hosts[sub.BackupHost] == nil:
		err = fmt.Errorf("%w: backup host %q", ErrUnknownHost, sub.BackupHost)
	}
	s.mu.Unlock()
	if err != nil {
		return Subscription{}, err
	}
	if err := b.Set(subKey(sub.ID), encodeSubscription(&sub), nil); err != nil {
		return Subscription{}, err
	}
	st := &subState{Subscription: sub.clone()}
	tx.OnCommit(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if old := s.mu.routing.subs[st.ID]; old != nil {
			s.mu.routing.idx.remove(old)
			st.holder = old.holder
			s.unparkAllLocked(&old.parked)
		}
		s.mu.routing.add(st)
		s.rememberNames(&st.Subscription)
	})
	return sub, nil
}

// UnsubscribeTx adds the deletion of subscription id to tx. The messages
// still queued for it (ready, waiting to retry, or held back by ordered
// delivery) are suspended, resumable, with UnsubscribedReason in the same
// transaction, as BizTalk does when a port is unenlisted with messages
// queued: they are never delivered to a subscription that no longer
// exists. Leased ones are settled by their host instance; if it gives one
// back (abandon, fail, lease expiry) it is suspended the same way. Once a
// subscription with the same ID exists again (the port is enlisted again),
// resuming delivers them.
func (s *Store) UnsubscribeTx(tx Tx, id uuid.UUID) error {
	b, err := s.batch(tx)
	if err != nil {
		return err
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	if err := b.Delete(subKey(id), nil); err != nil {
		s.mu.Unlock()
		return err
	}
	held, events := s.holdQueuedLocked(b, id, now)
	// The subscription stops routing now, not at the commit: a message
	// published meanwhile must not queue for it after its queue was
	// emptied.
	st := s.mu.routing.subs[id]
	if st != nil {
		s.mu.routing.remove(st)
	}
	undo := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if st != nil {
			s.mu.routing.add(st)
		}
		s.unholdLocked(held)
	}
	s.mu.Unlock()
	if err := s.stage(tx, events); err != nil {
		undo()
		return fmt.Errorf("messagebox: stage tracking data: %w", err)
	}
	tx.OnAbort(undo)
	tx.OnCommit(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, h := range held {
			h.e.state = stSuspended
			s.mu.suspended[h.e.id] = h.e
		}
		s.reliefLocked()
	})
	return nil
}

// ResumePausedTx adds to tx the resumption of the entries subscription
// id's pause suspended (resumable, PausedReason), queued when tx commits:
// starting a port resumes what it held in the same commit as its new
// state. Until tx commits the entries are held (neither suspended nor
// queued); if it does not commit they are suspended again as they were.
func (s *Store) ResumePausedTx(tx Tx, id uuid.UUID) error {
	b, err := s.batch(tx)
	if err != nil {
		return err
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	var (
		held   []heldEntry
		events []trackEvent
	)
	for eid, e := range s.mu.suspended {
		if e.sub != id || e.reason != PausedReason || e.flags&flagResumable == 0 || e.host == nil {
			continue
		}
		held = append(held, heldEntry{e: e, saved: *e})
		delete(s.mu.suspended, eid)
		_ = b.Delete(suspKey(eid), nil)
		events = append(events, s.requeueLocked(b, e, now)...)
		e.state = stBusy
	}
	s.mu.Unlock()
	undo := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, h := range held {
			*h.e = h.saved
			s.mu.suspended[h.e.id] = h.e
		}
	}
	if err := s.stage(tx, events); err != nil {
		undo()
		return fmt.Errorf("messagebox: stage tracking data: %w", err)
	}
	tx.OnAbort(undo)
	tx.OnCommit(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, h := range held {
			h.e.state = stReady
			h.e.host.ready.push(h.e)
			h.e.host.wakeLocked()
		}
	})
	return nil
}

// heldEntry is a queued entry taken off its queue while the suspension
// planned for it commits, with what it was before.
type heldEntry struct {
	e     *entry
	saved entry
}

// holdQueuedLocked plans the suspension (UnsubscribedReason) of every
// activation entry of subscription id that is waiting to be delivered:
// each leaves its heap and is busy until the plan commits or is undone.
func (s *Store) holdQueuedLocked(b *pebble.Batch, id uuid.UUID, now int64) ([]heldEntry, []trackEvent) {
	var (
		held   []heldEntry
		events []trackEvent
	)
	// A lease that has run out no longer holds its entry, whether or not
	// a dequeue has noticed yet: it waits like any ready entry, and is
	// suspended with them.
	for _, h := range s.mu.hosts {
		s.promoteLocked(h, now)
	}
	st := s.mu.routing.subs[id]
	for _, e := range s.mu.entries {
		if e.sub != id || e.inst != nil || e.host == nil {
			continue
		}
		switch e.state {
		case stReady:
			e.host.ready.remove(e)
		case stDelayed:
			e.host.timed.remove(e)
		case stParked:
			e.parked.remove(e)
			e.parked = nil
			e.host.parked--
		default:
			continue
		}
		h := heldEntry{e: e, saved: *e}
		events = append(events, s.suspendLocked(b, e, now, UnsubscribedReason, st)...)
		e.state = stBusy
		held = append(held, h)
	}
	return held, events
}

// unholdLocked puts held entries back where they were.
func (s *Store) unholdLocked(held []heldEntry) {
	for _, h := range held {
		*h.e = h.saved
		switch h.e.state {
		case stReady:
			h.e.host.ready.push(h.e)
			h.e.host.wakeLocked()
		case stDelayed:
			h.e.host.timed.push(h.e)
		case stParked:
			h.e.state = stReady // its subscription's order is re-decided at dequeue
			h.e.parked = nil
			h.e.host.ready.push(h.e)
			h.e.host.wakeLocked()
		}
	}
}

// Queued counts the entries, queued or suspended, routed to subscription
// id. It costs time proportional to all entries.
func (s *Store) Queued(id uuid.UUID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.mu.entries {
		if e.sub == id {
			n++
		}
	}
	return n
}
