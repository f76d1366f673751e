package host

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
	"github.com/biztier/biztier/messagebox"
	"github.com/google/uuid"
)

var (
	// ErrClosed is returned by Endpoint.Submit and SubmitOnce once the
	// host instance has begun to stop: it receives nothing more. It wraps
	// biztier.ErrClosed.
	ErrClosed = sentinel.New("host: host instance stopping", sentinel.ErrClosed)
	// ErrUnknownHost is returned by Start for a host that neither
	// Management nor the MessageBox knows.
	ErrUnknownHost = errors.New("host: unknown host")
	// ErrRunning is returned by Start for a host instance (host and server)
	// that this process already runs on the group.
	ErrRunning = errors.New("host: host instance already running")
	// ErrNoAdapter is reported for a transport type no adapter is
	// registered for: a send is retried by the port's retry policy (an
	// adapter may be registered meanwhile), a receive location does not
	// start.
	ErrNoAdapter = errors.New("host: no adapter registered for the transport type")
	// ErrInvalidAdapter is returned by Registry.Register for a value that
	// implements neither ReceiveAdapter nor SendAdapter, or an empty name.
	ErrInvalidAdapter = errors.New("host: not an adapter")
	// ErrPermanent marks a send failure that no retry can fix (a malformed
	// address, a rejected message): a SendAdapter wraps it, and the entry
	// is suspended (resumable) at once instead of retried.
	ErrPermanent = errors.New("host: permanent failure")
	// ErrSuspended is returned by Endpoint.Submit, wrapped with the cause,
	// for a received message that was committed to the MessageBox but
	// suspended: no subscriber matched it (messagebox.ErrNoSubscribers) or
	// its receive pipeline failed (pipeline.ErrDisassembly). The source may
	// be removed: the message is kept, suspended, in the MessageBox.
	ErrSuspended = errors.New("host: message suspended")
	// ErrNoService is reported for an orchestration delivery whose service
	// has no Service registered in Options.Services; the entry is failed by
	// its retry policy.
	ErrNoService = errors.New("host: no handler for the service")
	// ErrNoPort is reported for a messaging delivery whose subscription
	// is not a send port's in Management (a subscription made by hand);
	// the entry is failed by its retry policy.
	ErrNoPort = errors.New("host: no send port for the subscription")
	// ErrShutdownTimeout is returned by Wait and Stop when handlers were
	// still running at Options.ShutdownTimeout after a stop began. Their
	// entries were abandoned (or are left to their leases).
	ErrShutdownTimeout = errors.New("host: handlers still running at the shutdown deadline")
	// ErrTransportData is returned for adapter configuration
	// (TransportTypeData) that cannot be read.
	ErrTransportData = errors.New("host: malformed transport data")
)

// Error is a failure a host instance reports through Options.OnError
// without stopping: a send that failed and will be retried, a zombie, a
// receive location that failed and will be restarted. It names where it
// happened.
type Error struct {
	// Op is what failed: "send", "receive", "persist", "settle",
	// "dequeue", "extend" (a lease that could not be renewed), "stop".
	Op string
	// Host is the host instance's host.
	Host string
	// Port is the send port, receive location or service involved, if any.
	Port string
	// Entry and Message identify the queue entry and message, if any.
	Entry   messagebox.EntryID
	Message uuid.UUID
	// Err is the cause.
	Err error
}

// Error describes the failure.
func (e *Error) Error() string {
	s := "host " + e.Host + ": " + e.Op
	if e.Port != "" {
		s += " " + e.Port
	}
	if e.Entry != 0 {
		s += fmt.Sprintf(" entry %d", e.Entry)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
