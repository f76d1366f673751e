// Package memory is an in-memory adapter pair for testing flows on a
// biztier group, in the spirit of BizTalk's TransMock: register one Adapter
// under the transport types a binding file uses ("FILE", "HTTP", ...), hand
// messages to receive locations by name with Receive, and read what each
// send port sent with Sent or WaitSent. Failures can be injected per send
// port to exercise retries, backup transports and suspension.
package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// Adapter is an in-memory receive and send adapter. The zero value is not
// usable; call New. It is safe for concurrent use.
type Adapter struct {
	// mu guards the fields below; changed is closed and replaced whenever
	// a location starts or a message is sent.
	mu        sync.Mutex
	endpoints map[string]*host.Endpoint
	sent      map[string][]Sent
	failures  map[string][]error
	changed   chan struct{}
}

var (
	_ host.ReceiveAdapter = (*Adapter)(nil)
	_ host.SendAdapter    = (*Adapter)(nil)
)

// New returns an adapter with no locations running and nothing sent.
func New() *Adapter {
	return &Adapter{
		endpoints: map[string]*host.Endpoint{},
		sent:      map[string][]Sent{},
		failures:  map[string][]error{},
		changed:   make(chan struct{}),
	}
}

// notifyLocked wakes the waiters. a.mu must be held.
func (a *Adapter) notifyLocked() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// Receive implements host.ReceiveAdapter: the location is reachable by
// its name until ctx is done.
func (a *Adapter) Receive(ctx context.Context, ep *host.Endpoint) error {
	a.mu.Lock()
	a.endpoints[ep.Location] = ep
	a.notifyLocked()
	a.mu.Unlock()
	<-ctx.Done()
	a.mu.Lock()
	if a.endpoints[ep.Location] == ep {
		delete(a.endpoints, ep.Location)
		a.notifyLocked()
	}
	a.mu.Unlock()
	return nil
}

// WaitRunning waits until the receive location called location is running
// (running true) or not running (false) on some host instance, or ctx is
// done.
func (a *Adapter) WaitRunning(ctx context.Context, location string, running bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		a.mu.Lock()
		_, ok := a.endpoints[location]
		changed := a.changed
		a.mu.Unlock()
		if ok == running {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("memory: receive location %q running %v: %w", location, !running, ctx.Err())
		}
	}
}

// Submit hands msgs to the receive location called location, waiting
// until a host instance runs it or ctx is done, and returns what the host
// did with each (see host.Endpoint.Submit). The messages become the
// host's.
func (a *Adapter) Submit(ctx context.Context, location string, msgs ...*messagebox.Message) ([]host.Received, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		a.mu.Lock()
		ep, changed := a.endpoints[location], a.changed
		a.mu.Unlock()
		if ep != nil {
			return ep.Submit(ctx, msgs...)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("memory: receive location %q is not running: %w", location, ctx.Err())
		}
	}
}

// ReceiveBody is Submit for one body with context properties: the shortest way
// to hand a message to a location. The error is the message's
// host.Received.Err when it was committed but suspended.
func (a *Adapter) ReceiveBody(ctx context.Context, location string, body []byte, props ...messagebox.Property) error {
	res, err := a.Submit(ctx, location, messagebox.NewMessage(body, props...))
	if err != nil {
		return err
	}
	return res[0].Err
}

// Send implements host.SendAdapter: it records m under t.Port, or fails
// with the next error injected by Fail for the port.
func (a *Adapter) Send(_ context.Context, t *host.Transport, m *messagebox.Message) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if errs := a.failures[t.Port]; len(errs) > 0 {
		a.failures[t.Port] = errs[1:]
		return errs[0]
	}
	a.sent[t.Port] = append(a.sent[t.Port], Sent{Message: m, Transport: *t})
	a.notifyLocked()
	return nil
}

// Fail makes the next len(errs) sends through port fail with errs, in
// order (wrap host.ErrPermanent to suspend at once).
func (a *Adapter) Fail(port string, errs ...error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures[port] = append(a.failures[port], errs...)
}

// Sent is one message a send port sent, with the transport it went out
// on (its address, whether it was the backup transport).
type Sent struct {
	Message   *messagebox.Message
	Transport host.Transport
}

// Sent returns what port has sent so far, oldest first. The slice is the
// caller's; the messages are shared and must not be changed.
func (a *Adapter) Sent(port string) []Sent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Sent(nil), a.sent[port]...)
}

// WaitSent waits until port has sent at least n messages, or ctx is done,
// and returns them.
func (a *Adapter) WaitSent(ctx context.Context, port string, n int) ([]Sent, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		a.mu.Lock()
		got, changed := a.sent[port], a.changed
		a.mu.Unlock()
		if len(got) >= n {
			return append([]Sent(nil), got...), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("memory: %s sent %d of %d: %w", port, len(got), n, ctx.Err())
		}
	}
}
