package messagebox

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/google/uuid"
)

// suspendInstance suspends instance id (resumable) with reason as its
// error: its queued messages stay queued but are not delivered until it
// is resumed. A persistence point of a suspended instance (one its host
// was already running) keeps it suspended. ErrNotFound for an instance
// that has ended; suspending a suspended instance records the new reason.
func (s *Store) suspendInstance(ctx context.Context, id uuid.UUID, reason string) error {
	return s.setInstanceState(ctx, id, func(inst *instState) (InstanceState, string, error) {
		if inst.state == StateCompletedWithDiscardedMessages {
			return 0, "", fmt.Errorf("%w: instance %s", ErrZombie, id)
		}
		return StateSuspendedResumable, reason, nil
	})
}

// resumeInstance resumes a suspended instance: it is ready to run if
// messages wait for it, dehydrated otherwise. ErrNotResumable for an
// instance that is not suspended.
func (s *Store) resumeInstance(ctx context.Context, id uuid.UUID) error {
	return s.setInstanceState(ctx, id, func(inst *instState) (InstanceState, string, error) {
		if inst.state != StateSuspendedResumable {
			return 0, "", fmt.Errorf("%w: instance %s is %v", ErrNotResumable, id, inst.state)
		}
		return inst.idleStateLocked(), "", nil
	})
}

// idleStateLocked is the state of an instance no host is running: ready
// to run when a message waits for it, else dehydrated.
func (inst *instState) idleStateLocked() InstanceState {
	for _, e := range inst.entries {
		if e.state != stSuspended {
			return StateReadyToRun
		}
	}
	return StateDehydrated
}

// setInstanceState commits the state and error next chooses for instance
// id, keeping its Data.
func (s *Store) setInstanceState(ctx context.Context, id uuid.UUID, next func(*instState) (InstanceState, string, error)) error {
	inst, err := s.claim(ctx, id, false)
	if err != nil {
		return err
	}
	state, reason, err := next(inst)
	upd := *inst
	inst.busy = err == nil
	s.mu.Unlock()
	if err != nil {
		return err
	}
	release := func() {
		s.mu.Lock()
		inst.busy = false
		s.mu.Unlock()
	}
	data, err := s.readInstanceData(id)
	if err != nil {
		release()
		return err
	}
	now := s.now().UnixNano()
	upd.state, upd.errText, upd.updated = state, reason, now
	tx, b := s.begin()
	if err := b.Set(instKey(id), encodeInstance(&upd, data), nil); err != nil {
		tx.Abort()
		release()
		return err
	}
	if err := s.commitFatal(ctx, tx, nil); err != nil {
		release()
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst.busy = false
	inst.state, inst.errText, inst.updated = state, reason, now
	if state != StateSuspendedResumable {
		s.unparkAllLocked(&inst.parked)
	}
	return nil
}

// SuspendInstances suspends (resumable) every instance q selects, one
// commit each, with reason as its error, and returns how many: their
// queued messages stay queued but are not delivered until they are
// resumed. A persistence point of a suspended instance (one its host was
// already running) keeps it suspended; suspending a suspended instance
// records the new reason. Instances that end meanwhile are skipped.
func (s *Store) SuspendInstances(ctx context.Context, q InstanceQuery, reason string) (int, error) {
	ctx = store.Context(ctx)
	return s.eachInstance(ctx, q, func(id uuid.UUID) error { return s.suspendInstance(ctx, id, reason) })
}

// ResumeInstances resumes every suspended instance q selects: each is
// ready to run if messages wait for it, dehydrated otherwise.
func (s *Store) ResumeInstances(ctx context.Context, q InstanceQuery) (int, error) {
	ctx = store.Context(ctx)
	if len(q.IDs) == 0 {
		q.State = StateSuspendedResumable
	}
	return s.eachInstance(ctx, q, func(id uuid.UUID) error { return s.resumeInstance(ctx, id) })
}

// TerminateInstances ends every instance q selects: its correlation sets,
// convoy sets, queued and suspended entries (their messages released) and
// its record are deleted in one commit per instance. Entries leased by a
// host lose their lease.
func (s *Store) TerminateInstances(ctx context.Context, q InstanceQuery) (int, error) {
	ctx = store.Context(ctx)
	return s.eachInstance(ctx, q, func(id uuid.UUID) error { return s.terminateInstance(ctx, id) })
}

func (s *Store) eachInstance(ctx context.Context, q InstanceQuery, fn func(uuid.UUID) error) (int, error) {
	if err := s.closedErr(); err != nil {
		return 0, err
	}
	ids := q.IDs
	strict := len(ids) > 0
	if !strict {
		for _, inst := range s.Instances(q) {
			ids = append(ids, inst.ID)
		}
	}
	n := 0
	for _, id := range ids {
		err := fn(id)
		switch {
		case !strict && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrZombie)):
			continue
		case err != nil:
			return n, err
		}
		n++
	}
	return n, nil
}
