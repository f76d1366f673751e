package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
)

// Service runs one step of an orchestration instance: d carries the
// message and the instance with the state of its last persistence point.
// It returns the persistence point that ends the step; the host instance
// sets its Instance, adds d's lease to Consumed and commits it. An error
// fails the entry by its retry policy, committing nothing.
type Service func(ctx context.Context, d *messagebox.Delivery) (messagebox.PersistPoint, error)

// busyRetries is how often a persistence point refused with
// ErrInstanceBusy is tried again, after busyBackoff doubling each time,
// before its entry is abandoned. Another step of the instance is
// committing: that takes a commit's time, a millisecond or a few.
const (
	busyRetries = 10
	busyBackoff = 500 * time.Microsecond
)

// stoppingReason is the reason of entries abandoned by a stop.
const stoppingReason = "host instance stopping"

// handle runs one delivery and settles its entry.
func (i *Instance) handle(d *messagebox.Delivery) {
	if d.Instance != nil {
		i.runService(d)
		return
	}
	var (
		port string
		err  error
	)
	if tg, ok := i.targets.lookup(d.Subscription); !ok || tg.port == nil {
		err = fmt.Errorf("%w: subscription %s", ErrNoPort, d.Subscription)
	} else {
		port = tg.port.Name
		err = i.send(d, tg.port)
	}
	l := i.leaseOf(d)
	if !i.finish(l.Entry) {
		return
	}
	if err != nil {
		i.settleFailure(d, l, port, err)
		return
	}
	i.stats.sent.Add(1)
	i.completeLater(l)
}

// leaseOf is the latest lease of a finished delivery.
func (i *Instance) leaseOf(d *messagebox.Delivery) messagebox.Lease {
	l := d.Lease
	i.mu.Lock()
	if cur := i.inflight[l.Entry]; cur != nil {
		l = *cur
	}
	i.mu.Unlock()
	return l
}

// send runs the port's send pipeline and transmits what it returns.
func (i *Instance) send(d *messagebox.Delivery, p *mgmt.SendPort) error {
	t, err := transportOf(p, d)
	if err != nil {
		return err
	}
	a, ok := i.opts.Adapters.Sender(t.Type)
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoAdapter, t.Type)
	}
	pipe, err := i.opts.Pipelines.Get(p.SendPipeline.Name)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	// The send continues the trace the message carries from its publish.
	ctx := messagebox.TraceContext(i.handlerCtx, d.Message)
	msgs, err := pipe.Run(ctx, d.Message)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	for _, m := range msgs {
		if err := a.Send(ctx, t, m); err != nil {
			return err
		}
	}
	return nil
}

// transportOf is the transport a delivery goes out on: the backup
// transport once the entry has moved there, the primary otherwise, or for
// a dynamic port the address and type the message carries.
func transportOf(p *mgmt.SendPort, d *messagebox.Delivery) (*Transport, error) {
	if p.Dynamic {
		loc, _ := d.Message.Property(PropOutboundTransportLocation)
		typ, _ := d.Message.Property(PropOutboundTransportType)
		if loc.Value.Str() == "" || typ.Value.Str() == "" {
			return nil, fmt.Errorf("%w: dynamic port %s: the message has no %s and %s",
				ErrPermanent, p.Name, PropOutboundTransportLocation, PropOutboundTransportType)
		}
		return &Transport{Port: p.Name, Type: typ.Value.Str(), Address: loc.Value.Str()}, nil
	}
	tr := p.Primary
	if d.Backup && p.Backup != nil && p.Backup.Adapter != "" {
		tr = p.Backup
	}
	if tr == nil || tr.Adapter == "" {
		return nil, fmt.Errorf("%w: send port %s has no transport", ErrPermanent, p.Name)
	}
	return &Transport{Port: p.Name, Type: tr.Adapter, Address: tr.Address, Data: tr.TransportData, Backup: d.Backup}, nil
}

// settleFailure settles a failed entry: abandoned if the failure came from
// the stop cancelling its handler, suspended at once for a permanent
// failure, failed by the retry policy otherwise.
func (i *Instance) settleFailure(d *messagebox.Delivery, l messagebox.Lease, port string, cause error) {
	ctx := context.WithoutCancel(i.handlerCtx)
	var err error
	switch {
	case i.handlerCtx.Err() != nil:
		err = i.mb.Abandon(ctx, l, 0, stoppingReason)
		i.stats.abandoned.Add(1)
	case errors.Is(cause, ErrPermanent):
		err = i.mb.Suspend(ctx, l, cause.Error())
		i.stats.suspended.Add(1)
	default:
		err = i.mb.Fail(ctx, l, cause.Error())
		i.stats.failed.Add(1)
	}
	i.report(&Error{Op: "send", Host: i.host, Port: port, Entry: l.Entry, Message: d.Message.ID, Err: cause})
	if err != nil {
		i.report(&Error{Op: "settle", Host: i.host, Port: port, Entry: l.Entry, Message: d.Message.ID, Err: err})
	}
}

// runService runs an orchestration step and commits its persistence
// point.
func (i *Instance) runService(d *messagebox.Delivery) {
	var (
		p   messagebox.PersistPoint
		err = fmt.Errorf("%w: %q", ErrNoService, d.Instance.Service)
	)
	// The step continues the trace of the message that woke it, and so
	// does its persistence point (and what it publishes).
	traced := messagebox.TraceContext(i.handlerCtx, d.Message)
	if svc := i.opts.Services[d.Instance.Service]; svc != nil {
		p, err = svc(traced, d)
	}
	l := i.leaseOf(d)
	if !i.finish(l.Entry) {
		return
	}
	if err != nil {
		i.settleFailure(d, l, d.Instance.Service, err)
		return
	}
	p.Instance = d.Instance.ID
	p.Consumed = append(p.Consumed, l)
	ctx := context.WithoutCancel(traced)
	var res messagebox.PersistResult
	for try := 0; ; try++ {
		res, err = i.mb.Persist(ctx, p)
		if !errors.Is(err, messagebox.ErrInstanceBusy) || try == busyRetries {
			break
		}
		// Real time, not Options.Clock: this waits for a commit in
		// progress, not for anything the application schedules.
		time.Sleep(busyBackoff << try)
	}
	// Messages still routed to an instance its step completed (queued, or
	// held by another step, which gets ErrZombie) were suspended as
	// zombies by the same commit.
	i.stats.zombies.Add(int64(len(res.Zombies)))
	rep := &Error{Op: "persist", Host: i.host, Port: d.Instance.Service, Entry: l.Entry, Message: d.Message.ID, Err: err}
	switch {
	case err == nil:
		i.stats.steps.Add(1)
	case errors.Is(err, messagebox.ErrNoSubscribers):
		// Committed; what it published that nothing wanted is suspended.
		i.stats.steps.Add(1)
		i.report(rep)
	case errors.Is(err, messagebox.ErrZombie):
		// The instance had already completed: the MessageBox suspended
		// the message as a zombie (counted by the completing step).
		// Nothing to undo.
		i.report(rep)
	case errors.Is(err, messagebox.ErrInstanceBusy):
		i.report(rep)
		if aerr := i.mb.Abandon(ctx, l, 0, err.Error()); aerr != nil {
			i.report(&Error{Op: "settle", Host: i.host, Entry: l.Entry, Err: aerr})
		}
	case errors.Is(err, messagebox.ErrLeaseLost), errors.Is(err, messagebox.ErrNotFound):
		// The lease ran out or the instance was terminated: the entry is
		// no longer this instance's to settle.
		i.report(rep)
	default:
		i.report(rep)
		if ferr := i.mb.Fail(ctx, l, err.Error()); ferr != nil {
			i.report(&Error{Op: "settle", Host: i.host, Entry: l.Entry, Err: ferr})
		}
	}
}
