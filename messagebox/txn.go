package messagebox

import (
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/google/uuid"
)

// The Txn variants below let another store (Management, through the root
// package) change hosts and subscriptions inside its own transaction, so
// the configuration change and the MessageBox change commit in one log
// frame. Each adds its writes to tx and returns apply, which the caller
// must call once tx has committed successfully (and never otherwise): the
// in-memory routing index changes only then. A subscription is visible to
// Publish from the moment apply returns.

// CreateHostTxn adds the creation of host name to tx. Creating an
// existing host writes nothing.
func (s *Store) CreateHostTxn(tx *store.Txn, name string) (apply func(), err error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty host name", ErrInvalidSubscription)
	}
	s.mu.Lock()
	err = s.checkLocked()
	exists := s.mu.hosts[name] != nil
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !exists {
		if err := tx.Batch(store.MessageBox).Set(hostKey(name), encodeHost(name), nil); err != nil {
			return nil, err
		}
	}
	return func() {
		s.mu.Lock()
		if s.mu.hosts[name] == nil {
			s.mu.hosts[name] = newHostQueue(name)
		}
		s.mu.Unlock()
	}, nil
}

// SubscribeTxn adds sub to tx, replacing the subscription with the same ID
// if there is one (entries already queued keep their host and priority).
// Its host must exist (ErrUnknownHost): create it first with CreateHost,
// or with CreateHostTxn and its apply called before SubscribeTxn. Errors as Subscribe, except that an existing ID
// is not ErrDuplicate.
func (s *Store) SubscribeTxn(tx *store.Txn, sub Subscription) (Subscription, func(), error) {
	sub = sub.clone()
	if err := sub.validate(*s.opts.Retry, s.schemas); err != nil {
		return Subscription{}, nil, err
	}
	if sub.ID == uuid.Nil {
		sub.ID = uuid.Must(uuid.NewV7())
	}
	s.mu.Lock()
	err := s.checkLocked()
	switch {
	case err != nil:
	case s.mu.hosts[sub.Host] == nil:
		err = fmt.Errorf("%w: %q", ErrUnknownHost, sub.Host)
	case sub.BackupHost != "" && s.mu.hosts[sub.BackupHost] == nil:
		err = fmt.Errorf("%w: backup host %q", ErrUnknownHost, sub.BackupHost)
	}
	s.mu.Unlock()
	if err != nil {
		return Subscription{}, nil, err
	}
	if err := tx.Batch(store.MessageBox).Set(subKey(sub.ID), encodeSubscription(&sub), nil); err != nil {
		return Subscription{}, nil, err
	}
	st := &subState{Subscription: sub.clone()}
	return sub, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if old := s.mu.subs[st.ID]; old != nil {
			s.mu.idx.remove(old)
			st.holder = old.holder
			s.unparkAllLocked(&old.parked)
		}
		s.mu.subs[st.ID] = st
		s.mu.idx.add(st)
	}, nil
}

// UnsubscribeTxn adds the removal of subscription id to tx. Removing one
// that does not exist is not an error. Entries already queued for it stay.
func (s *Store) UnsubscribeTxn(tx *store.Txn, id uuid.UUID) (func(), error) {
	s.mu.Lock()
	err := s.checkLocked()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := tx.Batch(store.MessageBox).Delete(subKey(id), nil); err != nil {
		return nil, err
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if st := s.mu.subs[id]; st != nil {
			s.mu.idx.remove(st)
			delete(s.mu.subs, id)
			s.unparkAllLocked(&st.parked)
		}
	}, nil
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
