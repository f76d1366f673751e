package messagebox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox/predicate"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// EntryID identifies a queue entry: one message routed to one
// subscription. It stays the same while the entry is retried, moved to a
// backup host, suspended and resumed. IDs grow in publish order.
type EntryID uint64

// entryState is where an entry is in memory.
type entryState uint8

const (
	stReady     entryState = iota + 1 // in its host's ready heap
	stDelayed                         // in its host's timed heap, visible at e.at
	stLeased                          // in its host's timed heap, lease ends at e.at
	stBusy                            // a commit that changes it is in flight
	stSuspended                       // in the suspended set
	stParked                          // ready, but held in e.parked (ordered delivery, suspended instance)
)

// entry is the in-memory state of a queue or suspended entry.
type entry struct {
	id         EntryID
	msg        *msgState
	sub        uuid.UUID
	host       *hostQueue // nil for a routing failure
	at         int64      // UnixNano: visible at, lease end or suspended at
	token      uint64     // lease token while leased
	reason     string     // last error or suspension reason
	attempts   uint32
	deliveries uint32
	idx        int32 // position in a heap
	prio       uint8
	state      entryState
	flags      uint8
	kind       Kind       // suspended entries: the subscription's kind or RoutingFailure
	inst       *instState // the service instance it is routed to, if any
	parked     *entryHeap // while stParked, the heap holding it
	// paused is set on an entry published to a paused subscription: it is
	// suspended, not queued, once its publish commits.
	paused bool
}

// msgState is a stored message's reference count: the entries naming it.
type msgState struct {
	id   uuid.UUID
	refs int32
	frag bool
}

// hostQueue is one host's queue in memory.
type hostQueue struct {
	name  string
	ready entryHeap // stReady, by priority then id
	timed entryHeap // stDelayed and stLeased, by at
	// notify, when not nil, is closed when entries may have become
	// deliverable (see DequeueWait).
	notify chan struct{}
	leased int
	parked int // its stParked entries
	// held is set while no host instance of the host runs (see
	// SetHostHeldTx): its queue keeps what it has and delivers nothing.
	held bool
}

func newHostQueue(name string) *hostQueue {
	return &hostQueue{name: name, timed: entryHeap{byTime: true}}
}

// wakeLocked wakes DequeueWait callers on the host.
func (h *hostQueue) wakeLocked() {
	if h.notify != nil {
		close(h.notify)
		h.notify = nil
	}
}

// seqBlock is how many entry IDs are reserved per write of the
// high-water mark, so IDs are not reused after a restart.
const seqBlock = 1 << 16

// Store is the MessageBox. It is safe for concurrent use. Every write
// commits one transaction on the group log; in-memory state (the
// subscription index, the host queues, leases) changes only after the
// commit succeeds. Leases live in memory only: after a crash or reopen
// every leased entry is deliverable again.
//
// The Store coordinates parts that each keep one kind of state: routing
// (subscriptions and their index, routing.go), the host queues and their
// entries (queue.go), the suspended entries (suspended.go), service
// instances and convoy sets (instance.go), duplicate detection
// (dedup.go) and staged tracking records (trackdata.go). An operation
// plans each part's writes into one transaction under the Store's lock,
// commits without it, and then applies each part's in-memory change (or
// undoes its plan).
type Store struct {
	db   Database
	r    pebble.Reader // db.Reader()
	opts Options
	done chan struct{}
	// schemas types subscriptions' text values; built at Open, then only
	// read.
	schemas *predicate.Schemas

	// trk stages tracking records; it has its own lock.
	trk trackData

	published atomic.Uint64
	delivered atomic.Uint64
	completed atomic.Uint64

	// mu guards everything below. It is never held across a commit.
	mu struct {
		sync.Mutex
		closed bool
		failed error

		// routing is the subscriptions and their index.
		routing routing
		// hosts are the host queues; entries every queued, leased or
		// waiting entry, suspended the suspended ones, by ID.
		hosts     map[string]*hostQueue
		entries   map[EntryID]*entry
		suspended map[EntryID]*entry
		// msgs are the stored messages and their reference counts.
		msgs map[uuid.UUID]*msgState
		// instances are the service instances and their convoy sets.
		instances instances
		// dedup is duplicate detection.
		dedup dedupPart

		seq      uint64 // last entry id handed out
		reserved uint64 // stored high-water mark
		token    uint64 // last lease token handed out
		pubRate  rate   // publishes per second, for throttling
		doneRate rate   // completions per second, for throttling
		buf      []byte // scratch for keys
		vbuf     []byte // scratch for entry values, which batches copy
		// relief, when not nil, is closed when entries or messages are
		// removed, waking publishers held back by throttling.
		relief chan struct{}
	}
}

// Open opens the MessageBox in db and rebuilds its in-memory state (hosts,
// the subscription index, the host queues) from it. The database is the
// caller's (the group's): Close does not close it.
func Open(db Database, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkDatabase(db); err != nil {
		return nil, err
	}
	s := &Store{db: db, r: db.Reader(), opts: o, done: make(chan struct{}), schemas: new(predicate.Schemas)}
	s.schemas.Register(o.PropertySchemas...)
	s.mu.hosts = make(map[string]*hostQueue)
	s.mu.routing = newRouting()
	s.mu.entries = make(map[EntryID]*entry)
	s.mu.suspended = make(map[EntryID]*entry)
	s.mu.msgs = make(map[uuid.UUID]*msgState)
	s.mu.instances = instances{byID: make(map[uuid.UUID]*instState), convoys: make(map[string]*instState)}
	s.mu.dedup = newDedupPart(o.Dedup)
	// Lease tokens start at a random point, so a lease from before a reopen
	// cannot match a lease handed out after it.
	s.mu.token = rand.Uint64() >> 1
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("messagebox: open: %w", err)
	}
	return s, nil
}

// scan calls fn for every key under prefix.
func (s *Store) scan(prefix []byte, fn func(k, v []byte) error) (err error) {
	lo, hi := keys.PrefixBounds(prefix)
	it, err := s.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
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
		if err := fn(it.Key(), v); err != nil {
			return err
		}
	}
	return it.Error()
}

// formatVersion is the layout of the MessageBox's keys and values. It only
// moves forward; Open refuses a newer one.
const formatVersion = 1

// checkFormat reads the stored format version, recording the current one
// in a new store.
func (s *Store) checkFormat() error {
	v, c, err := s.r.Get(formatKey())
	if errors.Is(err, pebble.ErrNotFound) {
		tx, b := s.begin()
		if err := b.Set(formatKey(), keys.AppendUint64(nil, formatVersion), nil); err != nil {
			tx.Abort()
			return err
		}
		_, err := tx.Commit(context.Background())
		return err
	}
	if err != nil {
		return err
	}
	n, _, derr := keys.DecodeUint64(v)
	_ = c.Close()
	switch {
	case derr != nil:
		return corruption("format version", derr)
	case n > formatVersion:
		return fmt.Errorf("%w: format %d, this build knows up to %d", ErrFormatTooNew, n, formatVersion)
	}
	return nil
}

func (s *Store) load() error {
	if err := s.checkFormat(); err != nil {
		return err
	}
	if err := s.loadTracking(); err != nil {
		return err
	}
	if err := s.loadHosts(); err != nil {
		return err
	}
	if err := s.loadInstances(); err != nil {
		return err
	}
	if err := s.mu.dedup.load(s.scan); err != nil {
		return err
	}
	if v, c, err := s.r.Get(seqKey()); err == nil {
		n, _, derr := keys.DecodeUint64(v)
		_ = c.Close()
		if derr != nil {
			return corruption("sequence", derr)
		}
		s.mu.reserved = n
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	if err := s.loadSubscriptions(); err != nil {
		return err
	}
	maxSeq, err := s.loadEntries()
	if err != nil {
		return err
	}
	s.mu.seq = max(s.mu.reserved, maxSeq)
	// An ordered subscription stopped by a suspended entry stays stopped.
	for _, e := range s.mu.suspended {
		if st := s.mu.routing.subs[e.sub]; st != nil && st.Ordered == OrderedStop && e.flags&flagResumable != 0 &&
			(st.holder == 0 || e.id < st.holder) {
			st.holder = e.id
		}
	}
	return nil
}

// loadHosts rebuilds the host queues, empty.
func (s *Store) loadHosts() error {
	return s.scan(hostPrefix(), func(k, v []byte) error {
		_, rest, err := keys.DecodeTable(k)
		if err == nil {
			_, rest, err = keys.DecodeString(rest)
		}
		var name string
		if err == nil {
			name, _, err = keys.DecodeString(rest)
		}
		if err != nil {
			return corruption("host key", err)
		}
		held, err := decodeHostHeld(v)
		if err != nil {
			return err
		}
		h := newHostQueue(name)
		h.held = held
		s.mu.hosts[name] = h
		return nil
	})
}

// hostLocked returns host name's queue, making it if its record is missing
// (hosts are written before what refers to them; the queue stays usable).
func (s *Store) hostLocked(name string) *hostQueue {
	h := s.mu.hosts[name]
	if h == nil {
		h = newHostQueue(name)
		s.mu.hosts[name] = h
	}
	return h
}

// loadSubscriptions rebuilds routing, and the correlation sets of the
// loaded instances.
func (s *Store) loadSubscriptions() error {
	return s.scan(tablePrefix(keys.TableSubscriptions), func(k, v []byte) error {
		id, _, err := keys.DecodeUUID(k[1:])
		if err != nil {
			return corruption("subscription key", err)
		}
		sub, err := decodeSubscription(id, v)
		if err != nil {
			return err
		}
		if err := sub.Predicate.Validate(); err != nil {
			return corruption(fmt.Sprintf("subscription %s", id), err)
		}
		for _, h := range []string{sub.Host, sub.BackupHost} {
			if h != "" {
				s.hostLocked(h)
			}
		}
		st := &subState{Subscription: *sub}
		s.mu.routing.add(st)
		s.rememberNames(sub)
		if inst := s.mu.instances.byID[sub.InstanceID]; inst != nil && sub.Kind == Instance {
			inst.subs[sub.Name] = st
		}
		return nil
	})
}

// loadEntries rebuilds the host queues' entries, the suspended entries and
// the messages' reference counts, and returns the highest entry ID.
func (s *Store) loadEntries() (uint64, error) {
	now := s.now().UnixNano()
	var maxSeq uint64
	msg := func(id uuid.UUID, flags uint8) *msgState {
		m := s.mu.msgs[id]
		if m == nil {
			m = &msgState{id: id, frag: flags&flagFragmented != 0}
			s.mu.msgs[id] = m
		}
		m.refs++
		return m
	}
	err := s.scan(tablePrefix(keys.TableQueueEntries), func(k, v []byte) error {
		host, prio, id, err := decodeQueueKey(k)
		if err != nil {
			return corruption("queue key", err)
		}
		r, err := decodeEntry(v)
		if err != nil {
			return err
		}
		hq := s.hostLocked(host)
		e := &entry{id: id, msg: msg(r.msg, r.flags), sub: r.sub, host: hq, prio: prio, flags: r.flags,
			attempts: r.attempts, deliveries: r.deliveries, reason: r.reason, idx: -1}
		s.attachLocked(e, r.inst)
		if r.at > now {
			e.state, e.at = stDelayed, r.at
			hq.timed.push(e)
		} else {
			e.state = stReady
			hq.ready.push(e)
		}
		s.mu.entries[id] = e
		maxSeq = max(maxSeq, uint64(id))
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = s.scan(tablePrefix(keys.TableSuspended), func(k, v []byte) error {
		n, _, err := keys.DecodeUint64(k[1:])
		if err != nil {
			return corruption("suspended key", err)
		}
		r, err := decodeSuspended(v)
		if err != nil {
			return err
		}
		e := &entry{id: EntryID(n), msg: msg(r.msg, r.flags), sub: r.sub, prio: r.prio, flags: r.flags,
			attempts: r.attempts, deliveries: r.deliveries, reason: r.reason, at: r.at, idx: -1,
			state: stSuspended, kind: Kind(r.kind)}
		s.attachLocked(e, r.inst)
		if r.host != "" {
			e.host = s.hostLocked(r.host)
		}
		s.mu.entries[e.id] = e
		s.mu.suspended[e.id] = e
		maxSeq = max(maxSeq, n)
		return nil
	})
	return maxSeq, err
}

// attachLocked links a loaded entry to its service instance.
func (s *Store) attachLocked(e *entry, id uuid.UUID) {
	if inst := s.mu.instances.byID[id]; inst != nil {
		e.inst = inst
		inst.entries[e.id] = e
		if inst.state == StateDehydrated && e.state != stSuspended {
			inst.state = StateReadyToRun // a message arrived for it
		}
	}
}

// Close releases the store's in-memory state and wakes blocked
// DequeueWait calls, which return ErrClosed. It does not close the Set.
// Close is safe to call twice.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil
	}
	s.mu.closed = true
	close(s.done)
	return nil
}

func (s *Store) now() time.Time { return s.opts.Clock.Now() }

// Err reports whether the store still works: nil while it does, ErrClosed
// after Close, or the error wrapping ErrFailed that every write returns
// once a commit to the group log failed (the in-memory state can no
// longer be trusted; close the Store and open the MessageBox again once
// the log has settled). It writes nothing and does not wait.
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkLocked()
}

// closedErr returns ErrClosed once Close has been called, without taking
// the mutex: calls that validate their input or read before they lock use
// it so a closed store answers ErrClosed first, whatever the input.
func (s *Store) closedErr() error {
	select {
	case <-s.done:
		return ErrClosed
	default:
		return nil
	}
}

// checkLocked returns the error every call gets after Close or a failed
// commit.
func (s *Store) checkLocked() error {
	switch {
	case s.mu.closed:
		return ErrClosed
	case s.mu.failed != nil:
		return s.mu.failed
	}
	return nil
}

// nextIDLocked hands out an entry id, reserving a new block in b when the
// stored high-water mark is reached.
func (s *Store) nextIDLocked(b *pebble.Batch) EntryID {
	s.mu.seq++
	if s.mu.seq > s.mu.reserved {
		s.mu.reserved = s.mu.seq + seqBlock
		_ = b.Set(seqKey(), keys.AppendUint64(nil, s.mu.reserved), nil)
	}
	return EntryID(s.mu.seq)
}

// commit stages the tracking record of events and commits tx. The commit is not cancelled by
// ctx once started: a MessageBox commit that decrements reference counts
// must reach the log in the order it was prepared against other commits
// of the same message, or fail the store. A log failure fails the store
// (ErrFailed); the caller then rolls back its in-memory reservations.
func (s *Store) commit(ctx context.Context, tx Txn, events []trackEvent) error {
	if err := ctx.Err(); err != nil {
		tx.Abort()
		return err
	}
	if err := s.stage(tx, events); err != nil {
		tx.Abort()
		return fmt.Errorf("messagebox: stage tracking data: %w", err)
	}
	_, err := tx.Commit(context.WithoutCancel(ctx))
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrFrameTooLarge) {
		s.mu.Lock()
		if s.mu.failed == nil {
			s.mu.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		}
		s.mu.Unlock()
	}
	return fmt.Errorf("messagebox: %w", err)
}

// CreateHost creates the host name, whose queue subscriptions can then
// target. Creating an existing host does nothing.
func (s *Store) CreateHost(ctx context.Context, name string) error {
	ctx = store.Context(ctx)
	if name == "" {
		return fmt.Errorf("%w: empty host name", ErrInvalidSubscription)
	}
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	_, ok := s.mu.hosts[name]
	s.mu.Unlock()
	if ok {
		return nil
	}
	tx, b := s.begin()
	if err := b.Set(hostKey(name), encodeHost(name, false), nil); err != nil {
		tx.Abort()
		return err
	}
	if err := s.commit(ctx, tx, nil); err != nil {
		return err
	}
	s.mu.Lock()
	if s.mu.hosts[name] == nil {
		s.mu.hosts[name] = newHostQueue(name)
	}
	s.mu.Unlock()
	return nil
}

// Hosts returns the names of the hosts, sorted.
func (s *Store) Hosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.mu.hosts))
	for n := range s.mu.hosts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Subscribe stores sub and adds it to the routing index; messages
// published after it returns are routed by it. Defaults are filled in
// (ID, Kind, Priority, Retry) and the stored subscription is returned.
// Errors: ErrInvalidPredicate, ErrInvalidSubscription, ErrUnknownHost (for
// Host or BackupHost), ErrDuplicate.
func (s *Store) Subscribe(ctx context.Context, sub Subscription) (Subscription, error) {
	ctx = store.Context(ctx)
	if err := s.closedErr(); err != nil {
		return Subscription{}, err
	}
	sub = sub.clone()
	if err := sub.validate(*s.opts.Retry, s.schemas); err != nil {
		return Subscription{}, err
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
	case s.mu.routing.subs[sub.ID] != nil:
		err = fmt.Errorf("%w: subscription %s", ErrDuplicate, sub.ID)
	}
	s.mu.Unlock()
	if err != nil {
		return Subscription{}, err
	}
	tx, b := s.begin()
	if err := b.Set(subKey(sub.ID), encodeSubscription(&sub), nil); err != nil {
		tx.Abort()
		return Subscription{}, err
	}
	if err := s.commit(ctx, tx, nil); err != nil {
		return Subscription{}, err
	}
	st := &subState{Subscription: sub.clone()}
	s.mu.Lock()
	s.mu.routing.add(st)
	s.rememberNames(&st.Subscription)
	s.mu.Unlock()
	return sub, nil
}

// Unsubscribe removes a subscription. Its activation entries waiting to
// be delivered (ready, delayed, or leased with the lease run out) are
// suspended, resumable, with UnsubscribedReason, in the same commit;
// leased entries stay with their holders, and are suspended when they
// fail or their lease runs out.
func (s *Store) Unsubscribe(ctx context.Context, id uuid.UUID) error {
	ctx = store.Context(ctx)
	s.mu.Lock()
	err := s.checkLocked()
	if err == nil && s.mu.routing.subs[id] == nil {
		err = fmt.Errorf("%w: subscription %s", ErrNotFound, id)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tx := s.db.Begin()
	if err := s.UnsubscribeTx(tx, id); err != nil {
		tx.Abort()
		return err
	}
	return s.commit(ctx, tx, nil)
}

// Subscriptions returns every subscription, sorted by ID.
func (s *Store) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, 0, len(s.mu.routing.subs))
	for _, st := range s.mu.routing.subs {
		out = append(out, st.Subscription.clone())
	}
	slices.SortFunc(out, func(a, b Subscription) int { return compareUUID(a.ID, b.ID) })
	return out
}

// Subscription returns the subscription id.
func (s *Store) Subscription(id uuid.UUID) (Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mu.routing.subs[id]
	if st == nil {
		return Subscription{}, fmt.Errorf("%w: subscription %s", ErrNotFound, id)
	}
	return st.Subscription.clone(), nil
}

func compareUUID(a, b uuid.UUID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// GetMessage returns the stored message id (context and parts). The
// returned message and its bodies belong to the caller. ErrNotFound if no
// entry references it any more.
func (s *Store) GetMessage(ctx context.Context, id uuid.UUID) (*Message, error) {
	ctx = store.Context(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.readMessage(id)
}

func (s *Store) readMessage(id uuid.UUID) (*Message, error) {
	v, c, err := s.r.Get(msgKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: message %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("messagebox: read message %s: %w", id, err)
	}
	m, hdrs, err := decodeMessage(id, v)
	_ = c.Close()
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	for pi, h := range hdrs {
		if h.nfrag == 0 {
			continue
		}
		var stored []byte
		for fi := 0; fi < h.nfrag; fi++ {
			v, c, err := s.r.Get(fragKey(id, pi, fi))
			if err != nil {
				return nil, corruption(fmt.Sprintf("message %s part %d fragment %d", id, pi, fi), err)
			}
			chunk, derr := decodeFragment(v)
			stored = append(stored, chunk...)
			_ = c.Close()
			if derr != nil {
				return nil, derr
			}
		}
		body, err := decodeBody(stored, h.codec, h.rawLen)
		if err != nil {
			return nil, fmt.Errorf("message %s part %d: %w", id, pi, err)
		}
		m.Parts[pi].Body = body
	}
	return m, nil
}
