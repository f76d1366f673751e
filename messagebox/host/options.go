package host

import (
	"os"
	"runtime"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host/pipeline"
)

// Defaults of Options.
const (
	// DefaultBatchSize is how many entries one dequeue takes at most.
	DefaultBatchSize = 64
	// DefaultLease is the lease each dequeued entry is held with; leases of
	// handlers still running are extended before they run out.
	DefaultLease = 30 * time.Second
	// DefaultShutdownTimeout is how long a stop lets running handlers
	// finish.
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultReceiveRetry is BizTalk's receive location retry interval:
	// how long a failed receive location waits before it starts again.
	DefaultReceiveRetry = 60 * time.Second
	// DefaultRefresh is how often a host instance rereads its receive
	// locations from Management (BizTalk's configuration cache refresh).
	DefaultRefresh = 60 * time.Second
)

// Options configure a host instance. A nil *Options means defaults;
// Start works on a copy.
type Options struct {
	// Server names the machine the instance runs on: the host instance is
	// "host/server" in Management. Defaults to os.Hostname().
	Server string
	// Clock drives leases, their extension, retries of failed receive
	// locations and the configuration refresh. Give it the group's clock
	// (biztier.Options.Clock) so that a ManualClock moves both. Defaults to
	// the system clock.
	Clock messagebox.Clock
	// Adapters finds the adapters of the ports' transport types. Defaults
	// to an empty registry: register at least the adapters the host's
	// ports use.
	Adapters *Registry
	// Pipelines finds the ports' pipelines by name. Defaults to
	// pipeline.NewRegistry(nil), BizTalk's default pipelines.
	Pipelines *pipeline.Registry
	// Services run the orchestration services whose instances the host's
	// queue delivers, by service name. An orchestration delivery with no
	// Service here is failed (ErrNoService) by its retry policy.
	Services map[string]Service
	// BatchSize is the most entries one dequeue takes. Defaults to
	// DefaultBatchSize.
	BatchSize int
	// Concurrency is the most handlers (sends and service steps) running
	// at once. The host leases a batch when a handler is idle, so at most
	// Concurrency + BatchSize entries are leased at a time. Defaults to
	// 4 × runtime.NumCPU().
	Concurrency int
	// Lease is how long each dequeued entry is leased; a handler running
	// longer has its lease extended every Lease/3. Defaults to
	// DefaultLease.
	Lease time.Duration
	// ShutdownTimeout bounds how long a stop waits for running handlers
	// before it cancels their contexts and abandons their entries.
	// Defaults to DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// ReceiveRetry is how long a receive location that failed waits before
	// it is started again. Defaults to DefaultReceiveRetry.
	ReceiveRetry time.Duration
	// Refresh is how often the instance rereads its receive locations
	// (enabled, service windows, addresses). Defaults to DefaultRefresh;
	// negative reads them only at Start.
	Refresh time.Duration
	// OnError, if set, receives every failure the instance handles without
	// stopping (each an *Error): a send that will be retried, a zombie, a
	// receive location that will be restarted. It is called from the
	// instance's goroutines and must not block for long.
	OnError func(error)
}

// withDefaults returns a copy of o with defaults filled in.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Server == "" {
		c.Server, _ = os.Hostname()
		if c.Server == "" {
			c.Server = "localhost"
		}
	}
	if c.Clock == nil {
		c.Clock = messagebox.SystemClock{}
	}
	if c.Adapters == nil {
		c.Adapters = NewRegistry()
	}
	if c.Pipelines == nil {
		c.Pipelines = pipeline.NewRegistry(nil)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4 * runtime.NumCPU()
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.ReceiveRetry <= 0 {
		c.ReceiveRetry = DefaultReceiveRetry
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	return c
}
