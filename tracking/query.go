package tracking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// Querier is the query API of the tracking database, served both by the
// live Store and by an Archive of purged data.
//
// Every page is read from one consistent view. Results are newest first
// unless the query asks for OldestFirst; times select by recording time
// (for instances, the recording time of their first lifecycle event).
// Returned values own their memory.
type Querier interface {
	// Instance returns one instance with its lifecycle history, or
	// ErrNotFound.
	Instance(ctx context.Context, id uuid.UUID) (*Instance, error)
	// Instances returns a page of instances matching q.
	Instances(ctx context.Context, q InstanceQuery) (*InstancePage, error)
	// MessageEvents returns a page of message events matching q.
	MessageEvents(ctx context.Context, q MessageEventQuery) (*MessageEventPage, error)
	// MessageFlow returns the instances and messages that led to the
	// message and that it led to.
	MessageFlow(ctx context.Context, messageID uuid.UUID, o *FlowOptions) (*Flow, error)
	// InstanceFlow returns the messages the instance received and sent,
	// the instances that produced its inputs and the ones that consumed
	// its outputs, transitively.
	InstanceFlow(ctx context.Context, instanceID uuid.UUID, o *FlowOptions) (*Flow, error)
	// TrackedMessage returns the newest tracked body and context of a
	// message, or ErrNotFound.
	TrackedMessage(ctx context.Context, messageID uuid.UUID) (*TrackedMessage, error)
}

// Cursor marks where a page ended. Pass it back in the same query to get
// the next page; the empty Cursor starts at the beginning and a page whose
// Next is empty is the last. Cursors are opaque and stay valid across
// writes and purges (a purged record is simply not returned).
type Cursor string

// DefaultLimit is the page size of a query whose Limit is 0, and MaxLimit
// the largest page a query returns.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// Instance is a tracked service instance.
type Instance struct {
	ID          uuid.UUID
	Service     string
	ServiceType ServiceType
	// Host is the host of the instance's last lifecycle event that named
	// one.
	Host  string
	State InstanceState
	// Started is when it started; Ended when it completed or was
	// terminated (zero while it is not final).
	Started, Ended time.Time
	// Updated is when its last lifecycle event was recorded.
	Updated time.Time
	// Error is the error text of its last suspension, termination or
	// failure.
	Error string
	// History lists its lifecycle events, oldest first. Only
	// Querier.Instance fills it.
	History []LifecycleEvent
}

// LifecycleEvent is one recorded lifecycle step of an instance.
type LifecycleEvent struct {
	Kind     EventKind
	At       time.Time // as given by the event
	Recorded time.Time // when it was recorded
	Host     string
	Error    string
}

// MessageEvent is a recorded message event.
type MessageEvent struct {
	Kind         EventKind
	At           time.Time // as given by the event
	Recorded     time.Time // when it was recorded
	MessageID    uuid.UUID
	InstanceID   uuid.UUID // zero when the event belongs to no instance
	Service      string
	ServiceType  ServiceType
	Host         string
	Error        string
	Port         string
	Adapter      string
	URL          string
	Direction    Direction
	Size         int64
	Subscription uuid.UUID
	// Properties are the tracked promoted property values.
	Properties []Property
	// HasBody says a body and context were tracked with the event (see
	// Querier.TrackedMessage).
	HasBody bool
}

// TrackedMessage is a tracked copy of a message's body and context.
type TrackedMessage struct {
	MessageID  uuid.UUID
	InstanceID uuid.UUID
	Recorded   time.Time
	Body
}

// InstanceQuery selects instances. Zero fields do not filter. Service and
// State each have an index; the time range bounds every scan.
type InstanceQuery struct {
	// Service selects instances of the named service.
	Service string
	// State selects instances in this state.
	State InstanceState
	// From and To select instances started in [From, To).
	From, To time.Time
	// Limit is the page size. Defaults to DefaultLimit; at most MaxLimit.
	Limit int
	// Cursor continues a previous page of the same query.
	Cursor Cursor
	// OldestFirst reverses the default newest-first order.
	OldestFirst bool
}

// InstancePage is one page of instances.
type InstancePage struct {
	Instances []Instance
	// Next continues the query; empty on the last page.
	Next Cursor
}

// MessageEventQuery selects message events. Zero fields do not filter.
// The most selective given field picks the index (InstanceID, then
// MessageID, Property, Port, then time alone); the others filter it.
type MessageEventQuery struct {
	InstanceID uuid.UUID
	MessageID  uuid.UUID
	// Property selects events that tracked this property value.
	Property *Property
	Port     string
	// Kind selects one kind of event.
	Kind EventKind
	// From and To select events recorded in [From, To).
	From, To    time.Time
	Limit       int
	Cursor      Cursor
	OldestFirst bool
}

// MessageEventPage is one page of message events.
type MessageEventPage struct {
	Events []MessageEvent
	Next   Cursor
}

// reader runs queries against one consistent view: a snapshot of the live
// database or an archive's database.
type reader struct {
	r pebble.Reader
}

// span is an iterator range whose keys end with a stamp. desc says the
// keys put newer stamps first.
type span struct {
	lower, upper []byte
	desc         bool
}

// indexSpan is the span of an index prefix (keys: prefix, ^stamp, uuid)
// for stamps in [from, to); to == 0 means no upper limit.
func indexSpan(prefix []byte, from, to uint64) span {
	sp := span{lower: prefix, desc: true}
	if to > 0 {
		sp.lower = keys.AppendUint64Desc(bytes.Clone(prefix), to-1)
	}
	sp.upper = keys.PrefixSuccessor(keys.AppendUint64Desc(bytes.Clone(prefix), from))
	return sp
}

// clusterSpan is the span of a primary cluster (keys: prefix, stamp) for
// stamps in [from, to).
func clusterSpan(prefix []byte, from, to uint64) span {
	sp := span{lower: keys.AppendUint64(bytes.Clone(prefix), from)}
	if to > 0 {
		sp.upper = keys.AppendUint64(bytes.Clone(prefix), to)
	} else {
		sp.upper = keys.PrefixSuccessor(prefix)
	}
	return sp
}

func timeRange(from, to time.Time) (uint64, uint64, bool) {
	f, t := stampOf(from), stampOf(to)
	if !to.IsZero() && t == 0 {
		return 0, 0, false
	}
	return f, t, t == 0 || t > f
}

// scan walks sp in the query's order from cursor and calls visit for each
// key; visit reports whether the entry is part of the result. It stops
// after limit results and returns the cursor of the next page.
func (rd reader) scan(ctx context.Context, sp span, oldestFirst bool, cursor Cursor, limit int,
	visit func(k []byte) (bool, error)) (_ Cursor, err error) {
	forward := sp.desc != oldestFirst
	it, err := rd.r.NewIter(&pebble.IterOptions{LowerBound: sp.lower, UpperBound: sp.upper})
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	var ok bool
	c := []byte(cursor)
	switch {
	case len(c) == 0 && forward:
		ok = it.First()
	case len(c) == 0:
		ok = it.Last()
	case forward:
		if bytes.Compare(c, sp.lower) < 0 {
			ok = it.First()
		} else if ok = it.SeekGE(c); ok && bytes.Equal(it.Key(), c) {
			ok = it.Next()
		}
	default:
		if sp.upper != nil && bytes.Compare(c, sp.upper) >= 0 {
			ok = it.Last()
		} else {
			ok = it.SeekLT(c)
		}
	}
	n := 0
	for steps := 0; ok; steps++ {
		if steps%256 == 255 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		took, err := visit(it.Key())
		if err != nil {
			return "", err
		}
		if took {
			n++
			if n == limit {
				last := Cursor(it.Key())
				if forward {
					ok = it.Next()
				} else {
					ok = it.Prev()
				}
				if ok {
					return last, nil
				}
				break
			}
		}
		if forward {
			ok = it.Next()
		} else {
			ok = it.Prev()
		}
	}
	return "", it.Error()
}

// get returns a copy of key's value, or nil and false.
func (rd reader) get(key []byte) ([]byte, bool, error) {
	v, closer, err := rd.r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer closer.Close()
	return bytes.Clone(v), true, nil
}

func (rd reader) instanceRow(id uuid.UUID) (*instanceRow, error) {
	v, ok, err := rd.get(instKey(nil, id))
	if err != nil || !ok {
		return nil, err
	}
	r, err := decodeInstance(v)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func instanceFromRow(id uuid.UUID, r *instanceRow) Instance {
	return Instance{
		ID: id, Service: r.service, ServiceType: r.serviceType, Host: r.host, State: r.state,
		Started: r.startedAt, Ended: r.endedAt, Updated: stampTime(r.last), Error: r.lastError,
	}
}

func (rd reader) instance(ctx context.Context, id uuid.UUID) (*Instance, error) {
	r, err := rd.instanceRow(id)
	if err != nil {
		return nil, fmt.Errorf("tracking: instance %s: %w", id, err)
	}
	if r == nil {
		return nil, fmt.Errorf("%w: instance %s", ErrNotFound, id)
	}
	inst := instanceFromRow(id, r)
	prefix := instKey(nil, id)
	sp := span{lower: keys.AppendUint64(bytes.Clone(prefix), 0), upper: keys.PrefixSuccessor(prefix)}
	_, err = rd.scan(ctx, sp, true, "", MaxLimit, func(k []byte) (bool, error) {
		stamp, _, err := keys.DecodeUint64(k[len(prefix):])
		if err != nil {
			return false, corruption("lifecycle key", err)
		}
		v, ok, err := rd.get(k)
		if err != nil || !ok {
			return false, err
		}
		h, err := decodeHistory(v)
		if err != nil {
			return false, err
		}
		inst.History = append(inst.History, LifecycleEvent{
			Kind: h.kind, At: h.at, Recorded: stampTime(stamp), Host: h.host, Error: h.error,
		})
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tracking: instance %s: %w", id, err)
	}
	inst.History = impliedHistory(inst.History, r)
	return &inst, nil
}

// impliedHistory adds to h, lifecycle rows in stamp order, the start and
// completion that r keeps instead of rows of their own.
func impliedHistory(h []LifecycleEvent, r *instanceRow) []LifecycleEvent {
	if !r.started.set && !r.completed.set {
		return h
	}
	if r.started.set {
		h = append(h, LifecycleEvent{Kind: InstanceStarted, At: r.startedAt, Recorded: stampTime(r.start),
			Host: r.started.host, Error: r.started.error})
	}
	if r.completed.set {
		h = append(h, LifecycleEvent{Kind: InstanceCompleted, At: r.endedAt, Recorded: stampTime(r.end),
			Host: r.completed.host, Error: r.completed.error})
	}
	slices.SortStableFunc(h, func(a, b LifecycleEvent) int { return a.Recorded.Compare(b.Recorded) })
	return h
}

func (rd reader) instances(ctx context.Context, q InstanceQuery) (*InstancePage, error) {
	page := &InstancePage{}
	from, to, ok := timeRange(q.From, q.To)
	if !ok {
		return page, nil
	}
	var prefix []byte
	switch {
	case q.Service != "":
		prefix = servicePrefix(nil, q.Service)
	case q.State != 0:
		// The row is still checked: two transactions racing on one
		// instance can leave a stale state entry behind.
		prefix = statePrefix(nil, q.State)
	default:
		prefix = tablePrefix(keys.TableInstancesByTime)
	}
	next, err := rd.scan(ctx, indexSpan(prefix, from, to), q.OldestFirst, q.Cursor, pageLimit(q.Limit), func(k []byte) (bool, error) {
		start, id, err := decodeLocator(k)
		if err != nil {
			return false, err
		}
		r, err := rd.instanceRow(id)
		if err != nil || r == nil || r.start != start {
			// No row, or an entry of an earlier start of the instance.
			return false, err
		}
		if q.State != 0 && r.state != q.State {
			return false, nil
		}
		page.Instances = append(page.Instances, instanceFromRow(id, r))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tracking: instances: %w", err)
	}
	page.Next = next
	return page, nil
}

func eventFromRow(inst uuid.UUID, stamp uint64, r *eventRow) MessageEvent {
	return MessageEvent{
		Kind: r.kind, At: r.at, Recorded: stampTime(stamp), MessageID: r.messageID, InstanceID: inst,
		Service: r.service, ServiceType: r.serviceType, Host: r.host, Error: r.error, Port: r.port,
		Adapter: r.adapter, URL: r.url, Direction: r.direction, Size: r.size, Subscription: r.subscription,
		Properties: r.properties, HasBody: r.hasBody,
	}
}

func (rd reader) eventRow(inst uuid.UUID, stamp uint64) (*eventRow, error) {
	v, ok, err := rd.get(eventKey(nil, inst, stamp))
	if err != nil || !ok {
		return nil, err
	}
	r, err := decodeEvent(v)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (q *MessageEventQuery) matches(inst uuid.UUID, r *eventRow) bool {
	if q.InstanceID != uuid.Nil && inst != q.InstanceID {
		return false
	}
	if q.MessageID != uuid.Nil && r.messageID != q.MessageID {
		return false
	}
	if q.Port != "" && r.port != q.Port {
		return false
	}
	if q.Kind != 0 && r.kind != q.Kind {
		return false
	}
	if q.Property != nil {
		for _, p := range r.properties {
			if p == *q.Property {
				return true
			}
		}
		return false
	}
	return true
}

func (rd reader) messageEvents(ctx context.Context, q MessageEventQuery) (*MessageEventPage, error) {
	page := &MessageEventPage{}
	from, to, ok := timeRange(q.From, q.To)
	if !ok {
		return page, nil
	}
	var sp span
	cluster := q.InstanceID != uuid.Nil
	switch {
	case cluster:
		sp = clusterSpan(eventPrefix(nil, q.InstanceID), from, to)
	case q.MessageID != uuid.Nil:
		sp = indexSpan(messagePrefix(nil, q.MessageID), from, to)
	case q.Property != nil:
		sp = indexSpan(propertyPrefix(nil, q.Property.Name, q.Property.Value), from, to)
	case q.Port != "":
		sp = indexSpan(portPrefix(nil, q.Port), from, to)
	default:
		sp = indexSpan(tablePrefix(keys.TableEventsByTime), from, to)
	}
	next, err := rd.scan(ctx, sp, q.OldestFirst, q.Cursor, pageLimit(q.Limit), func(k []byte) (bool, error) {
		var (
			inst  uuid.UUID
			stamp uint64
			r     *eventRow
		)
		if cluster {
			inst = q.InstanceID
			st, _, err := keys.DecodeUint64(k[1+16:])
			if err != nil {
				return false, corruption("event key", err)
			}
			stamp = st
			v, ok, err := rd.get(k)
			if err != nil || !ok {
				return false, err
			}
			row, err := decodeEvent(v)
			if err != nil {
				return false, err
			}
			r = &row
		} else {
			st, id, err := decodeLocator(k)
			if err != nil {
				return false, err
			}
			inst, stamp = id, st
			if r, err = rd.eventRow(inst, stamp); err != nil || r == nil {
				return false, err
			}
		}
		if !q.matches(inst, r) {
			return false, nil
		}
		page.Events = append(page.Events, eventFromRow(inst, stamp, r))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tracking: message events: %w", err)
	}
	page.Next = next
	return page, nil
}

func (rd reader) trackedMessage(ctx context.Context, msg uuid.UUID) (*TrackedMessage, error) {
	prefix := bodyPrefix(nil, msg)
	lo, hi := keys.PrefixBounds(prefix)
	var (
		best      []byte
		bestStamp uint64
		bestInst  uuid.UUID
	)
	_, err := rd.scan(ctx, span{lower: lo, upper: hi}, true, "", MaxLimit, func(k []byte) (bool, error) {
		rest := k[len(prefix):]
		inst, rest, err := keys.DecodeUUID(rest)
		if err != nil {
			return false, corruption("body key", err)
		}
		stamp, _, err := keys.DecodeUint64(rest)
		if err != nil {
			return false, corruption("body key", err)
		}
		if best == nil || stamp > bestStamp {
			best, bestStamp, bestInst = bytes.Clone(k), stamp, inst
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tracking: tracked message %s: %w", msg, err)
	}
	if best == nil {
		return nil, fmt.Errorf("%w: tracked message %s", ErrNotFound, msg)
	}
	v, ok, err := rd.get(best)
	if err != nil {
		return nil, fmt.Errorf("tracking: tracked message %s: %w", msg, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: tracked message %s", ErrNotFound, msg)
	}
	body, err := decodeBody(v)
	if err != nil {
		return nil, fmt.Errorf("tracking: tracked message %s: %w", msg, err)
	}
	return &TrackedMessage{MessageID: msg, InstanceID: bestInst, Recorded: stampTime(bestStamp), Body: body}, nil
}

// withSnapshot runs fn on a snapshot of the live database, once the
// MessageBox's staged records are in.
func (s *Store) withSnapshot(ctx context.Context, fn func(rd reader) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	snap := s.db.NewSnapshot()
	err := fn(reader{r: snap})
	if cerr := snap.Close(); err == nil {
		err = cerr
	}
	return err
}

// Instance implements Querier.
func (s *Store) Instance(ctx context.Context, id uuid.UUID) (inst *Instance, err error) {
	ctx = store.Context(ctx)
	err = s.withSnapshot(ctx, func(rd reader) error { inst, err = rd.instance(ctx, id); return err })
	return inst, err
}

// Instances implements Querier.
func (s *Store) Instances(ctx context.Context, q InstanceQuery) (p *InstancePage, err error) {
	ctx = store.Context(ctx)
	err = s.withSnapshot(ctx, func(rd reader) error { p, err = rd.instances(ctx, q); return err })
	return p, err
}

// MessageEvents implements Querier.
func (s *Store) MessageEvents(ctx context.Context, q MessageEventQuery) (p *MessageEventPage, err error) {
	ctx = store.Context(ctx)
	err = s.withSnapshot(ctx, func(rd reader) error { p, err = rd.messageEvents(ctx, q); return err })
	return p, err
}

// MessageFlow implements Querier.
func (s *Store) MessageFlow(ctx context.Context, messageID uuid.UUID, o *FlowOptions) (f *Flow, err error) {
	ctx = store.Context(ctx)
	err = s.withSnapshot(ctx, func(rd reader) error { f, err = rd.flow(ctx, messageID, uuid.Nil, o); return err })
	return f, err
}

// InstanceFlow implements Querier.
func (s *Store) InstanceFlow(ctx context.Context, instanceID uuid.UUID, o *FlowOptions) (f *Flow, err error) {
	ctx = store.Context(ctx)
	err = s.withSnapshot(ctx, func(rd reader) error { f, err = rd.flow(ctx, uuid.Nil, instanceID, o); return err })
	return f, err
}

// TrackedMessage implements Querier.
func (s *Store) TrackedMessage(ctx context.Context, messageID uuid.UUID) (m *TrackedMessage, err error) {
	ctx = store.Context(ctx)
	err = s.withSnapshot(ctx, func(rd reader) error { m, err = rd.trackedMessage(ctx, messageID); return err })
	return m, err
}
