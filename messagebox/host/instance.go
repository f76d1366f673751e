package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
)

// Instance is a running host instance: BizTalk's host process for one host
// on one server. It dequeues the host's queue and runs what each entry is
// for (a send port's transport, an orchestration service's step), and runs
// the receive locations whose receive handler is the host. It is safe for
// concurrent use.
type Instance struct {
	g    *biztier.Group
	mb   *messagebox.Store
	mg   *mgmt.Store
	host string
	ref  mgmt.Ref
	key  string
	opts Options

	// recvCtx ends the receive locations, dequeueCtx the dequeue loop,
	// handlerCtx the running handlers (at the shutdown deadline).
	recvCtx, dequeueCtx, handlerCtx       context.Context
	stopRecv, stopDequeue, stopHandlers   context.CancelFunc
	stopOnce                              sync.Once
	stopping                              chan struct{}
	done                                  chan struct{}
	recvWG, dispatchWG, handlerWG, backWG sync.WaitGroup
	// work queues leased deliveries for the workers; room tells the
	// dequeue loop that a worker went idle.
	work         chan *messagebox.Delivery
	room         chan struct{}
	settleSignal chan struct{}
	drained      chan struct{}
	targets      *targets
	stats        counters

	// mu guards the fields below it.
	mu sync.Mutex
	// pending are leases whose handlers succeeded, not yet completed.
	pending []messagebox.Lease
	// inDequeue is set while the dequeue loop is inside
	// CompleteAndDequeue, which may wait: pending leases are then
	// completed by the settler instead.
	inDequeue bool
	// ambiguous are leases passed to a CompleteAndDequeue that failed:
	// they may or may not have been completed.
	ambiguous []messagebox.Lease
	// inflight maps each leased entry, queued or running, to its current
	// lease; outstanding counts them.
	inflight    map[messagebox.EntryID]*messagebox.Lease
	outstanding int
	// gaveUp is set once the shutdown stopped waiting for handlers:
	// handlers returning later settle nothing.
	gaveUp bool
	// err is the instance's final error.
	err error
}

// running lists the host instances this process runs, by group, host and
// server: Management's state says Running after a crash too, so it cannot
// tell a second Start from a restart.
var running sync.Map

// Start starts the host instance of host on opts.Server: it records the
// instance in Management (created if need be) as running, which releases
// the host's queue, starts the host's receive locations that accept
// messages, and dequeues the host's queue until ctx is done or Stop is
// called. Then it stops gracefully: receive locations stop first, no more
// entries are dequeued, running handlers get Options.ShutdownTimeout to
// finish (then their contexts are cancelled and their entries abandoned),
// completed entries are committed, and the instance is recorded as
// stopped. Done is closed at the end. A process that dies leaves its
// instance recorded as running (as a BizTalk service that will be
// restarted): its leases run out, and the next Start of the same host and
// server carries on.
//
// Errors: ErrUnknownHost, ErrRunning, or the group's (ErrClosed).
func Start(ctx context.Context, g *biztier.Group, host string, opts *Options) (*Instance, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	o := opts.withDefaults()
	mb, err := g.MessageBox()
	if err != nil {
		return nil, err
	}
	mg, err := g.Management()
	if err != nil {
		return nil, err
	}
	if _, err := mg.Host(host); errors.Is(err, mgmt.ErrNotFound) {
		if !slices.Contains(mb.Hosts(), host) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownHost, host)
		}
		// A host made in the MessageBox alone (subscriptions made by
		// hand) gets its Management record, so that its instance has one.
		if err := mg.Update(ctx, func(tx *mgmt.Tx) error { return tx.PutHost(&mgmt.Host{Name: host}) }); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	hi := &mgmt.HostInstance{Host: host, Server: o.Server}
	i := &Instance{
		g: g, mb: mb, mg: mg, host: host, opts: o,
		ref:          mgmt.Ref{Kind: mgmt.KindHostInstance, Name: hi.Name()},
		key:          g.ID().String() + "/" + hi.Name(),
		stopping:     make(chan struct{}),
		done:         make(chan struct{}),
		work:         make(chan *messagebox.Delivery, o.BatchSize+o.Concurrency),
		room:         make(chan struct{}, 1),
		settleSignal: make(chan struct{}, 1),
		drained:      make(chan struct{}),
		inflight:     map[messagebox.EntryID]*messagebox.Lease{},
	}
	if _, loaded := running.LoadOrStore(i.key, i); loaded {
		return nil, fmt.Errorf("%w: %s", ErrRunning, hi.Name())
	}
	if err := mb.CreateHost(ctx, host); err != nil {
		running.Delete(i.key)
		return nil, err
	}
	err = mg.Update(ctx, func(tx *mgmt.Tx) error {
		if err := tx.PutHostInstance(hi); err != nil {
			return err
		}
		return tx.Start(i.ref)
	})
	if err != nil {
		running.Delete(i.key)
		return nil, err
	}
	i.targets = newTargets(mg)
	base := context.WithoutCancel(ctx)
	i.recvCtx, i.stopRecv = context.WithCancel(base)
	i.dequeueCtx, i.stopDequeue = context.WithCancel(base)
	i.handlerCtx, i.stopHandlers = context.WithCancel(base)

	i.backWG.Add(2)
	go i.settler()
	go i.extender()
	i.handlerWG.Add(o.Concurrency)
	for range o.Concurrency {
		go i.worker()
	}
	i.dispatchWG.Add(1)
	go i.dispatch()
	i.recvWG.Add(1)
	go i.receivers()
	go func() {
		select {
		case <-ctx.Done():
			i.beginStop()
		case <-i.stopping:
		}
	}()
	go i.shutdown()
	return i, nil
}

// Host is the instance's host.
func (i *Instance) Host() string { return i.host }

// Name is the instance's Management name, "host/server".
func (i *Instance) Name() string { return i.ref.Name }

// Done is closed once the instance has stopped.
func (i *Instance) Done() <-chan struct{} { return i.done }

// Err is nil while the instance runs and after a clean stop;
// ErrShutdownTimeout if handlers outlived the shutdown deadline; or the
// error that stopped the instance (a failed MessageBox: messagebox.ErrFailed).
func (i *Instance) Err() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.err
}

// Stop stops the instance gracefully (see Start) and waits until it has
// stopped or ctx is done. It is safe to call more than once.
func (i *Instance) Stop(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	i.beginStop()
	select {
	case <-i.done:
		return i.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// beginStop starts the shutdown once.
func (i *Instance) beginStop() {
	i.stopOnce.Do(func() { close(i.stopping) })
}

// fail records a fatal error and stops the instance.
func (i *Instance) fail(err error) {
	i.mu.Lock()
	if i.err == nil {
		i.err = err
	}
	i.mu.Unlock()
	i.beginStop()
}

// shutdown runs the graceful stop once it begins.
func (i *Instance) shutdown() {
	<-i.stopping
	// Receive first: nothing new comes in while the rest drains.
	i.stopRecv()
	i.recvWG.Wait()
	i.stopDequeue()
	i.dispatchWG.Wait()
	handlersDone := make(chan struct{})
	go func() { i.handlerWG.Wait(); close(handlersDone) }()
	// The deadline is real time, not Options.Clock: it bounds how long the
	// process takes to stop.
	deadline := time.NewTimer(i.opts.ShutdownTimeout)
	select {
	case <-handlersDone:
		deadline.Stop()
	case <-deadline.C:
		// Handlers that honour their context return now and abandon
		// their entries; give them as long again, then leave the rest to
		// their leases.
		i.stopHandlers()
		grace := time.NewTimer(i.opts.ShutdownTimeout)
		select {
		case <-handlersDone:
			grace.Stop()
		case <-grace.C:
			i.mu.Lock()
			i.gaveUp = true
			if i.err == nil {
				i.err = ErrShutdownTimeout
			}
			i.mu.Unlock()
		}
	}
	i.stopHandlers()
	close(i.drained)
	i.backWG.Wait()
	i.flushFinal()
	// Management records the instance stopped, which holds the host's
	// queue if no other instance of it runs.
	ctx, cancel := context.WithTimeout(context.Background(), i.opts.ShutdownTimeout)
	err := i.mg.Update(ctx, func(tx *mgmt.Tx) error { return tx.Stop(i.ref) })
	cancel()
	if err != nil {
		i.report(&Error{Op: "stop", Host: i.host, Err: err})
	}
	running.Delete(i.key)
	close(i.done)
}

// report hands a handled failure to Options.OnError.
func (i *Instance) report(err error) {
	if i.opts.OnError != nil {
		i.opts.OnError(err)
	}
}
