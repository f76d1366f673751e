package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/mgmt"
)

// location is a running receive location.
type location struct {
	// config is what the location was started with; a change restarts
	// it.
	config mgmt.ReceiveLocation
	cancel context.CancelFunc
	done   chan struct{}
}

// receivers runs the host's receive locations: at start and at every
// refresh it starts those that accept messages and stops the others.
func (i *Instance) receivers() {
	defer i.recvWG.Done()
	running := map[string]*location{}
	defer func() {
		for _, l := range running {
			l.cancel()
		}
		for _, l := range running {
			<-l.done
		}
	}()
	for {
		i.syncLocations(running)
		var tick <-chan struct{}
		if i.opts.Refresh > 0 {
			c := make(chan struct{})
			after := i.opts.Clock.After(i.opts.Refresh)
			go func() {
				select {
				case <-after:
					close(c)
				case <-i.recvCtx.Done():
				}
			}()
			tick = c
		}
		select {
		case <-i.recvCtx.Done():
			return
		case <-tick:
			i.targets.refresh()
		}
	}
}

// syncLocations starts, restarts and stops locations to match the
// configuration now.
func (i *Instance) syncLocations(running map[string]*location) {
	now := i.opts.Clock.Now()
	want := map[string]bool{}
	for _, p := range i.mg.ReceivePorts("") {
		for _, l := range p.Locations {
			if l.Handler != i.host || !l.Accepting(now) {
				continue
			}
			want[l.Name] = true
			cur := running[l.Name]
			if cur != nil && sameLocation(&cur.config, &l) {
				continue
			}
			if cur != nil {
				cur.cancel()
				<-cur.done
				delete(running, l.Name)
			}
			a, ok := i.opts.Adapters.Receiver(l.Adapter)
			if !ok {
				i.report(&Error{Op: "receive", Host: i.host, Port: l.Name, Err: fmt.Errorf("%w: %q", ErrNoAdapter, l.Adapter)})
				continue
			}
			pipe, err := i.opts.Pipelines.Get(l.ReceivePipeline.Name)
			if err != nil {
				i.report(&Error{Op: "receive", Host: i.host, Port: l.Name, Err: err})
				continue
			}
			ep := &Endpoint{
				Port: p.Name, Location: l.Name, Type: l.Adapter, Address: l.Address, Data: l.TransportData,
				Clock: i.opts.Clock, inst: i, pipe: pipe, routeFailed: p.RouteFailedMessage,
			}
			ctx, cancel := context.WithCancel(i.recvCtx)
			loc := &location{config: l, cancel: cancel, done: make(chan struct{})}
			running[l.Name] = loc
			go i.runLocation(ctx, a, ep, loc.done)
		}
	}
	for name, l := range running {
		if !want[name] {
			l.cancel()
			<-l.done
			delete(running, name)
		}
	}
}

// sameLocation reports whether a location's run-time settings are
// unchanged.
func sameLocation(a, b *mgmt.ReceiveLocation) bool {
	return a.Address == b.Address && a.Adapter == b.Adapter && a.TransportData == b.TransportData &&
		a.ReceivePipeline.Name == b.ReceivePipeline.Name
}

// runLocation runs one location's adapter, starting it again after
// Options.ReceiveRetry when it fails.
func (i *Instance) runLocation(ctx context.Context, a ReceiveAdapter, ep *Endpoint, done chan struct{}) {
	defer close(done)
	for {
		err := a.Receive(ctx, ep)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("receive adapter returned before its location stopped")
		}
		i.report(&Error{Op: "receive", Host: i.host, Port: ep.Location, Err: err})
		select {
		case <-i.opts.Clock.After(i.opts.ReceiveRetry):
		case <-ctx.Done():
			return
		}
	}
}
