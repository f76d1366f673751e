package bam

import (
	"context"
	"fmt"
	"github.com/biztier/biztier/internal/store"
)

// streamKind is how an EventStream's events reach the database.
type streamKind uint8

const (
	direct streamKind = iota + 1
	buffered
	inTx
)

// EventStream writes BAM events, as BizTalk's event stream classes do. Its
// methods validate each event against the deployed activity at once (an
// unknown activity, checkpoint or a value of the wrong type is an error
// then, naming the checkpoint); when the event reaches the activity tables
// depends on the kind of stream:
//
//   - a direct stream (Store.DirectStream) folds events into the instance
//     records synchronously, in its own commit: with a flush threshold of 0
//     on Flush only, 1 at each event, N every N events;
//   - a buffered stream (Store.BufferedStream) commits events to the spool
//     at the same thresholds; the decoder moves them into the tables
//     shortly after, in order (Store.WaitCaughtUp waits for it);
//   - an orchestration stream (Store.OrchestrationStream) and a messaging
//     stream (Store.MessagingStream) write each event into the spool as
//     part of a caller's transaction: the persistence point of the
//     orchestration, or the publish of the message the events describe.
//     They commit with it or not at all; Flush and Clear do nothing.
//
// An EventStream is not safe for concurrent use.
type EventStream struct {
	s         *Store
	kind      streamKind
	tx        Tx
	threshold int
	buf       []*event
}

// DirectStream returns a direct stream (BizTalk's DirectEventStream) with
// the given flush threshold: 0 folds on Flush only, 1 at every event, N
// whenever N events are waiting. A negative threshold is taken as 0.
func (s *Store) DirectStream(flushThreshold int) *EventStream {
	return &EventStream{s: s, kind: direct, threshold: max(flushThreshold, 0)}
}

// BufferedStream returns a buffered stream (BizTalk's BufferedEventStream):
// events are committed to the spool at the flush threshold (as
// DirectStream's) in a commit of their own, and moved into the activity
// tables by the decoder. High throughput, a little latency, nothing lost
// on a crash once a flush has returned.
func (s *Store) BufferedStream(flushThreshold int) *EventStream {
	return &EventStream{s: s, kind: buffered, threshold: max(flushThreshold, 0)}
}

// OrchestrationStream returns the stream of an orchestration's persistence
// point (BizTalk's OrchestrationEventStream): its events join tx (the
// persistence point's transaction) and are moved into the activity tables
// by the decoder once tx commits; if tx aborts they never were.
func (s *Store) OrchestrationStream(tx Tx) *EventStream {
	return &EventStream{s: s, kind: inTx, tx: tx}
}

// MessagingStream returns the stream of a message's publish (BizTalk's
// MessagingEventStream, a pipeline's GetEventStream): its events join tx,
// the transaction that publishes the message, and count only if it
// commits.
func (s *Store) MessagingStream(tx Tx) *EventStream {
	return &EventStream{s: s, kind: inTx, tx: tx}
}

// BeginActivity starts an activity instance (a record in the Active table).
// id is unique within the activity. A continuation segment does not begin:
// it updates and ends through its token.
func (es *EventStream) BeginActivity(ctx context.Context, activity, id string) error {
	ev, err := es.s.newEvent(evBegin, activity, id)
	if err != nil {
		return err
	}
	return es.put(ctx, ev)
}

// UpdateActivity sets checkpoints of an instance, given as name, value
// pairs: a time.Time for a milestone (DATETIME), a string for NVARCHAR
// (at most its length), a Go integer for INT, a Go number for FLOAT, a
// decimal string or number for DECIMAL. A nil value is skipped, as BAM
// does. A wrong name or type is a *CheckpointError.
func (es *EventStream) UpdateActivity(ctx context.Context, activity, id string, nameValues ...any) error {
	ev, err := es.s.newEvent(evUpdate, activity, id)
	if err != nil {
		return err
	}
	if ev.fields, err = es.s.fields(activity, nameValues); err != nil {
		return err
	}
	return es.put(ctx, ev)
}

// EnableContinuation lets another part of the process (another application,
// orchestration or port) continue the instance under token: it updates and
// ends its segment with token as the ID. The instance completes only when
// its main segment and every continuation segment have ended. id may itself
// be a token, to continue a continuation (PO, then SO, then shipment).
// A token continues one instance: one that already continues another, or
// that names a begun instance, fails the fold with ErrInvalidEvent (the
// direct stream's Flush returns it; the decoder keeps such an event aside,
// see FailedEvents).
func (es *EventStream) EnableContinuation(ctx context.Context, activity, id, token string) error {
	ev, err := es.s.newEvent(evEnableContinuation, activity, id)
	if err != nil {
		return err
	}
	if token == "" || token == id {
		return fmt.Errorf("%w: continuation token %q for ID %q", ErrInvalidEvent, token, id)
	}
	ev.token = token
	return es.put(ctx, ev)
}

// AddReference links an instance to something: a document, a URL, another
// instance. It does not hold the instance open.
func (es *EventStream) AddReference(ctx context.Context, activity, id string, ref Reference) error {
	ev, err := es.s.newEvent(evReference, activity, id)
	if err != nil {
		return err
	}
	if ref.Type == "" {
		return fmt.Errorf("%w: a reference needs a type", ErrInvalidEvent)
	}
	ev.ref = ref
	return es.put(ctx, ev)
}

// AddRelatedActivity links an instance to an instance of another (or the
// same) activity: a reference of type "Activity". Unlike a continuation it
// does not hold the instance open.
func (es *EventStream) AddRelatedActivity(ctx context.Context, activity, id, relatedActivity, relatedID string) error {
	if relatedActivity == "" || relatedID == "" {
		return fmt.Errorf("%w: a related activity needs a name and an ID", ErrInvalidEvent)
	}
	return es.AddReference(ctx, activity, id, Reference{Type: "Activity", Name: relatedActivity, Data: relatedID})
}

// EndActivity ends a segment: the main one for the instance's ID, a
// continuation segment for a token.
func (es *EventStream) EndActivity(ctx context.Context, activity, id string) error {
	ev, err := es.s.newEvent(evEnd, activity, id)
	if err != nil {
		return err
	}
	return es.put(ctx, ev)
}

// Flush writes the events waiting in a direct or buffered stream, in one
// commit. If it fails they stay waiting, to be flushed again or cleared.
func (es *EventStream) Flush(ctx context.Context) error {
	if len(es.buf) == 0 {
		return nil
	}
	var err error
	switch es.kind {
	case direct:
		err = es.s.applyDirect(ctx, es.buf)
	case buffered:
		err = es.s.spoolOwn(ctx, es.buf)
	}
	if err == nil {
		clear(es.buf)
		es.buf = es.buf[:0]
	}
	return err
}

// Clear drops the events waiting in a direct or buffered stream.
func (es *EventStream) Clear() {
	clear(es.buf)
	es.buf = es.buf[:0]
}

// Pending is the number of events waiting for a flush.
func (es *EventStream) Pending() int { return len(es.buf) }

func (es *EventStream) put(ctx context.Context, ev *event) error {
	if es.kind == inTx {
		return es.s.spoolTx(es.tx, []*event{ev})
	}
	es.buf = append(es.buf, ev)
	if es.threshold > 0 && len(es.buf) >= es.threshold {
		return es.Flush(ctx)
	}
	return nil
}

// newEvent checks the store, the activity and the ID.
func (s *Store) newEvent(kind eventKind, activity, id string) (*event, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.cat.Load().acts[activity] == nil {
		return nil, fmt.Errorf("%w: activity %s", ErrNotDeployed, activity)
	}
	if id == "" {
		return nil, fmt.Errorf("%w: empty activity ID", ErrInvalidEvent)
	}
	return &event{kind: kind, activity: activity, id: id, at: s.now()}, nil
}

// fields types name, value pairs by the activity's checkpoints.
func (s *Store) fields(activity string, nameValues []any) ([]field, error) {
	if len(nameValues)%2 != 0 {
		return nil, fmt.Errorf("%w: UpdateActivity takes name, value pairs; got %d arguments", ErrInvalidEvent, len(nameValues))
	}
	act := s.cat.Load().acts[activity]
	out := make([]field, 0, len(nameValues)/2)
	for i := 0; i < len(nameValues); i += 2 {
		name, ok := nameValues[i].(string)
		if !ok {
			return nil, fmt.Errorf("%w: argument %d is a %T, not a checkpoint name", ErrInvalidEvent, i, nameValues[i])
		}
		cp := act.cps[name]
		if cp == nil {
			return nil, &CheckpointError{Activity: activity, Checkpoint: name, Err: ErrUnknownCheckpoint}
		}
		if nameValues[i+1] == nil {
			continue
		}
		v, err := coerce(cp, nameValues[i+1])
		if err != nil {
			return nil, &CheckpointError{Activity: activity, Checkpoint: name, Err: err}
		}
		out = append(out, field{name, v})
	}
	return out, nil
}

// applyDirect folds events into the tables in one commit of BAM's own.
func (s *Store) applyDirect(ctx context.Context, evs []*event) error {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	f := newFolder(s, s.cat.Load())
	for _, ev := range evs {
		if err := f.apply(ev); err != nil {
			return err
		}
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := f.write(b); err != nil {
		return err
	}
	_, err := tx.Commit(ctx)
	return err
}

// CompleteInstance completes an instance by hand, whatever its segments
// say: after a restore, instances that began before the backup and ended
// after it stay active (BizTalk's bam_<A>_PrimaryImport with
// @IsComplete=1). It fails with ErrNotFound if the instance has no record.
func (s *Store) CompleteInstance(ctx context.Context, activity, id string) error {
	ev, err := s.newEvent(evComplete, activity, id)
	if err != nil {
		return err
	}
	if _, err := s.Instance(ctx, activity, id); err != nil {
		return err
	}
	return s.applyDirect(ctx, []*event{ev})
}
