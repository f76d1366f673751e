package messagebox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/event"
	"go.opentelemetry.io/otel/attribute"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// Lease is the right to settle one dequeued entry until Expires. After it
// expires the entry is deliverable again and the lease is lost.
type Lease struct {
	// Entry is the leased entry.
	Entry EntryID
	// Token tells this lease from earlier and later leases of the entry;
	// Extend keeps it.
	Token uint64
	// Expires is when the lease ends, on the store's Clock.
	Expires time.Time
}

// Delivery is a dequeued entry: the message, the subscription it was
// routed to, and the lease to settle it with.
type Delivery struct {
	Lease Lease
	// Message is a copy the caller owns.
	Message      *Message
	Subscription uuid.UUID
	Host         string
	Priority     int
	// Attempts counts the failed attempts (Abandon, Fail) so far on the
	// current host.
	Attempts int
	// DeliveryCount counts the times the entry was dequeued, this one
	// included; it survives crashes.
	DeliveryCount int
	// Backup is true when the entry is on its subscription's backup host.
	Backup bool
	// Instance, for an entry routed to a service instance, is that
	// instance with the Data of its last persistence point (nil Data for
	// the activating message of a new instance). Settle the entry with a
	// persistence point (Store.Persist) that lists the lease as consumed.
	Instance *ServiceInstance
}

// promoteLocked makes the entries of h whose delay or lease has passed
// ready.
func (s *Store) promoteLocked(h *hostQueue, now int64) {
	for {
		e := h.timed.peek()
		if e == nil || e.at > now {
			return
		}
		h.timed.remove(e)
		if e.state == stLeased {
			h.leased--
		}
		e.state, e.at, e.token = stReady, 0, 0
		h.ready.push(e)
	}
}

func (s *Store) entryKey(e *entry) []byte {
	return queueKey(nil, e.host.name, e.prio, e.id)
}

func (e *entry) rec() entryRec {
	r := entryRec{msg: e.msg.id, sub: e.sub, flags: e.flags, attempts: e.attempts, deliveries: e.deliveries, reason: e.reason}
	if e.state == stDelayed {
		r.at = e.at
	}
	if e.inst != nil {
		r.inst = e.inst.id
	}
	return r
}

// recAt is rec with e.at as the visible time whatever e's state.
func (e *entry) recAt() entryRec {
	r := e.rec()
	r.at = e.at
	return r
}

// Dequeue leases up to max deliverable entries of host, in priority then
// publish order, for lease. It does not wait: with nothing deliverable it
// returns no deliveries. Each delivery's count is stored before Dequeue
// returns. ErrUnknownHost for an unknown host.
func (s *Store) Dequeue(ctx context.Context, host string, max int, lease time.Duration) ([]*Delivery, error) {
	ctx = store.Context(ctx)
	return s.dequeue(ctx, nil, host, max, lease)
}

// CompleteAndDequeue completes done (as Complete) and dequeues up to max
// entries of host (as Dequeue) in one commit: the loop of a host instance
// that settles one batch and fetches the next pays one fsync instead of
// two. When nothing is deliverable it waits as DequeueWait does, the
// completes already committed. If a lease in done is lost, nothing is
// completed or dequeued (ErrLeaseLost).
func (s *Store) CompleteAndDequeue(ctx context.Context, done []Lease, host string, max int, lease time.Duration) ([]*Delivery, error) {
	ctx = store.Context(ctx)
	d, err := s.dequeue(ctx, done, host, max, lease)
	if err != nil || len(d) > 0 {
		return d, err
	}
	return s.DequeueWait(ctx, host, max, lease)
}

// PublishCompleteAndDequeue publishes msgs (as PublishBatch), completes
// done (as Complete) and dequeues up to max entries of host (as Dequeue),
// all in one commit. It is the step of a messaging service that consumes
// the messages it was given and sends what it made of them, as BizTalk's
// messaging engine settles a batch: the consumed messages leave the queue
// and the new ones enter it together, and the loop pays one fsync per
// batch instead of two. It does not wait: with nothing deliverable it
// returns no deliveries, the publish and the completes committed, and the
// caller waits with DequeueWait.
//
// A message no subscription matches is stored as a routing failure, as
// Publish stores it; its Published entry says Routed false, and it is not
// an error here. Publishing is not throttled: the call settles work as it
// adds it. Errors, with nothing committed: ErrLeaseLost if a lease in done
// is lost, ErrInvalidMessage and ErrDuplicate as PublishBatch, and those
// of Dequeue.
func (s *Store) PublishCompleteAndDequeue(ctx context.Context, msgs []*Message, done []Lease, host string, max int, lease time.Duration) ([]Published, []*Delivery, error) {
	ctx = store.Context(ctx)
	var pend []pendingMsg
	if len(msgs) > 0 {
		var err error
		if pend, err = s.preparePublish(ctx, msgs, s.now()); err != nil {
			return nil, nil, err
		}
		defer release(pend)
	}
	return s.exchange(ctx, done, pend, host, max, lease)
}

// dequeue completes done and leases up to max entries of host, in one
// commit, inside a span.
func (s *Store) dequeue(ctx context.Context, done []Lease, host string, max int, lease time.Duration) ([]*Delivery, error) {
	_, ds, err := s.exchange(ctx, done, nil, host, max, lease)
	return ds, err
}

// exchange publishes pend, completes done and leases up to max entries of
// host, in one commit, inside a span.
func (s *Store) exchange(ctx context.Context, done []Lease, pend []pendingMsg, host string, max int, lease time.Duration) ([]Published, []*Delivery, error) {
	ctx, span := startSpan(ctx, "messagebox.dequeue", func() []attribute.KeyValue {
		return []attribute.KeyValue{attribute.String("messagebox.host", host), attribute.Int("messagebox.completed", len(done)),
			attribute.Int("messagebox.published", len(pend))}
	})
	var (
		res []Published
		ds  []*Delivery
		err error
	)
	for {
		var wait <-chan struct{}
		res, ds, wait, err = s.dequeueOnce(ctx, done, pend, host, max, lease)
		if wait == nil {
			break
		}
		// A message routes to an instance that is ending: try again
		// once it has ended, as Publish does.
		select {
		case <-wait:
			continue
		case <-ctx.Done():
			err = ctx.Err()
		}
		break
	}
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("messagebox.delivered", len(ds)))
	}
	endSpan(span, err)
	return res, ds, err
}

// dequeueOnce is exchange's one attempt. When a message of pend routes to
// an instance whose end is committing it does nothing and returns a
// channel closed once the end has committed.
func (s *Store) dequeueOnce(ctx context.Context, done []Lease, pend []pendingMsg, host string, max int, lease time.Duration) ([]Published, []*Delivery, <-chan struct{}, error) {
	if max <= 0 || lease <= 0 {
		return nil, nil, nil, fmt.Errorf("messagebox: dequeue: max %d and lease %v must be positive", max, lease)
	}
	nowTime := s.now()
	now := nowTime.UnixNano()
	s.mu.Lock()
	if err := s.checkLocked(); err != nil {
		s.mu.Unlock()
		return nil, nil, nil, err
	}
	h := s.mu.hosts[host]
	if h == nil {
		s.mu.Unlock()
		return nil, nil, nil, fmt.Errorf("%w: %q", ErrUnknownHost, host)
	}
	s.promoteLocked(h, now)
	if h.ready.Len() == 0 && len(done) == 0 && len(pend) == 0 {
		s.mu.Unlock()
		return nil, nil, nil, nil
	}
	completed, err := s.takeLeasesLocked(done, now)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, nil, err
	}
	tx, b := s.begin()
	var events []trackEvent
	var pl *publishPlan
	if len(pend) > 0 {
		pl, err = s.planPublishLocked(b, pend, nowTime, &events)
	}
	if err != nil || (pl != nil && pl.wait != nil) {
		s.uncompleteLocked(completed)
		s.mu.Unlock()
		tx.Abort()
		if err != nil {
			return nil, nil, nil, err
		}
		return nil, nil, pl.wait, nil
	}
	dead := s.completeLocked(b, completed, now, &events)
	max = s.deliveryRoomLocked(max)
	if h.held {
		max = 0 // no host instance runs: settle done, deliver nothing
	}
	taken, orphans := s.takeLocked(b, h, max, now, &events)
	s.mu.Unlock()

	if err := s.commit(ctx, tx, events); err != nil {
		s.mu.Lock()
		if pl != nil {
			s.unpublishLocked(pl, pend)
			// The plan may have raised the reserved entry IDs with a
			// write that never committed: the next ID writes it again.
			s.mu.reserved = min(s.mu.reserved, s.mu.seq)
		}
		s.uncompleteLocked(completed)
		s.unholdLocked(orphans)
		for _, e := range taken {
			e.deliveries--
			e.state = stReady
			h.ready.push(e)
			s.releaseHolderLocked(e)
		}
		s.mu.Unlock()
		return nil, nil, nil, err
	}
	s.mu.Lock()
	var res []Published
	if pl != nil {
		s.publishedLocked(pl, now)
		res = pl.res
	}
	s.completedLocked(completed, dead, now)
	for _, o := range orphans {
		o.e.state = stSuspended
		s.mu.suspended[o.e.id] = o.e
	}
	out := s.leaseTakenLocked(h, taken, now+int64(lease))
	s.mu.Unlock()
	s.published.Add(uint64(len(pend)))
	s.completed.Add(uint64(len(completed)))
	s.delivered.Add(uint64(len(taken)))
	if err := s.readDeliveries(out, taken); err != nil {
		return res, nil, nil, err
	}
	return res, out, nil, nil
}

// takeLocked pops up to max entries of h to deliver, writing each one's
// delivery count to b; they are busy until the commit. Entries whose
// subscription is gone are suspended instead (orphans), and those of a
// suspended instance parked.
func (s *Store) takeLocked(b *pebble.Batch, h *hostQueue, max int, now int64, events *[]trackEvent) (taken []*entry, orphans []heldEntry) {
	for len(taken) < max {
		e := h.ready.pop()
		if e == nil {
			break
		}
		if e.inst == nil && s.mu.routing.subs[e.sub] == nil {
			// Its subscription was removed after it was queued (a lease
			// that ran out, a resume before the port came back): suspend
			// it rather than deliver it to a port that does not exist.
			saved := *e
			*events = append(*events, s.suspendLocked(b, e, now, UnsubscribedReason, nil)...)
			e.state = stBusy
			orphans = append(orphans, heldEntry{e: e, saved: saved})
			continue
		}
		if e.inst != nil && e.inst.state == StateSuspendedResumable {
			parkLocked(e, &e.inst.parked)
			continue
		}
		if !s.takeOrderedLocked(e) {
			continue
		}
		e.state = stBusy
		e.deliveries++
		r := e.rec()
		s.mu.buf = queueKey(s.mu.buf[:0], h.name, e.prio, e.id)
		s.mu.vbuf = encodeEntry(s.mu.vbuf[:0], &r)
		_ = b.Set(s.mu.buf, s.mu.vbuf, nil)
		taken = append(taken, e)
		if s.tracking() {
			*events = append(*events, trackEvent{Kind: event.Delivered, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id, Subscription: e.sub, Host: h.name, Instance: e.instID()})
		}
	}
	return taken, orphans
}

// leaseTakenLocked leases taken, committed, until exp and returns their
// deliveries without their messages.
func (s *Store) leaseTakenLocked(h *hostQueue, taken []*entry, exp int64) []*Delivery {
	out := make([]*Delivery, len(taken))
	for i, e := range taken {
		s.mu.token++
		e.state, e.at, e.token = stLeased, exp, s.mu.token
		h.timed.push(e)
		h.leased++
		out[i] = &Delivery{
			Lease:         Lease{Entry: e.id, Token: e.token, Expires: time.Unix(0, exp).UTC()},
			Subscription:  e.sub,
			Host:          h.name,
			Priority:      int(e.prio),
			Attempts:      int(e.attempts),
			DeliveryCount: int(e.deliveries),
			Backup:        e.flags&flagBackup != 0,
		}
		if inst := e.inst; inst != nil {
			if inst.state == StateReadyToRun || inst.state == StateDehydrated {
				inst.state = StateActive
			}
			snap := inst.snapshotLocked()
			out[i].Instance = &snap
		}
	}
	return out
}

// readDeliveries reads the messages (and instance data) of out, the
// deliveries of taken, outside the lock. Two deliveries of one message
// get separate copies.
func (s *Store) readDeliveries(out []*Delivery, taken []*entry) error {
	for i, e := range taken {
		m, err := s.readMessage(e.msg.id)
		if err != nil {
			return err
		}
		out[i].Message = m
		if out[i].Instance != nil {
			data, err := s.readInstanceData(out[i].Instance.ID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			out[i].Instance.Data = data
		}
	}
	return nil
}

// DequeueWait is Dequeue, but when nothing is deliverable it waits until
// something is (a publish, a resume, an abandon delay or a lease running
// out on the store's Clock), ctx is done, or the store is closed. It never
// polls.
func (s *Store) DequeueWait(ctx context.Context, host string, max int, lease time.Duration) ([]*Delivery, error) {
	ctx = store.Context(ctx)
	for {
		s.mu.Lock()
		if err := s.checkLocked(); err != nil {
			s.mu.Unlock()
			return nil, err
		}
		h := s.mu.hosts[host]
		if h == nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %q", ErrUnknownHost, host)
		}
		if h.notify == nil {
			h.notify = make(chan struct{})
		}
		notify := h.notify
		var next int64
		if e := h.timed.peek(); e != nil {
			next = e.at
		}
		// Throttled delivery resumes when leases are settled anywhere.
		var relief chan struct{}
		if s.deliveryThrottleLocked() != ThrottleNone {
			if s.mu.relief == nil {
				s.mu.relief = make(chan struct{})
			}
			relief = s.mu.relief
		}
		s.mu.Unlock()

		d, err := s.Dequeue(ctx, host, max, lease)
		if err != nil || len(d) > 0 {
			return d, err
		}
		var timer <-chan time.Time
		if next != 0 {
			timer = s.opts.Clock.After(time.Duration(next - s.now().UnixNano()))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, ErrClosed
		case <-notify:
		case <-relief:
		case <-timer:
		}
	}
}

// leaseLocked finds the leased entry of l and checks that l still holds
// it.
func (s *Store) leaseLocked(l Lease, now int64) (*entry, error) {
	e := s.mu.entries[l.Entry]
	switch {
	case e == nil:
		return nil, fmt.Errorf("%w: no entry %d", ErrLeaseLost, l.Entry)
	case e.state != stLeased || e.token != l.Token:
		return nil, fmt.Errorf("%w: entry %d is not leased by this lease", ErrLeaseLost, l.Entry)
	case e.at <= now:
		return nil, fmt.Errorf("%w: lease on entry %d expired", ErrLeaseLost, l.Entry)
	}
	return e, nil
}

// takeLeasesLocked validates every lease and marks the entries busy,
// taking them out of their timed heaps. On error nothing is changed.
func (s *Store) takeLeasesLocked(leases []Lease, now int64) ([]*entry, error) {
	if err := s.checkLocked(); err != nil {
		return nil, err
	}
	out := make([]*entry, 0, len(leases))
	for _, l := range leases {
		e, err := s.leaseLocked(l, now)
		if err != nil {
			for _, e := range out {
				e.state = stLeased
			}
			return nil, err
		}
		e.state = stBusy // a duplicate lease in the batch now fails
		out = append(out, e)
	}
	for _, e := range out {
		e.host.timed.remove(e)
		e.host.leased--
	}
	return out, nil
}

// releaseLocked undoes takeLeasesLocked.
func (s *Store) releaseLocked(es []*entry) {
	for _, e := range es {
		e.state = stLeased
		e.host.timed.push(e)
		e.host.leased++
	}
}

// dropRefLocked drops one reference to ms and, if it was the last, adds
// the deletion of the message to b. It returns whether it did.
func dropRefLocked(b *pebble.Batch, ms *msgState) bool {
	ms.refs--
	if ms.refs > 0 {
		return false
	}
	_ = b.Delete(msgKey(ms.id), nil)
	if ms.frag {
		lo, hi := keys.PrefixBounds(fragPrefix(ms.id))
		_ = b.DeleteRange(lo, hi, nil)
	}
	return true
}

// Complete settles leased entries: each is deleted, and a message whose
// last entry goes is deleted in the same commit. All leases must be held
// (else ErrLeaseLost and nothing changes); they commit together.
func (s *Store) Complete(ctx context.Context, leases ...Lease) (err error) {
	ctx = store.Context(ctx)
	if len(leases) == 0 {
		return nil
	}
	ctx, span := startSpan(ctx, "messagebox.settle", settleAttrs("complete", len(leases)))
	defer func() { endSpan(span, err) }()
	now := s.now().UnixNano()
	s.mu.Lock()
	es, err := s.takeLeasesLocked(leases, now)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	tx, b := s.begin()
	var events []trackEvent
	dead := s.completeLocked(b, es, now, &events)
	s.mu.Unlock()
	if err := s.commit(ctx, tx, events); err != nil {
		s.mu.Lock()
		s.uncompleteLocked(es)
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.completedLocked(es, dead, now)
	s.mu.Unlock()
	s.completed.Add(uint64(len(es)))
	return nil
}

// completeLocked adds the deletion of the taken entries es (and of the
// messages whose last reference they are, returned) to b.
func (s *Store) completeLocked(b *pebble.Batch, es []*entry, now int64, events *[]trackEvent) []*msgState {
	var dead []*msgState
	for _, e := range es {
		s.mu.buf = queueKey(s.mu.buf[:0], e.host.name, e.prio, e.id)
		_ = b.Delete(s.mu.buf, nil)
		if dropRefLocked(b, e.msg) {
			dead = append(dead, e.msg)
		}
		if s.tracking() {
			*events = append(*events, trackEvent{Kind: event.Completed, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id, Subscription: e.sub, Host: e.host.name, Instance: e.instID()})
		}
	}
	return dead
}

// uncompleteLocked undoes completeLocked after a failed commit: the
// entries are leased again.
func (s *Store) uncompleteLocked(es []*entry) {
	for _, e := range es {
		e.msg.refs++
	}
	s.releaseLocked(es)
}

// completedLocked forgets completed entries and dead messages after their
// commit.
func (s *Store) completedLocked(es []*entry, dead []*msgState, now int64) {
	for _, e := range es {
		delete(s.mu.entries, e.id)
		if e.inst != nil {
			delete(e.inst.entries, e.id)
		}
		s.releaseHolderLocked(e)
	}
	for _, ms := range dead {
		delete(s.mu.msgs, ms.id)
	}
	if len(es) > 0 {
		s.mu.doneRate.add(now, uint64(len(es)))
		s.reliefLocked()
	}
}

// Extend renews a lease to end d from now and returns the renewed lease.
// It writes nothing.
func (s *Store) Extend(_ context.Context, l Lease, d time.Duration) (Lease, error) {
	if d <= 0 {
		return Lease{}, fmt.Errorf("messagebox: extend: lease %v must be positive", d)
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkLocked(); err != nil {
		return Lease{}, err
	}
	e, err := s.leaseLocked(l, now)
	if err != nil {
		return Lease{}, err
	}
	e.at = now + int64(d)
	e.host.timed.fix(e)
	return Lease{Entry: e.id, Token: e.token, Expires: time.Unix(0, e.at).UTC()}, nil
}

// Abandon gives a leased entry back after a failed attempt: the attempt is
// counted and the entry becomes deliverable after delay. When the attempts
// exceed the subscription's retry count, the entry moves to the
// subscription's backup host (attempts reset) or, without one or when
// already there, is suspended as resumable with reason as its error.
func (s *Store) Abandon(ctx context.Context, l Lease, delay time.Duration, reason string) error {
	ctx, span := startSpan(store.Context(ctx), "messagebox.settle", settleAttrs("abandon", 1))
	err := s.retry(ctx, l, delay, false, reason)
	endSpan(span, err)
	return err
}

// Fail is Abandon with the subscription's retry interval as the delay:
// what a send adapter does when a transmission fails.
func (s *Store) Fail(ctx context.Context, l Lease, reason string) error {
	ctx, span := startSpan(store.Context(ctx), "messagebox.settle", settleAttrs("fail", 1))
	err := s.retry(ctx, l, 0, true, reason)
	endSpan(span, err)
	return err
}

// Suspend moves a leased entry to the suspended queue as resumable, with
// reason as its error.
func (s *Store) Suspend(ctx context.Context, l Lease, reason string) (err error) {
	ctx, span := startSpan(store.Context(ctx), "messagebox.settle", settleAttrs("suspend", 1))
	defer func() { endSpan(span, err) }()
	now := s.now().UnixNano()
	s.mu.Lock()
	es, err := s.takeLeasesLocked([]Lease{l}, now)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	e := es[0]
	saved := *e
	tx, b := s.begin()
	events := s.suspendLocked(b, e, now, reason, nil)
	want := busyLocked(e)
	s.mu.Unlock()
	return s.finishRetry(ctx, tx, events, e, saved, want)
}

// retry implements Abandon and Fail.
func (s *Store) retry(ctx context.Context, l Lease, delay time.Duration, useInterval bool, reason string) error {
	now := s.now().UnixNano()
	s.mu.Lock()
	es, err := s.takeLeasesLocked([]Lease{l}, now)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	e := es[0]
	saved := *e
	tx, b := s.begin()
	policy := *s.opts.Retry
	sub := s.mu.routing.subs[e.sub]
	if sub != nil {
		policy = *sub.Retry
		if e.flags&flagBackup != 0 && sub.BackupRetry != nil {
			policy = *sub.BackupRetry
		}
	}
	if useInterval {
		delay = policy.Interval
	}
	e.attempts++
	e.reason = reason
	var events []trackEvent
	switch {
	case sub == nil && e.inst == nil:
		// Its subscription was removed while it was leased: it has nowhere
		// to go back to.
		events = s.suspendLocked(b, e, now, UnsubscribedReason, nil)
	case int(e.attempts) <= policy.Count:
		s.mu.buf = queueKey(s.mu.buf[:0], e.host.name, e.prio, e.id)
		e.state, e.at = stReady, 0
		if delay > 0 {
			e.state, e.at = stDelayed, now+int64(delay)
		}
		r := e.rec()
		s.mu.vbuf = encodeEntry(s.mu.vbuf[:0], &r)
		_ = b.Set(s.mu.buf, s.mu.vbuf, nil)
		if s.tracking() {
			events = append(events, trackEvent{Kind: event.Retry, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id, Subscription: e.sub, Host: e.host.name, Reason: reason})
		}
		e.state = stBusy
	case e.flags&flagBackup == 0 && sub != nil && sub.BackupHost != "" && s.mu.hosts[sub.BackupHost] != nil:
		_ = b.Delete(s.entryKey(e), nil)
		e.host = s.mu.hosts[sub.BackupHost]
		e.flags |= flagBackup
		e.attempts, e.at = 0, 0
		r := e.rec()
		_ = b.Set(s.entryKey(e), encodeEntry(nil, &r), nil)
		if s.tracking() {
			events = append(events, trackEvent{Kind: event.Backup, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id, Subscription: e.sub, Host: e.host.name, Reason: reason})
		}
	default:
		events = s.suspendLocked(b, e, now, reason, sub)
	}
	want := busyLocked(e)
	s.mu.Unlock()
	return s.finishRetry(ctx, tx, events, e, saved, want)
}

// suspendLocked adds the move of busy entry e to the suspended queue to b
// and sets e's suspended fields.
func (s *Store) suspendLocked(b *pebble.Batch, e *entry, now int64, reason string, sub *subState) []trackEvent {
	if sub == nil {
		sub = s.mu.routing.subs[e.sub]
	}
	_ = b.Delete(s.entryKey(e), nil)
	e.kind = Activation
	if sub != nil {
		e.kind = sub.Kind
	}
	e.flags |= flagResumable
	if sub != nil && sub.Ordered == OrderedSkip && reason != UnsubscribedReason {
		// The sequence goes on without it: BizTalk suspends the failed
		// message of such a port as not resumable. (A message held back by
		// an unenlist failed nothing: it stays resumable.)
		e.flags &^= flagResumable
	}
	e.reason = reason
	e.at = now
	r := entryRec{msg: e.msg.id, sub: e.sub, flags: e.flags, attempts: e.attempts, deliveries: e.deliveries,
		at: now, reason: reason, host: e.host.name, prio: e.prio, kind: uint8(e.kind)}
	if e.inst != nil {
		r.inst = e.inst.id
	}
	_ = b.Set(suspKey(e.id), encodeSuspended(&r), nil)
	e.state = stSuspended
	if s.tracking() {
		return []trackEvent{{Kind: event.Suspended, At: time.Unix(0, now), MessageID: e.msg.id, Entry: e.id, Subscription: e.sub, Host: e.host.name, Reason: reason}}
	}
	return nil
}

// busyLocked marks e, whose new fields are set, busy while its change
// commits, and returns the state it enters after the commit: e.state if
// suspended, otherwise ready or delayed by e.at.
func busyLocked(e *entry) entryState {
	want := e.state
	if want != stSuspended {
		want = stReady
		if e.at != 0 {
			want = stDelayed
		}
	}
	e.state = stBusy
	return want
}

// finishRetry commits the change prepared for e and applies it (e enters
// state want), or restores saved on failure.
func (s *Store) finishRetry(ctx context.Context, tx Txn, events []trackEvent, e *entry, saved entry, want entryState) error {
	err := s.commit(ctx, tx, events)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		*e = saved
		e.state = stBusy
		s.releaseLocked([]*entry{e})
		return err
	}
	s.reliefLocked() // a lease was given back
	switch want {
	case stSuspended:
		e.state = stSuspended
		s.mu.suspended[e.id] = e
		if e.flags&flagResumable == 0 {
			s.releaseHolderLocked(e)
		}
	case stDelayed:
		e.state = stDelayed
		e.host.timed.push(e)
		e.host.wakeLocked()
	default:
		e.state, e.at = stReady, 0
		e.host.ready.push(e)
		e.host.wakeLocked()
	}
	return nil
}

// instID is the ID of the service instance e is routed to, or zero.
func (e *entry) instID() uuid.UUID {
	if e.inst == nil {
		return uuid.Nil
	}
	return e.inst.id
}
