package messagebox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/biztier/biztier/internal/event"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// instances is the MessageBox's part that holds service instances
// (orchestrations): each instance by ID, and the convoy sets, by key, with
// the instance each routes to. The Store's lock guards it.
type instances struct {
	byID    map[uuid.UUID]*instState
	convoys map[string]*instState
}

// InstanceState is a service instance's state, with BizTalk's
// ServiceStatus codes.
type InstanceState uint8

// Instance states.
const (
	// StateReadyToRun: created by an activating message, or a dehydrated
	// instance a message has arrived for; waiting to be dequeued.
	StateReadyToRun InstanceState = 1
	// StateActive: a host has dequeued one of its messages. Held in memory
	// only: after a crash or reopen the instance is ready to run again.
	StateActive InstanceState = 2
	// StateSuspendedResumable is reserved for suspended instances.
	StateSuspendedResumable InstanceState = 4
	// StateDehydrated: its state is persisted and it waits for a message.
	StateDehydrated InstanceState = 8
	// StateCompletedWithDiscardedMessages: it completed while messages
	// routed to it were still queued; they are suspended, not resumable
	// (zombies), until the instance is terminated.
	StateCompletedWithDiscardedMessages InstanceState = 16
	// StateSuspendedNotResumable is reserved for instances that can only
	// be terminated.
	StateSuspendedNotResumable InstanceState = 32
)

// String names the state as BizTalk's console does.
func (s InstanceState) String() string {
	switch s {
	case StateReadyToRun:
		return "ready to run"
	case StateActive:
		return "active"
	case StateSuspendedResumable:
		return "suspended (resumable)"
	case StateDehydrated:
		return "dehydrated"
	case StateCompletedWithDiscardedMessages:
		return "completed with discarded messages"
	case StateSuspendedNotResumable:
		return "suspended (not resumable)"
	}
	return fmt.Sprintf("InstanceState(%d)", uint8(s))
}

// ServiceInstance is an orchestration instance kept in the MessageBox. An
// Activation subscription with a Service starts one per matching message
// (or per convoy set); the instance's state is what its last persistence
// point stored.
type ServiceInstance struct {
	ID      uuid.UUID
	Service string
	Host    string
	State   InstanceState
	Created time.Time
	Updated time.Time
	// Error is the last error recorded for it (the zombie report).
	Error string
	// Data is the opaque state of its last persistence point, nil before
	// the first. The slice belongs to the caller.
	Data []byte
	// Correlations names its initialized correlation sets, sorted.
	Correlations []string
	// Pending counts the entries routed to it and not yet consumed.
	Pending int
}

// instState is a service instance in memory. Its Data lives only in the
// store.
type instState struct {
	id               uuid.UUID
	service, host    string
	state            InstanceState
	created, updated int64
	errText          string
	// entries are the queue and suspended entries routed to it.
	entries map[EntryID]*entry
	// subs are its correlation sets' instance subscriptions, by name.
	subs map[string]*subState
	// convoys are the keys of its convoy sets.
	convoys []string
	// pending counts publishes routing to it whose commit is in flight;
	// settled, when not nil, is closed when pending drops to zero.
	pending int
	settled chan struct{}
	// busy is set while a persistence point or termination commits.
	busy bool
	// parked holds its ready entries while it is suspended.
	parked entryHeap
	// ended, when not nil, is closed once the completion or termination
	// in flight has committed; publishes that would route to the instance
	// wait for it, so they are ordered after its end.
	ended chan struct{}
}

// endLocked marks inst as ending: publishes routing to it wait.
func (inst *instState) endLocked() { inst.ended = make(chan struct{}) }

// endedLocked releases the publishes waiting for inst's end.
func (inst *instState) endedLocked() {
	if inst.ended != nil {
		close(inst.ended)
		inst.ended = nil
	}
}

func newInstState(id uuid.UUID, service, host string, state InstanceState, at int64) *instState {
	return &instState{id: id, service: service, host: host, state: state, created: at, updated: at,
		entries: make(map[EntryID]*entry), subs: make(map[string]*subState)}
}

// settleLocked drops one in-flight publish from inst.
func (inst *instState) settleLocked() {
	inst.pending--
	if inst.pending == 0 && inst.settled != nil {
		close(inst.settled)
		inst.settled = nil
	}
}

// waitLocked returns a channel closed once no publish routing to inst is
// in flight, or nil if none is.
func (inst *instState) waitLocked() <-chan struct{} {
	if inst.pending == 0 {
		return nil
	}
	if inst.settled == nil {
		inst.settled = make(chan struct{})
	}
	return inst.settled
}

const instanceVersion = 1

// Instance key: TableInstances | instance ID -> instance record.
func instKey(id uuid.UUID) []byte {
	k := make([]byte, 0, 17)
	k = keys.AppendTable(k, keys.TableInstances)
	return keys.AppendUUID(k, id)
}

// Convoy set key: TableConvoySets | convoy key -> instance ID.
func convoyKey(ck string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableConvoySets), ck)
}

func encodeInstance(inst *instState, data []byte) []byte {
	e := codec.NewEncoder(nil)
	e.Version(instanceVersion)
	e.String(inst.service)
	e.String(inst.host)
	e.Uvarint(uint64(inst.state))
	e.Varint(inst.created)
	e.Varint(inst.updated)
	e.String(inst.errText)
	e.Bool(data != nil)
	e.Bytes(data)
	return e.Encoded()
}

func decodeInstance(id uuid.UUID, b []byte) (*instState, []byte, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(instanceVersion); err != nil {
		return nil, nil, corruption("instance record", err)
	}
	inst := newInstState(id, "", "", 0, 0)
	inst.service = d.Text()
	inst.host = d.Text()
	inst.state = InstanceState(d.Uvarint())
	inst.created = d.Varint()
	inst.updated = d.Varint()
	inst.errText = d.Text()
	has := d.Bool()
	data := d.BytesCopy()
	if err := d.Finish(); err != nil {
		return nil, nil, corruption("instance record", err)
	}
	if !has {
		data = nil
	}
	return inst, data, nil
}

func encodeConvoy(id uuid.UUID) []byte {
	e := codec.NewEncoder(nil)
	e.Version(instanceVersion)
	e.UUID(id)
	return e.Encoded()
}

// convoyKeyOf returns the convoy set key of m under the convoy
// subscription sub, and false if m lacks one of its properties.
func convoyKeyOf(sub *subState, m *Message) (string, bool) {
	k := append([]byte(sub.Service), 0)
	for _, p := range sub.Correlation {
		v, ok := m.promoted(p)
		if !ok {
			return "", false
		}
		k = keys.AppendString(k, p)
		if k, ok = v.IndexKey(k); !ok {
			return "", false
		}
	}
	return string(k), true
}

// loadInstances rebuilds the instances and convoy sets; subscriptions and
// entries attach to them as they load.
func (s *Store) loadInstances() error {
	err := s.scan(tablePrefix(keys.TableInstances), func(k, v []byte) error {
		id, _, err := keys.DecodeUUID(k[1:])
		if err != nil {
			return corruption("instance key", err)
		}
		inst, _, err := decodeInstance(id, v)
		if err != nil {
			return err
		}
		if inst.state == StateActive {
			inst.state = StateReadyToRun
		}
		s.mu.instances.byID[id] = inst
		return nil
	})
	if err != nil {
		return err
	}
	return s.scan(tablePrefix(keys.TableConvoySets), func(k, v []byte) error {
		ck, _, err := keys.DecodeString(k[1:])
		if err != nil {
			return corruption("convoy key", err)
		}
		d := codec.NewDecoder(v)
		_, _ = d.ExpectVersion(instanceVersion)
		id := d.UUID()
		if err := d.Finish(); err != nil {
			return corruption("convoy set", err)
		}
		if inst := s.mu.instances.byID[id]; inst != nil {
			s.mu.instances.convoys[ck] = inst
			inst.convoys = append(inst.convoys, ck)
		}
		return nil
	})
}

// snapshotLocked describes inst; Data is filled in by the caller.
func (inst *instState) snapshotLocked() ServiceInstance {
	out := ServiceInstance{ID: inst.id, Service: inst.service, Host: inst.host, State: inst.state,
		Created: time.Unix(0, inst.created).UTC(), Updated: time.Unix(0, inst.updated).UTC(),
		Error: inst.errText, Pending: len(inst.entries)}
	for name := range inst.subs {
		out.Correlations = append(out.Correlations, name)
	}
	slices.Sort(out.Correlations)
	return out
}

// readInstanceData returns the stored Data of instance id.
func (s *Store) readInstanceData(id uuid.UUID) ([]byte, error) {
	v, c, err := s.r.Get(instKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: instance %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	_, data, err := decodeInstance(id, v)
	_ = c.Close()
	return data, err
}

// Instance returns service instance id with its persisted Data.
// ErrNotFound once it has completed or been terminated.
func (s *Store) Instance(ctx context.Context, id uuid.UUID) (ServiceInstance, error) {
	ctx = store.Context(ctx)
	if err := ctx.Err(); err != nil {
		return ServiceInstance{}, err
	}
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		return ServiceInstance{}, err
	}
	inst := s.mu.instances.byID[id]
	if inst == nil {
		s.mu.Unlock()
		return ServiceInstance{}, fmt.Errorf("%w: instance %s", ErrNotFound, id)
	}
	out := inst.snapshotLocked()
	s.mu.Unlock()
	data, err := s.readInstanceData(id)
	if err != nil {
		return ServiceInstance{}, err
	}
	out.Data = data
	return out, nil
}

// InstanceQuery selects service instances. Zero fields select everything.
type InstanceQuery struct {
	// IDs, if set, selects exactly these instances and the other fields
	// are ignored; an instance that cannot be acted on (ErrNotFound,
	// ErrNotResumable, ErrZombie) then stops a bulk operation with its
	// error instead of being skipped.
	IDs     []uuid.UUID
	Service string
	Host    string
	State   InstanceState
	// ErrorContains selects instances whose error holds this text.
	ErrorContains string
	// CreatedAfter and CreatedBefore bound the creation time:
	// CreatedAfter <= t < CreatedBefore.
	CreatedAfter, CreatedBefore time.Time
}

func (q *InstanceQuery) matches(inst *instState) bool {
	if len(q.IDs) > 0 {
		return slices.Contains(q.IDs, inst.id)
	}
	switch {
	case q.Service != "" && inst.service != q.Service:
	case q.Host != "" && inst.host != q.Host:
	case q.State != 0 && inst.state != q.State:
	case q.ErrorContains != "" && !strings.Contains(inst.errText, q.ErrorContains):
	case !q.CreatedAfter.IsZero() && inst.created < q.CreatedAfter.UnixNano():
	case !q.CreatedBefore.IsZero() && inst.created >= q.CreatedBefore.UnixNano():
	default:
		return true
	}
	return false
}

// Instances lists the service instances matching q, oldest first, without
// their Data.
func (s *Store) Instances(q InstanceQuery) []ServiceInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ServiceInstance
	for _, inst := range s.mu.instances.byID {
		if q.matches(inst) {
			out = append(out, inst.snapshotLocked())
		}
	}
	slices.SortFunc(out, func(a, b ServiceInstance) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return compareUUID(a.ID, b.ID)
	})
	return out
}

// claimLocked finds instance id for a persistence point or termination
// and marks it busy. If publishes routing to it are still committing it
// returns a channel to wait on instead. An ending claim (completion,
// termination) also needs none of its entries changing (ErrInstanceBusy).
func (s *Store) claimLocked(id uuid.UUID, ending bool) (*instState, <-chan struct{}, error) {
	if err := s.checkLocked(); err != nil {
		return nil, nil, err
	}
	inst := s.mu.instances.byID[id]
	switch {
	case inst == nil:
		return nil, nil, fmt.Errorf("%w: instance %s", ErrNotFound, id)
	case inst.busy:
		return nil, nil, fmt.Errorf("%w: instance %s", ErrInstanceBusy, id)
	}
	if ch := inst.waitLocked(); ch != nil {
		return nil, ch, nil
	}
	for _, e := range inst.entries {
		if ending && e.state == stBusy {
			return nil, nil, fmt.Errorf("%w: instance %s has an entry changing", ErrInstanceBusy, id)
		}
	}
	inst.busy = true
	return inst, nil, nil
}

// claim waits for claimLocked to succeed and returns with s.mu held.
func (s *Store) claim(ctx context.Context, id uuid.UUID, ending bool) (*instState, error) {
	for {
		s.mu.Lock()
		inst, wait, err := s.claimLocked(id, ending)
		if wait == nil {
			if err != nil {
				s.mu.Unlock()
			}
			return inst, err
		}
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// terminateInstance ends instance id: its correlation sets, convoy sets,
// queued and suspended entries (their messages released) and its record
// are deleted in one commit. Entries leased by a host lose their lease.
func (s *Store) terminateInstance(ctx context.Context, id uuid.UUID) error {
	now := s.now().UnixNano()
	inst, err := s.claim(ctx, id, true)
	if err != nil {
		return err
	}
	tx, b := s.begin()
	var events []trackEvent
	s.dropInstanceLocked(b, inst)
	var dead []*msgState
	drop := make([]*entry, 0, len(inst.entries))
	for _, e := range inst.entries {
		if e.state == stSuspended {
			_ = b.Delete(suspKey(e.id), nil)
		} else {
			_ = b.Delete(s.entryKey(e), nil)
		}
		s.detachLocked(e)
		if dropRefLocked(b, e.msg) {
			dead = append(dead, e.msg)
		}
		drop = append(drop, e)
		if s.tracking() {
			events = append(events, trackEvent{Kind: event.Terminated, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id, Subscription: e.sub})
		}
	}
	_ = b.Delete(instKey(id), nil)
	inst.endLocked()
	s.mu.Unlock()
	err = s.commitFatal(ctx, tx, events)
	s.mu.Lock()
	defer s.mu.Unlock()
	inst.endedLocked()
	if err != nil {
		return err
	}
	s.forgetInstanceLocked(inst)
	for _, e := range drop {
		delete(inst.entries, e.id)
		delete(s.mu.entries, e.id)
		s.releaseHolderLocked(e)
	}
	for _, ms := range dead {
		delete(s.mu.msgs, ms.id)
	}
	s.reliefLocked()
	return nil
}

// detachLocked takes e out of its heap or the suspended set and marks it
// busy while a commit that deletes or moves it is in flight. A lease on
// it is lost.
func (s *Store) detachLocked(e *entry) {
	switch e.state {
	case stSuspended:
		delete(s.mu.suspended, e.id)
	case stReady:
		e.host.ready.remove(e)
	case stDelayed:
		e.host.timed.remove(e)
	case stLeased:
		e.host.timed.remove(e)
		e.host.leased--
	case stParked:
		e.parked.remove(e)
		e.parked = nil
		e.host.parked--
	}
	e.state = stBusy
}

// dropInstanceLocked adds the deletion of inst's correlation and convoy
// sets to b.
func (s *Store) dropInstanceLocked(b *pebble.Batch, inst *instState) {
	for _, st := range inst.subs {
		_ = b.Delete(subKey(st.ID), nil)
	}
	for _, ck := range inst.convoys {
		_ = b.Delete(convoyKey(ck), nil)
	}
}

// forgetInstanceLocked removes inst and its sets from memory after the
// commit that deleted it.
func (s *Store) forgetInstanceLocked(inst *instState) {
	s.forgetSetsLocked(inst)
	delete(s.mu.instances.byID, inst.id)
}

func (s *Store) forgetSetsLocked(inst *instState) {
	for name, st := range inst.subs {
		s.mu.routing.remove(st)
		delete(inst.subs, name)
		s.unparkAllLocked(&st.parked)
	}
	for _, ck := range inst.convoys {
		delete(s.mu.instances.convoys, ck)
	}
	inst.convoys = nil
}

// commitFatal commits tx; any failure fails the store, since the caller
// keeps no undo of its in-memory preparation.
func (s *Store) commitFatal(ctx context.Context, tx Txn, events []trackEvent) error {
	err := s.commit(context.WithoutCancel(ctx), tx, events)
	if err != nil {
		s.mu.Lock()
		if s.mu.failed == nil {
			s.mu.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		}
		s.mu.Unlock()
	}
	return err
}
