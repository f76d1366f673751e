package messagebox

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/biztier/biztier/internal/event"
	"github.com/biztier/biztier/internal/keys"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// This file is the MessageBox's side of tracking, as BizTalk does it: every
// operation stages a record of what it changed (its TrackingData) in its
// own commit, so a tracked change commits with the change or not at all
// and the operation pays only for one write; the tracking database takes
// the records in later, in order, in commits of its own (its TDDS), with
// TakeTracking.

// trackEvent is one change, as the operations see it; stage turns it into
// the shared vocabulary.
type trackEvent struct {
	Kind         event.Kind
	At           time.Time
	MessageID    uuid.UUID
	Entry        EntryID
	Subscription uuid.UUID
	Host         string
	Reason       string
	Instance     uuid.UUID
	// Message is the message as published, on event.Published.
	Message *Message
}

// trackData is the staging state. Records are keyed by a sequence number
// taken when the operation plans its commit; commits may reach the log in
// another order, so TakeTracking reads only below the lowest sequence
// number still in flight.
type trackData struct {
	// mu guards everything below.
	mu sync.Mutex
	// next is the next sequence number; cursor the oldest not yet taken.
	next, cursor uint64
	// inflight holds the sequence numbers of staged records whose commit
	// has not ended.
	inflight map[uint64]struct{}
	// staged is signalled (never blocking) when a staged record commits.
	staged chan struct{}
	// names are the port and service of every subscription this store has
	// known, so a record still names them after the subscription is gone.
	names map[uuid.UUID]subNames
}

type subNames struct {
	port, service string
	activation    bool
}

// tracking reports whether changes are staged at all.
func (s *Store) tracking() bool { return s.opts.Tracking != nil }

func trackKey(seq uint64) []byte {
	return keys.AppendUint64(keys.AppendTable(make([]byte, 0, 9), keys.TableTrackingData), seq)
}

// loadTracking finds the staged records a previous run left.
func (s *Store) loadTracking() error {
	t := &s.trk
	t.inflight = make(map[uint64]struct{})
	t.staged = make(chan struct{}, 1)
	t.names = make(map[uuid.UUID]subNames)
	lo, hi := keys.PrefixBounds(tablePrefix(keys.TableTrackingData))
	it, err := s.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	if it.First() {
		t.cursor, err = trackSeq(it.Key())
		if err == nil && it.Last() {
			var last uint64
			if last, err = trackSeq(it.Key()); err == nil {
				t.next = last + 1
			}
		}
	}
	if err == nil {
		err = it.Error()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

func trackSeq(k []byte) (uint64, error) {
	seq, _, err := keys.DecodeUint64(k[1:])
	if err != nil {
		return 0, corruption("tracking data key", err)
	}
	return seq, nil
}

// rememberNames records what subscription sub delivers to, for the records
// of its entries.
func (s *Store) rememberNames(sub *Subscription) {
	if !s.tracking() {
		return
	}
	s.trk.mu.Lock()
	defer s.trk.mu.Unlock()
	s.trk.names[sub.ID] = subNames{port: sub.Port, service: sub.Service, activation: sub.Kind == Activation && sub.Service != ""}
}

// stage adds the record of events to tx's MessageBox batch. The record
// counts as in flight until tx ends.
func (s *Store) stage(tx Tx, events []trackEvent) error {
	if !s.tracking() || len(events) == 0 {
		return nil
	}
	b, err := s.batch(tx)
	if err != nil {
		return err
	}
	var props, bodies bool
	if d := s.opts.Tracking.Detail; d != nil {
		props, bodies = d()
	}
	evs := make([]event.Event, len(events))
	t := &s.trk
	t.mu.Lock()
	for i := range events {
		e := &events[i]
		n := t.names[e.Subscription]
		evs[i] = event.Event{Kind: e.Kind, At: e.At.UnixNano(), MessageID: e.MessageID, Entry: uint64(e.Entry),
			Subscription: e.Subscription, Port: n.port, Service: n.service, Activation: n.activation,
			Host: e.Host, Reason: e.Reason, Instance: e.Instance}
	}
	seq := t.next
	t.next++
	t.inflight[seq] = struct{}{}
	t.mu.Unlock()
	for i := range events {
		if m := events[i].Message; m != nil {
			evs[i].Message = trackedMessage(m, props, bodies)
		}
	}
	ended := func(committed bool) func() {
		return func() {
			t.mu.Lock()
			delete(t.inflight, seq)
			t.mu.Unlock()
			if committed {
				select {
				case t.staged <- struct{}{}:
				default:
				}
			}
		}
	}
	tx.OnCommit(ended(true))
	tx.OnAbort(ended(false))
	buf := recordPool.Get().(*[]byte)
	rec := event.Encode((*buf)[:0], evs)
	err = b.Set(trackKey(seq), rec, nil) // the batch copies rec
	if cap(rec) <= maxPooledRecord {
		*buf = rec[:0]
		recordPool.Put(buf)
	}
	return err
}

// Context properties the receive side writes, which tracking keeps as the
// port, adapter and address of a received message.
var (
	propReceivePortName = CanonicalName("BTS.ReceivePortName")
	propInboundType     = CanonicalName("BTS.InboundTransportType")
	propInboundLocation = CanonicalName("BTS.InboundTransportLocation")
)

// trackedMessage is what a record keeps of a published message.
func trackedMessage(m *Message, props, bodies bool) *event.Message {
	out := &event.Message{}
	for _, p := range m.Parts {
		out.Size += int64(len(p.Body))
	}
	for _, p := range m.Context {
		switch p.Name {
		case propReceivePortName:
			out.ReceivePort = p.Value.Str()
		case propInboundType:
			out.Adapter = p.Value.Str()
		case propInboundLocation:
			out.URL = p.Value.Str()
		}
		if props && p.Promoted {
			out.Properties = append(out.Properties, event.Property{Name: p.Name, Value: valueText(p.Value)})
		}
	}
	if bodies {
		b := &event.Body{}
		for _, p := range m.Context {
			b.Context = append(b.Context, event.Property{Name: p.Name, Value: valueText(p.Value)})
		}
		bp := m.BodyPart()
		if bp != nil {
			b.Parts = append(b.Parts, event.Part{Name: bp.Name, ContentType: bp.ContentType, Data: bp.Body})
		}
		for i := range m.Parts {
			if p := &m.Parts[i]; p != bp {
				b.Parts = append(b.Parts, event.Part{Name: p.Name, ContentType: p.ContentType, Data: p.Body})
			}
		}
		out.Body = b
	}
	return out
}

// valueText renders a context value as tracking keeps it: as text.
func valueText(v Value) string {
	switch v.Type() {
	case TypeInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case TypeFloat64:
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64)
	case TypeBool:
		return strconv.FormatBool(v.Bool())
	case TypeTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	case TypeBytes:
		return hex.EncodeToString(v.Bytes())
	}
	return v.Str()
}

// TakeTracking adds to tx the removal of up to limit staged tracking
// records, oldest first, and returns them (copies): the tracking database
// writes what they describe in the same transaction, so each record is
// taken in exactly once. Only records of committed operations are
// returned, in the order they were staged. Calls must not overlap, and a
// tx that does not commit leaves the records where they were. The records
// are an internal format of this module.
func (s *Store) TakeTracking(tx Tx, limit int) ([][]byte, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	if !s.tracking() {
		return nil, nil
	}
	b, err := s.batch(tx)
	if err != nil {
		return nil, err
	}
	t := &s.trk
	t.mu.Lock()
	from, below := t.cursor, t.next
	for seq := range t.inflight {
		below = min(below, seq)
	}
	t.mu.Unlock()
	if from >= below || limit <= 0 {
		return nil, nil
	}
	it, err := s.r.NewIter(&pebble.IterOptions{LowerBound: trackKey(from), UpperBound: trackKey(below)})
	if err != nil {
		return nil, err
	}
	var (
		out  [][]byte
		last = from
	)
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			err = verr
			break
		}
		if last, err = trackSeq(it.Key()); err != nil {
			break
		}
		out = append(out, append([]byte(nil), v...))
		// Point deletes, not one range tombstone per batch: range
		// tombstones in the memtable slow every read of the MessageBox
		// until they are flushed.
		if err = b.Delete(it.Key(), nil); err != nil {
			break
		}
	}
	if err == nil {
		err = it.Error()
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("messagebox: take tracking data: %w", err)
	}
	end := below
	if len(out) == limit && last < math.MaxUint64 {
		end = last + 1
	}
	// Every record below end that was not read was aborted: the next
	// call starts at end.
	tx.OnCommit(func() {
		t.mu.Lock()
		t.cursor = max(t.cursor, end)
		t.mu.Unlock()
	})
	return out, nil
}

// TrackingBacklog is how many tracking records are staged and not yet
// taken: an upper bound, since a record whose operation aborted leaves a
// number unused.
func (s *Store) TrackingBacklog() uint64 {
	s.trk.mu.Lock()
	defer s.trk.mu.Unlock()
	return s.trk.next - s.trk.cursor
}

// TrackingStaged is signalled when a staged tracking record has
// committed: the tracking database's signal to call TakeTracking. It has
// one reader.
func (s *Store) TrackingStaged() <-chan struct{} { return s.trk.staged }
