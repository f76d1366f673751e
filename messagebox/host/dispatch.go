package host

import (
	"context"
	"errors"

	"github.com/biztier/biztier/messagebox"
)

// dispatch is the dequeue loop: whenever a worker is idle it leases up to
// BatchSize entries, completing the leases of finished handlers in the same
// commit (CompleteAndDequeue), and queues them for the workers. Entries are
// leased in batches, not one per free worker, so that a commit carries many
// of them; at most BatchSize wait for a worker at a time.
func (i *Instance) dispatch() {
	defer i.dispatchWG.Done()
	defer close(i.work)
	for {
		if !i.waitRoom() {
			return
		}
		i.mu.Lock()
		done := i.pending
		i.pending = nil
		i.inDequeue = true
		i.mu.Unlock()
		ds, err := i.mb.CompleteAndDequeue(i.dequeueCtx, done, i.host, i.opts.BatchSize, i.opts.Lease)
		i.mu.Lock()
		i.inDequeue = false
		i.mu.Unlock()
		if err != nil {
			if !i.dequeueFailed(done, err) {
				return
			}
			continue
		}
		i.stats.completed.Add(int64(len(done)))
		i.mu.Lock()
		i.outstanding += len(ds)
		for _, d := range ds {
			l := d.Lease
			i.inflight[l.Entry] = &l
		}
		i.mu.Unlock()
		for _, d := range ds {
			i.work <- d // never blocks: room was made for a whole batch
		}
	}
}

// dequeueFailed handles a failed CompleteAndDequeue and reports whether
// the loop goes on.
func (i *Instance) dequeueFailed(done []messagebox.Lease, err error) bool {
	switch {
	case i.dequeueCtx.Err() != nil:
		// Stopping. The completes may have committed before the wait
		// was cut short; the final flush finds out.
		i.mu.Lock()
		i.ambiguous = append(i.ambiguous, done...)
		i.mu.Unlock()
		return false
	case errors.Is(err, messagebox.ErrLeaseLost):
		// One lease of the batch was lost (it ran out and the entry went
		// to another delivery): complete the others one by one.
		i.completeEach(context.WithoutCancel(i.dequeueCtx), done)
		return true
	case errors.Is(err, messagebox.ErrClosed), errors.Is(err, messagebox.ErrFailed):
		i.mu.Lock()
		i.ambiguous = append(i.ambiguous, done...)
		i.mu.Unlock()
		i.fail(err)
		return false
	default:
		// Nothing was committed: the leases complete with the next batch.
		i.mu.Lock()
		i.pending = append(i.pending, done...)
		i.mu.Unlock()
		i.report(&Error{Op: "dequeue", Host: i.host, Err: err})
		select {
		case <-i.opts.Clock.After(i.opts.Lease / 30):
		case <-i.dequeueCtx.Done():
		}
		return true
	}
}

// waitRoom waits until a worker is idle. It returns false once the
// instance is stopping.
func (i *Instance) waitRoom() bool {
	for {
		i.mu.Lock()
		room := i.outstanding < i.opts.Concurrency
		i.mu.Unlock()
		if room {
			return true
		}
		select {
		case <-i.room:
		case <-i.dequeueCtx.Done():
			return false
		}
	}
}

// worker runs queued deliveries until the dequeue loop ends. A delivery
// still queued when the instance stops is abandoned unrun.
func (i *Instance) worker() {
	defer i.handlerWG.Done()
	for d := range i.work {
		if i.dequeueCtx.Err() != nil {
			i.abandonUnrun(d)
		} else {
			i.handle(d)
		}
		i.mu.Lock()
		i.outstanding--
		i.mu.Unlock()
		select {
		case i.room <- struct{}{}:
		default:
		}
	}
}

// abandonUnrun gives back an entry the instance leased but did not start
// before it stopped.
func (i *Instance) abandonUnrun(d *messagebox.Delivery) {
	l := i.leaseOf(d)
	if !i.finish(l.Entry) {
		return
	}
	i.stats.abandoned.Add(1)
	if err := i.mb.Abandon(context.WithoutCancel(i.handlerCtx), l, 0, stoppingReason); err != nil {
		i.report(&Error{Op: "settle", Host: i.host, Entry: l.Entry, Err: err})
	}
}

// finish ends a handler's entry. It returns false if the shutdown gave up
// on it: then it must settle nothing, its lease runs out instead.
func (i *Instance) finish(e messagebox.EntryID) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.inflight, e)
	return !i.gaveUp
}

// completeLater queues a finished entry's lease for completion with the
// next dequeue (or by the settler while the dequeue waits).
func (i *Instance) completeLater(l messagebox.Lease) {
	i.mu.Lock()
	i.pending = append(i.pending, l)
	waiting := i.inDequeue
	i.mu.Unlock()
	if waiting {
		i.signalSettler()
	}
}

// signalSettler wakes the settler without blocking.
func (i *Instance) signalSettler() {
	select {
	case i.settleSignal <- struct{}{}:
	default:
	}
}

// settler completes pending leases while the dequeue loop waits for work,
// so that a finished entry is not held until the next one arrives.
func (i *Instance) settler() {
	defer i.backWG.Done()
	ctx := context.WithoutCancel(i.dequeueCtx)
	for {
		select {
		case <-i.settleSignal:
		case <-i.drained:
			return
		}
		i.mu.Lock()
		if !i.inDequeue {
			i.mu.Unlock()
			continue
		}
		done := i.pending
		i.pending = nil
		i.mu.Unlock()
		if len(done) == 0 {
			continue
		}
		err := i.mb.Complete(ctx, done...)
		if err == nil {
			i.stats.completed.Add(int64(len(done)))
		} else {
			if errors.Is(err, messagebox.ErrLeaseLost) {
				i.completeEach(ctx, done)
				continue
			}
			i.mu.Lock()
			i.ambiguous = append(i.ambiguous, done...)
			i.mu.Unlock()
			i.report(&Error{Op: "settle", Host: i.host, Err: err})
		}
	}
}

// completeEach completes leases one by one after a batch lost one, and
// reports the lost ones: their entries were delivered again, so their
// messages may be sent twice (at-least-once delivery).
func (i *Instance) completeEach(ctx context.Context, leases []messagebox.Lease) {
	for _, l := range leases {
		if err := i.mb.Complete(ctx, l); err != nil {
			i.report(&Error{Op: "settle", Host: i.host, Entry: l.Entry, Err: err})
		} else {
			i.stats.completed.Add(1)
		}
	}
}

// flushFinal completes what the handlers finished before the instance
// stops. Leases whose completion is uncertain (a commit cut short by the
// stop) are completed one by one; a lost lease there is one that was
// already completed.
func (i *Instance) flushFinal() {
	i.mu.Lock()
	done, unsure := i.pending, i.ambiguous
	i.pending, i.ambiguous = nil, nil
	i.mu.Unlock()
	ctx := context.WithoutCancel(i.dequeueCtx)
	if len(done) > 0 {
		err := i.mb.Complete(ctx, done...)
		switch {
		case err == nil:
			i.stats.completed.Add(int64(len(done)))
		case errors.Is(err, messagebox.ErrLeaseLost):
			unsure = append(unsure, done...)
		default:
			i.report(&Error{Op: "settle", Host: i.host, Err: err})
		}
	}
	if len(unsure) > 1 {
		// Most often none of them was committed: try them in one commit.
		if err := i.mb.Complete(ctx, unsure...); err == nil {
			i.stats.completed.Add(int64(len(unsure)))
			unsure = nil
		}
	}
	for _, l := range unsure {
		err := i.mb.Complete(ctx, l)
		if err == nil {
			i.stats.completed.Add(1)
		} else if !errors.Is(err, messagebox.ErrLeaseLost) {
			i.report(&Error{Op: "settle", Host: i.host, Entry: l.Entry, Err: err})
		}
	}
}

// extender renews the leases of running handlers before they run out.
func (i *Instance) extender() {
	defer i.backWG.Done()
	every := i.opts.Lease / 3
	for {
		select {
		case <-i.opts.Clock.After(every):
		case <-i.drained:
			return
		}
		now := i.opts.Clock.Now()
		i.mu.Lock()
		var due []messagebox.Lease
		for _, l := range i.inflight {
			if l.Expires.Sub(now) < 2*every {
				due = append(due, *l)
			}
		}
		i.mu.Unlock()
		for _, l := range due {
			nl, err := i.mb.Extend(i.handlerCtx, l, i.opts.Lease)
			if err != nil {
				i.report(&Error{Op: "extend", Host: i.host, Entry: l.Entry, Err: err})
				continue
			}
			i.mu.Lock()
			if cur := i.inflight[l.Entry]; cur != nil && cur.Token == nl.Token {
				*cur = nl
			}
			i.mu.Unlock()
		}
	}
}
