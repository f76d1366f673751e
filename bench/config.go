package bench

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/biztier/biztier"
)

// Config says what to run. The zero Config runs every scenario on the
// default systems for DefaultDuration each; Run works on a copy with the
// defaults filled in.
type Config struct {
	// Scenarios to run, by name (see Scenarios). Defaults to all.
	Scenarios []string
	// Systems to run, by name (see Systems). Defaults to biztier,
	// pebble-batch, pebble-op, nats and postgres, unless PostgresDSN is
	// PostgresOff (postgres is then left out). A postgres row with no
	// server to run on is reported as skipped.
	Systems []string
	// Duration is how long each system publishes in each scenario, split
	// over Rounds. Defaults to DefaultDuration; ignored when Count is set.
	Duration time.Duration
	// Count, if positive, is how many messages each system publishes in
	// each scenario (split over Rounds) instead of running for Duration.
	Count int
	// Rounds is how many alternating rounds each scenario's time or count
	// is split into: in each round every system runs once, in a rotated
	// order, because the disk's fsync rate drifts within minutes. Each
	// system keeps its store open across rounds. Defaults to 3.
	Rounds int
	// Publishers is the number of receive goroutines publishing. Defaults
	// to 4.
	Publishers int
	// Consumers is the number of goroutines dequeuing from each queue.
	// Defaults to 2.
	Consumers int
	// Batch is how many messages a batched system publishes, and at most
	// dequeues and completes, per commit. The "-op" systems use 1.
	// Defaults to 64; large bodies lower it to keep a batch under 8 MiB.
	Batch int
	// Rate, if positive, runs the scenario open-loop: the publishers offer
	// Rate messages per second in all, on a fixed schedule, whatever the
	// system's progress (no Inflight window), and a message's latency runs
	// from its scheduled send time, so a stall counts against every
	// message it delays. Zero runs closed-loop: as fast as the system
	// completes.
	Rate float64
	// Inflight caps the messages published but not yet dequeued at the end
	// of their flow, so latency is measured at a steady state rather than
	// behind an ever-growing queue. Defaults to 4 × Publishers × the
	// system's batch (Batch, or 1 for the "-op" systems), and is capped at
	// 64 MiB of bodies.
	Inflight int
	// Size is the body size in bytes. Zero means each scenario's own: 2 KiB,
	// or 1 MiB for large.
	Size int
	// Durability is biztier.Sync (the default: every commit fsynced, and
	// the peers sync every write too) or biztier.NoSync (no system
	// fsyncs).
	Durability biztier.Durability
	// Fanout is the number of subscriptions each message of the fanout
	// scenario goes to. Defaults to 8.
	Fanout int
	// Subscriptions is the number of subscriptions of the subscriptions
	// scenario, of which one matches. Defaults to 10,000.
	Subscriptions int
	// Backlog is the number of messages published and completed before the
	// backlog scenario is measured. Defaults to DefaultBacklog (the issue's
	// full figure is 1,000,000: pass it for the real thing).
	Backlog int
	// Lease is the lease (visibility timeout) of dequeued messages.
	// Defaults to 10 minutes, so no message is redelivered during a run.
	Lease time.Duration
	// Dir is where each system's data directory is made, on the disk being
	// measured. Defaults to os.TempDir().
	Dir string
	// PostgresDSN is a PostgreSQL connection string for the postgres
	// system. Defaults to $BIZTIER_BENCH_PG; if that is empty too and the
	// postgres system is to run, Run looks for a local server with
	// FindPostgres. PostgresOff turns the system off and the search with
	// it (tests use it so that they behave the same on every machine).
	PostgresDSN string
	// ProfileDir, if set, receives profiles of the biztier rows' rounds
	// (every system whose name begins with "biztier"), nothing of the
	// other systems': for each scenario and system,
	// <scenario>-<system>.r<N>.cpu.pprof, the CPU profile of round N (one
	// CPU profile runs at a time, and rounds of other systems come
	// between; `go tool pprof` merges the files it is given), and
	// <scenario>-<system>.allocs.pprof, the allocations of all its rounds
	// (the process's allocation profile after each round less the one
	// before it, summed). Profiling slows the rows it profiles a little.
	ProfileDir string
	// Progress, if set, receives a progress line (rewritten with \r) while
	// Run runs.
	Progress io.Writer
}

// PostgresOff, as Config.PostgresDSN or $BIZTIER_BENCH_PG, leaves the
// postgres system out of the defaults and stops Run looking for a local
// server.
const PostgresOff = "off"

// Defaults.
const (
	DefaultDuration = 20 * time.Second
	DefaultBacklog  = 50_000
)

// withDefaults returns a copy of c with defaults filled in.
func (c *Config) withDefaults() Config {
	var o Config
	if c != nil {
		o = *c
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios()
	}
	if o.PostgresDSN == "" {
		o.PostgresDSN = os.Getenv("BIZTIER_BENCH_PG")
	}
	if len(o.Systems) == 0 {
		o.Systems = []string{"biztier", "pebble-batch", "pebble-op", "nats"}
		if o.PostgresDSN != PostgresOff {
			o.Systems = append(o.Systems, "postgres")
		}
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Publishers <= 0 {
		o.Publishers = 4
	}
	if o.Consumers <= 0 {
		o.Consumers = 2
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.Fanout <= 0 {
		o.Fanout = 8
	}
	if o.Subscriptions <= 0 {
		o.Subscriptions = 10_000
	}
	if o.Backlog <= 0 {
		o.Backlog = DefaultBacklog
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	return o
}

// validate reports names that are not scenarios or systems.
func (c *Config) validate() error {
	for _, s := range c.Scenarios {
		if !slices.Contains(Scenarios(), s) {
			return fmt.Errorf("bench: unknown scenario %q (have %v)", s, Scenarios())
		}
	}
	for _, s := range c.Systems {
		if _, ok := systems[s]; !ok {
			return fmt.Errorf("bench: unknown system %q", s)
		}
	}
	if c.Durability != biztier.Sync && c.Durability != biztier.NoSync {
		return fmt.Errorf("bench: unknown durability %v", c.Durability)
	}
	return nil
}

// durable reports whether the systems must sync every commit.
func (c *Config) durable() bool { return c.Durability == biztier.Sync }
