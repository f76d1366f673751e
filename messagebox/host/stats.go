package host

import "sync/atomic"

// Stats counts what a host instance has done since Start.
type Stats struct {
	// Received counts messages receive locations submitted.
	Received int64
	// Sent counts entries sent; Completed entries completed, counted when
	// the call that committed them returns (a dequeue that completed a
	// batch and then waited for work counts it when work arrives).
	Sent, Completed int64
	// Steps counts orchestration persistence points committed. Zombies
	// counts the messages this instance's completing steps suspended as
	// zombies: those still queued for the instance, and those another step
	// held (that step gets messagebox.ErrZombie, which is reported).
	Steps, Zombies int64
	// Failed counts entries failed for a retry, Suspended entries
	// suspended at once (permanent failures), Abandoned entries given back
	// by a stop.
	Failed, Suspended, Abandoned int64
	// InFlight is the number of handlers running.
	InFlight int
}

// counters are an Instance's Stats.
type counters struct {
	received, sent, completed, steps, zombies atomic.Int64
	failed, suspended, abandoned              atomic.Int64
}

// Stats returns the instance's counters.
func (i *Instance) Stats() Stats {
	i.mu.Lock()
	n := len(i.inflight)
	i.mu.Unlock()
	return Stats{
		Received: i.stats.received.Load(), Sent: i.stats.sent.Load(), Completed: i.stats.completed.Load(),
		Steps: i.stats.steps.Load(), Zombies: i.stats.zombies.Load(),
		Failed: i.stats.failed.Load(), Suspended: i.stats.suspended.Load(), Abandoned: i.stats.abandoned.Load(),
		InFlight: n,
	}
}
