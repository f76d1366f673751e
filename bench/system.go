package bench

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// ErrUnsupported is returned by a System that cannot run a scenario's
// shape; the runner reports the row as skipped with the error's text.
var ErrUnsupported = errors.New("bench: scenario not supported by this system")

// ErrUnavailable is returned by a System that has nothing to run on (no
// PostgreSQL server); the runner reports the row as skipped with the
// error's text.
var ErrUnavailable = errors.New("bench: system not available")

// Route sends every published message whose Type equals Match to Queue.
// It is a BizTalk subscription reduced to what every system can express:
// biztier subscribes with `MessageType == Match` on the queue's host,
// JetStream filters a durable consumer by subject, the Pebble and
// PostgreSQL queues look the type up in a map.
type Route struct {
	Name  string
	Queue string
	Match string
}

// Msg is one message to publish. Body and Context are shared by many
// messages and must not be modified by a System.
type Msg struct {
	// Type is the message type routes match on.
	Type string
	// Sent is when the message's flow began (Unix nanoseconds); systems
	// carry it with the message so latency can be measured at the end of
	// the flow.
	Sent int64
	// Body is the message body (an XML document).
	Body []byte
	// Context is the message context, encoded as bytes for the systems
	// that have no typed context of their own (same bytes as biztier's).
	Context []byte
}

// Delivery is a dequeued message. Handle is the System's own.
type Delivery struct {
	Type   string
	Sent   int64
	Size   int
	Handle any
}

// System is one system under test: biztier or a peer. A System is opened
// per scenario and used by many goroutines at once.
type System interface {
	// Setup creates the queues and routes of a scenario. It is called once,
	// before any Publish.
	Setup(ctx context.Context, queues []string, routes []Route) error
	// Publish stores msgs durably (per the configured durability), each
	// routed to the queues of the routes that match its Type, as one
	// commit where the system has commits.
	Publish(ctx context.Context, msgs []Msg) error
	// Next completes done (deliveries of queue returned by earlier calls)
	// durably, then dequeues up to max deliveries of queue without waiting
	// for more; it may return none. done must be completed when Next
	// returns, even when ctx is done (it may then return ctx's error and
	// no deliveries). max == 0 only completes.
	Next(ctx context.Context, queue string, done []Delivery, max int) ([]Delivery, error)
	// Wait dequeues up to max deliveries of queue, waiting until there is
	// at least one or ctx is done.
	Wait(ctx context.Context, queue string, max int) ([]Delivery, error)
	// Close releases everything the System holds.
	Close() error
}

// Forwarder is a System that can publish the messages made of a batch,
// complete the batch and dequeue the next in one commit (biztier's
// PublishCompleteAndDequeue, the way a BizTalk host settles a messaging
// batch). A scenario's forwarding queue uses it when the system has it,
// and Publish then Next otherwise. Like Next, it does not wait for
// deliveries, and out and done must be committed when it returns.
type Forwarder interface {
	Forward(ctx context.Context, queue string, out []Msg, done []Delivery, max int) ([]Delivery, error)
}

// Settler is a System that does work behind its commits (biztier's
// tracking decoder): Settle returns once that work has caught up, and the
// harness calls it before it stops a round's clock.
type Settler interface {
	Settle(ctx context.Context) error
}

// Opener opens a System in dir (a fresh directory) for one scenario.
type Opener func(ctx context.Context, dir string, cfg *Config) (System, error)

// systemSpec is a registered system: an opener and the publish and
// complete batch size it runs with (1 for the per-operation rows).
type systemSpec struct {
	open  Opener
	batch func(cfg *Config) int
	about string
}

func batched(cfg *Config) int { return cfg.Batch }
func perOp(*Config) int       { return 1 }

var systems = map[string]systemSpec{
	"biztier":         {openBiztier, batched, "biztier MessageBox: PublishBatch, CompleteAndDequeue"},
	"biztier-op":      {openBiztier, perOp, "biztier MessageBox, one message per commit"},
	"biztier-notrack": {openBiztierNoTrack, batched, "biztier with DisableTracking (no tracking events in the commits)"},
	"pebble-batch":    {openPebble, batched, "raw Pebble with its own WAL, one Sync commit per batch"},
	"pebble-op":       {openPebble, perOp, "raw Pebble with its own WAL, one Sync commit per message"},
	"nats":            {openNATS, batched, "embedded NATS JetStream, file storage, durable pull consumers"},
	"postgres":        {openPostgres, batched, "PostgreSQL SKIP LOCKED queue table (BIZTIER_BENCH_PG, or a local server)"},
}

// Systems lists the names Config.Systems accepts, with a line on each.
func Systems() []string {
	var out []string
	for name, s := range systems {
		out = append(out, fmt.Sprintf("%-16s %s", name, s.about))
	}
	sort.Strings(out)
	return out
}
