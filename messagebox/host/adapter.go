package host

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/biztier/biztier/messagebox"
)

// ReceiveAdapter is the receive half of a transport type (BizTalk's
// receive adapter). A host instance calls Receive once for each receive
// location of its host that uses the adapter and accepts messages, in a
// goroutine of its own.
type ReceiveAdapter interface {
	// Receive takes messages at ep's address until ctx is done, handing
	// each batch to ep.Submit, and returns nil then. It must not remove
	// or acknowledge anything at the source before Submit has returned
	// without error (or with one wrapping ErrSuspended): that is when the
	// messages are committed. An error return stops the location; the host
	// instance reports it and starts the location again after
	// Options.ReceiveRetry.
	Receive(ctx context.Context, ep *Endpoint) error
}

// SendAdapter is the send half of a transport type (BizTalk's send
// adapter).
type SendAdapter interface {
	// Send transmits m to t. It returns once the transmission is done:
	// the host instance completes the entry only then. An error is
	// retried by the port's retry policy (then the backup transport, then
	// suspension); an error wrapping ErrPermanent suspends the entry at
	// once. Send may be called concurrently. m belongs to the call.
	Send(ctx context.Context, t *Transport, m *messagebox.Message) error
}

// Transport is where one message goes: a send port's primary or backup
// transport, or a dynamic port's address from the message.
type Transport struct {
	// Port is the send port's name.
	Port string
	// Type is the transport type (the adapter's registered name), such as
	// "FILE".
	Type string
	// Address is the transport's address, such as
	// `C:\out\%MessageID%.xml`.
	Address string
	// Data is the adapter's configuration as the binding file holds it
	// (TransportTypeData, usually a <CustomProps> document; see
	// ParseTransportData).
	Data string
	// Backup is set when the backup transport is sending.
	Backup bool
}

// Registry maps transport type names (a binding file's TransportType) to
// adapters. It is safe for concurrent use.
type Registry struct {
	// mu guards receivers and senders.
	mu        sync.RWMutex
	receivers map[string]ReceiveAdapter
	senders   map[string]SendAdapter
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{receivers: map[string]ReceiveAdapter{}, senders: map[string]SendAdapter{}}
}

// Register makes a the adapter of transport type name, replacing the one
// registered before. a must implement ReceiveAdapter, SendAdapter or both
// (ErrInvalidAdapter otherwise); it serves the halves it implements.
// Registering an in-memory adapter under "FILE" turns every FILE port of
// a binding file into a test double.
func (r *Registry) Register(name string, a any) error {
	recv, isRecv := a.(ReceiveAdapter)
	send, isSend := a.(SendAdapter)
	if name == "" || (!isRecv && !isSend) {
		return fmt.Errorf("%w: %q (%T)", ErrInvalidAdapter, name, a)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.receivers, name)
	delete(r.senders, name)
	if isRecv {
		r.receivers[name] = recv
	}
	if isSend {
		r.senders[name] = send
	}
	return nil
}

// Receiver returns the receive adapter of transport type name.
func (r *Registry) Receiver(name string) (ReceiveAdapter, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.receivers[name]
	return a, ok
}

// Sender returns the send adapter of transport type name.
func (r *Registry) Sender(name string) (SendAdapter, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.senders[name]
	return a, ok
}

// Names lists the registered transport types, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seen := map[string]bool{}
	for n := range r.receivers {
		seen[n] = true
	}
	for n := range r.senders {
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
