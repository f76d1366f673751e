package tracking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// Store is the tracking database (BizTalkDTADb) of a group. Record adds
// tracking writes to a caller's transaction; queries read committed data;
// a background purge archives and deletes what has aged out.
//
// A Store is safe for concurrent use. It does not own its Database.
type Store struct {
	db   Database
	r    pebble.Reader // db.Reader()
	opts Options

	profile atomic.Pointer[Profile]
	// lastStamp is the last stamp handed out (see stamp).
	lastStamp atomic.Uint64
	// formatWritten is set once the format-version key is known to be in
	// the database or in a transaction on its way there.
	formatWritten atomic.Bool
	closed        atomic.Bool

	// purgeMu serialises purge passes (background and Purge).
	purgeMu sync.Mutex

	// errMu guards purgeErr, the error of the last background purge pass
	// (nil once a pass succeeds), reported by Stats.
	errMu    sync.Mutex
	purgeErr error

	// ctx is cancelled by Close, to stop the background purge.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// tdds takes in the MessageBox's staged records (tdds.go).
	tdds tdds

	// hooks are test seams; nil in production.
	hooks testHooks
}

// testHooks let tests stop a purge at its interesting points.
type testHooks struct {
	// afterArchive runs once a batch's archive file is durable, before the
	// batch's transaction commits.
	afterArchive func(batch uint64)
	// afterCommit runs once a batch's transaction has committed.
	afterCommit func(batch uint64)
}

var _ Querier = (*Store)(nil)

// Open opens the tracking database db. It starts the background purge
// unless Options.PurgeInterval is negative; Close stops it. Open returns
// ErrFormatTooNew for a database written by a newer biztier and
// ErrInvalidOptions for bad options.
func Open(db Database, opts *Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkDatabase(db); err != nil {
		return nil, err
	}
	s := &Store{db: db, r: db.Reader(), opts: o}
	s.profile.Store(o.Profile)
	if err := s.checkFormat(); err != nil {
		return nil, err
	}
	last, err := newestStamp(s.r)
	if err != nil {
		return nil, fmt.Errorf("tracking: open: %w", err)
	}
	s.lastStamp.Store(last)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if o.PurgeInterval > 0 {
		s.startPurge()
	}
	if o.Source != nil {
		s.tdds.src = o.Source
		s.startDecoder()
	}
	return s, nil
}

// startPurge starts the background purge; Close stops it.
func (s *Store) startPurge() {
	s.wg.Add(1)
	go s.runPurge(s.ctx)
}

func (s *Store) checkFormat() error {
	v, closer, err := s.r.Get(formatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tracking: open: %w", err)
	}
	defer closer.Close()
	d := codec.NewDecoder(v)
	n := d.Uvarint()
	if err := d.Finish(); err != nil {
		return corruption("format version", err)
	}
	if n > formatVersion {
		return fmt.Errorf("%w: database has format %d, this build knows up to %d", ErrFormatTooNew, n, formatVersion)
	}
	s.formatWritten.Store(true)
	return nil
}

// writeFormat adds the format-version key to b unless it is known to be
// written already.
func (s *Store) writeFormat(b *pebble.Batch) error {
	if s.formatWritten.Load() {
		return nil
	}
	var e codec.Encoder
	e.Uvarint(formatVersion)
	if err := b.Set(formatKey, e.Encoded(), nil); err != nil {
		return err
	}
	s.formatWritten.Store(true)
	return nil
}

// newestStamp returns the largest stamp found in the indexes that order
// records by stamp, so stamps stay unique across a reopen even if the
// clock went back.
func newestStamp(r pebble.Reader) (uint64, error) {
	var newest uint64
	for _, t := range []keys.Table{keys.TableEventsByTime, keys.TableInstancesByTime} {
		k, err := firstKey(r, tablePrefix(t), false)
		if err != nil {
			return 0, err
		}
		if k != nil {
			st, _, err := decodeLocator(k)
			if err != nil {
				return 0, err
			}
			newest = max(newest, st)
		}
	}
	k, err := firstKey(r, tablePrefix(keys.TableInstancesFinished), true)
	if err != nil {
		return 0, err
	}
	if len(k) >= 9 {
		end, _, err := keys.DecodeUint64(k[1:])
		if err != nil {
			return 0, corruption("finished key", err)
		}
		newest = max(newest, end)
	}
	return newest, nil
}

// firstKey returns a copy of the first (or, with last, the last) key under
// prefix, or nil.
func firstKey(r pebble.Reader, prefix []byte, last bool) (_ []byte, err error) {
	lo, hi := keys.PrefixBounds(prefix)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	var ok bool
	if last {
		ok = it.Last()
	} else {
		ok = it.First()
	}
	if !ok {
		return nil, it.Error()
	}
	return bytes.Clone(it.Key()), nil
}

// stamp returns a new recording stamp: the clock in Unix nanoseconds, or
// one more than the last stamp if the clock has not moved past it.
func (s *Store) stamp() uint64 {
	now := stampOf(s.opts.Clock())
	for {
		prev := s.lastStamp.Load()
		next := max(prev+1, now)
		if s.lastStamp.CompareAndSwap(prev, next) {
			return next
		}
	}
}

// SetProfile replaces the tracking profile; events recorded afterwards use
// it. p must not be modified afterwards. A nil p restores the default.
func (s *Store) SetProfile(p *Profile) {
	if p == nil {
		p = &Profile{Default: DefaultSettings}
	}
	s.profile.Store(p)
}

// Profile returns the current tracking profile. Do not modify it.
func (s *Store) Profile() *Profile { return s.profile.Load() }

// Close stops the background purge and waits for a running pass to end.
// It does not close the Database. Close is safe to call twice.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	return nil
}

// Record adds the writes that track events to tx, in the tracking
// database's batch. They commit, or are dropped, with tx: tracking never
// lags the operation it describes and an aborted operation leaves no
// trace. Events the profile does not select are skipped.
//
// Lifecycle events other than InstanceStarted read the instance's
// committed row to move its state index entry, so the events of one
// instance should be recorded in the order they happen, each in the transaction of the operation it
// describes (as the MessageBox does); several events of one instance in
// one call are applied in order.
//
// Record returns ErrInvalidEvent, wrapped, for an event it cannot store,
// and then adds nothing. It must not be called with a tx another goroutine
// uses, and does not commit tx. Record copies what it keeps of events.
func (s *Store) Record(tx Tx, events []Event) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(events) == 0 {
		return nil
	}
	if tx == nil {
		return fmt.Errorf("%w: nil", ErrInvalidTx)
	}
	b, err := tx.Batch(s.r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTx, err)
	}
	for i := range events {
		if err := validate(&events[i]); err != nil {
			return err
		}
	}
	w := recorderPool.Get().(*recorder)
	*w = recorder{s: s, b: b, prof: s.profile.Load(), enc: w.enc, key: w.key[:0], insts: w.insts[:0], byID: w.byID}
	defer func() {
		w.s, w.b, w.prof = nil, nil, nil
		clear(w.insts)
		clear(w.byID)
		if cap(w.enc.Encoded()) <= 64<<10 {
			recorderPool.Put(w)
		}
	}()
	for i := range events {
		if err := w.record(&events[i]); err != nil {
			return fmt.Errorf("tracking: record: %w", err)
		}
	}
	if err := w.flushInstances(); err != nil {
		return fmt.Errorf("tracking: record: %w", err)
	}
	if w.b.Empty() {
		return nil
	}
	if err := s.writeFormat(w.b); err != nil {
		return fmt.Errorf("tracking: record: %w", err)
	}
	return nil
}

func validate(e *Event) error {
	switch {
	case e.Kind.IsInstanceEvent():
		if e.InstanceID == uuid.Nil {
			return fmt.Errorf("%w: %v without an instance ID", ErrInvalidEvent, e.Kind)
		}
	case e.Kind.IsMessageEvent():
		if e.MessageID == uuid.Nil {
			return fmt.Errorf("%w: %v without a message ID", ErrInvalidEvent, e.Kind)
		}
		if e.Direction > DirectionOut {
			return fmt.Errorf("%w: direction %d", ErrInvalidEvent, e.Direction)
		}
	default:
		return fmt.Errorf("%w: kind %d", ErrInvalidEvent, e.Kind)
	}
	return nil
}

// recorderPool keeps recorders and their buffers between Record calls.
var recorderPool = sync.Pool{New: func() any { return new(recorder) }}

// recorder writes the events of one Record call.
type recorder struct {
	s    *Store
	b    *pebble.Batch
	prof *Profile
	enc  codec.Encoder
	key  []byte
	// insts holds the instances changed by this call, in first-touch order;
	// byID indexes them once there are many (a decoder's batch).
	insts []*pendingInstance
	byID  map[uuid.UUID]*pendingInstance
}

type pendingInstance struct {
	id     uuid.UUID
	old    *instanceRow // committed row; nil for a new instance
	row    instanceRow
	exists bool
}

func (w *recorder) record(e *Event) error {
	set := w.prof.settingsFor(e)
	at := e.At
	if at.IsZero() {
		at = w.s.opts.Clock()
	}
	if e.Kind.IsInstanceEvent() {
		if !set.Instances {
			return nil
		}
		return w.lifecycle(e, at)
	}
	if !set.Messages {
		return nil
	}
	stamp := w.s.stamp()
	r := eventRow{
		kind: e.Kind, at: at, messageID: e.MessageID, service: e.Service, serviceType: e.ServiceType,
		host: e.Host, error: e.Error, port: e.Port, adapter: e.Adapter, url: e.URL,
		direction: e.Direction, size: e.Size, subscription: e.Subscription,
		hasBody: set.Bodies && e.Body != nil,
	}
	if r.direction == DirectionNone {
		r.direction = defaultDirection(e.Kind)
	}
	for _, p := range e.Properties {
		if set.tracks(p.Name) {
			r.properties = append(r.properties, p)
		}
	}
	w.enc.Reset(w.enc.Encoded()[:0])
	r.encode(&w.enc)
	w.key = eventKey(w.key[:0], e.InstanceID, stamp)
	if err := w.b.Set(w.key, w.enc.Encoded(), nil); err != nil {
		return err
	}
	var err error
	w.key, err = forEventIndexKeys(w.key, e.InstanceID, stamp, &r, func(k []byte) error {
		return w.b.Set(k, nil, nil)
	})
	if err != nil {
		return err
	}
	if r.hasBody {
		w.enc.Reset(w.enc.Encoded()[:0])
		encodeBody(&w.enc, e.Body)
		w.key = bodyKey(w.key[:0], e.MessageID, e.InstanceID, stamp)
		if err := w.b.Set(w.key, w.enc.Encoded(), nil); err != nil {
			return err
		}
	}
	return nil
}

// lifecycle applies a lifecycle event to its instance's pending row and
// writes the event's history row; the start and the completion are kept in
// the instance row instead (see instanceRow).
//
// InstanceStarted does not read the committed row: a start makes a new
// instance record, and looking up a key that does not exist is the most
// expensive read Pebble does. If the instance did exist (a redelivery
// started it again), its row is replaced and the index entries of its
// earlier start become stale: queries skip entries whose start does not
// match the row, and purge deletes them (see staleInstanceKeys). Its
// history keeps the rows of its earlier run but not that run's start,
// which lived in the replaced row, unless both starts were recorded in one
// call.
func (w *recorder) lifecycle(e *Event, at time.Time) error {
	var p *pendingInstance
	if e.Kind == InstanceStarted {
		if p = w.pending(e.InstanceID); p == nil {
			p = &pendingInstance{id: e.InstanceID}
			w.add(p)
		} else if p.exists {
			// Started again in this call: the first start and completion
			// get rows of their own before the row is replaced.
			if err := w.writeNotes(e.InstanceID, &p.row); err != nil {
				return err
			}
		}
		p.row, p.exists = instanceRow{}, false
	} else {
		var err error
		if p, err = w.instance(e.InstanceID); err != nil {
			return err
		}
	}
	stamp := w.s.stamp()
	r := &p.row
	if !p.exists {
		p.exists = true
		r.start, r.startedAt, r.state = stamp, at, StateRunning
	}
	if r.service == "" {
		r.service = e.Service
	}
	if r.serviceType == ServiceUnknown {
		r.serviceType = e.ServiceType
	}
	if e.Host != "" {
		r.host = e.Host
	}
	if e.Error != "" {
		r.lastError = e.Error
	}
	if r.completed.set {
		// An event after the completion (none is expected): the
		// completion gets its own row before the row's end moves on.
		if err := w.writeNotes(e.InstanceID, &instanceRow{end: r.end, endedAt: r.endedAt, completed: r.completed}); err != nil {
			return err
		}
		r.completed.set = false
	}
	r.state = stateAfter(e.Kind)
	r.last = stamp
	if r.state.Final() {
		r.end, r.endedAt = stamp, at
	} else {
		r.end, r.endedAt = 0, time.Time{}
	}
	switch {
	case e.Kind == InstanceStarted && r.start == stamp:
		r.started = lifecycleNote{set: true, host: e.Host, error: e.Error}
		return nil
	case e.Kind == InstanceCompleted:
		r.completed = lifecycleNote{set: true, host: e.Host, error: e.Error}
		return nil
	}
	return w.history(e.InstanceID, stamp, histRow{kind: e.Kind, at: at, host: e.Host, error: e.Error})
}

// writeNotes writes rows for the start and completion r keeps.
func (w *recorder) writeNotes(id uuid.UUID, r *instanceRow) error {
	if n := r.started; n.set {
		if err := w.history(id, r.start, histRow{kind: InstanceStarted, at: r.startedAt, host: n.host, error: n.error}); err != nil {
			return err
		}
	}
	if n := r.completed; n.set {
		return w.history(id, r.end, histRow{kind: InstanceCompleted, at: r.endedAt, host: n.host, error: n.error})
	}
	return nil
}

// history writes a lifecycle row of instance id.
func (w *recorder) history(id uuid.UUID, stamp uint64, h histRow) error {
	w.enc.Reset(w.enc.Encoded()[:0])
	h.encode(&w.enc)
	w.key = histKey(w.key[:0], id, stamp)
	return w.b.Set(w.key, w.enc.Encoded(), nil)
}

// instance returns the pending row of id, reading the committed row the
// first time this call touches it.
func (w *recorder) instance(id uuid.UUID) (*pendingInstance, error) {
	if p := w.pending(id); p != nil {
		return p, nil
	}
	p := &pendingInstance{id: id}
	v, closer, err := w.s.r.Get(instKey(nil, id))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		row, derr := decodeInstance(v)
		closer.Close()
		if derr != nil {
			return nil, derr
		}
		p.old, p.row, p.exists = &row, row, true
	}
	w.add(p)
	return p, nil
}

// pending returns the pending row of id if this call has touched it.
func (w *recorder) pending(id uuid.UUID) *pendingInstance {
	if w.byID != nil {
		return w.byID[id]
	}
	for _, p := range w.insts {
		if p.id == id {
			return p
		}
	}
	return nil
}

// indexAt is how many pending instances a linear search handles before
// they are indexed by ID.
const indexAt = 16

// add makes p a pending instance of this call.
func (w *recorder) add(p *pendingInstance) {
	w.insts = append(w.insts, p)
	switch {
	case w.byID != nil:
		w.byID[p.id] = p
	case len(w.insts) > indexAt:
		w.byID = make(map[uuid.UUID]*pendingInstance, 2*len(w.insts))
		for _, q := range w.insts {
			w.byID[q.id] = q
		}
	}
}

// flushInstances writes the changed instance rows and moves their index
// entries.
func (w *recorder) flushInstances() error {
	for _, p := range w.insts {
		var oldKeys, newKeys [][]byte
		if p.old != nil {
			oldKeys = instanceIndexKeys(nil, p.id, p.old)
		}
		newKeys = instanceIndexKeys(nil, p.id, &p.row)
		for _, k := range oldKeys {
			if !containsKey(newKeys, k) {
				if err := w.b.Delete(k, nil); err != nil {
					return err
				}
			}
		}
		for _, k := range newKeys {
			if !containsKey(oldKeys, k) {
				if err := w.b.Set(k, nil, nil); err != nil {
					return err
				}
			}
		}
		w.enc.Reset(w.enc.Encoded()[:0])
		p.row.encode(&w.enc)
		if err := w.b.Set(instKey(w.key[:0], p.id), w.enc.Encoded(), nil); err != nil {
			return err
		}
	}
	return nil
}

func containsKey(ks [][]byte, k []byte) bool {
	for _, x := range ks {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}
