package bench

import (
	"context"
	"fmt"
)

// scenario is one workload's shape: the queues, the routes, what is
// published, which queues forward and which are the end of the flow.
type scenario struct {
	name  string
	about string
	// size is the default body size.
	size int
	// queues are the scenario's queues (biztier hosts).
	queues func(cfg *Config) []string
	// routes are its subscriptions.
	routes func(cfg *Config) []Route
	// forward maps a queue whose consumers publish one message of the
	// given type per delivery before completing it (the orchestration).
	forward map[string]string
	// sinks are the queues at the end of the flow; a message is done when
	// it is completed on every sink queue it was routed to.
	sinks func(cfg *Config) []string
	// prepare, if set, runs once per system before the first round.
	prepare func(ctx context.Context, sys System, cfg *Config, body []byte) error
}

// fan is the number of sink deliveries per published message.
func (s *scenario) fan(cfg *Config) int { return len(s.sinks(cfg)) }

func one(name string) func(*Config) []string { return func(*Config) []string { return []string{name} } }

func sendPort(name, queue string) func(*Config) []Route {
	return func(*Config) []Route { return []Route{{Name: name, Queue: queue, Match: typeOrder}} }
}

func fanQueues(cfg *Config) []string {
	q := make([]string, cfg.Fanout)
	for i := range q {
		q[i] = fmt.Sprintf("send%d", i)
	}
	return q
}

var scenarioList = []*scenario{
	{
		name:   "messaging",
		about:  "BBW messaging: receive, route to one send port, dequeue, complete (2 KiB XML)",
		size:   2 << 10,
		queues: one("send"), sinks: one("send"),
		routes: sendPort("SendPort_Orders", "send"),
	},
	{
		name:   "orchestration",
		about:  "BBW simple orchestration shape: receive, activation on the orchestration host, which publishes one message, completed by a send port",
		size:   2 << 10,
		queues: func(*Config) []string { return []string{"orch", "send"} },
		routes: func(*Config) []Route {
			return []Route{
				{Name: "Orchestration_ProcessOrder", Queue: "orch", Match: typeOrder},
				{Name: "SendPort_Confirmations", Queue: "send", Match: typeConfirmation},
			}
		},
		forward: map[string]string{"orch": typeConfirmation},
		sinks:   one("send"),
	},
	{
		name:   "fanout",
		about:  "one message routed to Fanout send ports, each with its own host",
		size:   2 << 10,
		queues: fanQueues, sinks: fanQueues,
		routes: func(cfg *Config) []Route {
			var r []Route
			for i, q := range fanQueues(cfg) {
				r = append(r, Route{Name: fmt.Sprintf("SendPort_%d", i), Queue: q, Match: typeOrder})
			}
			return r
		},
	},
	{
		name:   "subscriptions",
		about:  "Subscriptions subscriptions on one host, of which one matches",
		size:   2 << 10,
		queues: one("send"), sinks: one("send"),
		routes: func(cfg *Config) []Route {
			r := []Route{{Name: "SendPort_Orders", Queue: "send", Match: typeOrder}}
			for i := 1; i < cfg.Subscriptions; i++ {
				r = append(r, Route{Name: fmt.Sprintf("SendPort_%d", i), Queue: "send", Match: fmt.Sprintf("http://biztier.dev/bench/other%d#Doc", i)})
			}
			return r
		},
	},
	{
		name:   "backlog",
		about:  "messaging behind Backlog messages already published and completed on the same queue",
		size:   2 << 10,
		queues: one("send"), sinks: one("send"),
		routes:  sendPort("SendPort_Orders", "send"),
		prepare: prepareBacklog,
	},
	{
		name:   "large",
		about:  "messaging with 1 MiB bodies (fragmented by biztier)",
		size:   1 << 20,
		queues: one("send"), sinks: one("send"),
		routes: sendPort("SendPort_Orders", "send"),
	},
}

// Scenarios returns the scenario names, in the order Run runs them.
func Scenarios() []string {
	var out []string
	for _, s := range scenarioList {
		out = append(out, s.name)
	}
	return out
}

// ScenarioHelp returns one line per scenario describing it.
func ScenarioHelp() []string {
	var out []string
	for _, s := range scenarioList {
		out = append(out, fmt.Sprintf("%-14s %s", s.name, s.about))
	}
	return out
}

func lookupScenario(name string) *scenario {
	for _, s := range scenarioList {
		if s.name == name {
			return s
		}
	}
	return nil
}

// prepareBacklog publishes and completes cfg.Backlog messages on the send
// queue, so that the measured rounds dequeue behind that many completed
// entries (tombstones, for the Pebble-based systems).
func prepareBacklog(ctx context.Context, sys System, cfg *Config, body []byte) error {
	const batch = 1000
	mctx := encodeContext(typeOrder)
	msgs := make([]Msg, 0, batch)
	for published := 0; published < cfg.Backlog; {
		msgs = msgs[:0]
		for range min(batch, cfg.Backlog-published) {
			msgs = append(msgs, Msg{Type: typeOrder, Body: body, Context: mctx})
		}
		if err := sys.Publish(ctx, msgs); err != nil {
			return fmt.Errorf("backlog: publish: %w", err)
		}
		published += len(msgs)
		// Drain as we go, so the queue never holds more than one batch.
		var done []Delivery
		for got := 0; got < len(msgs); {
			ds, err := sys.Next(ctx, "send", done, batch)
			if err != nil {
				return fmt.Errorf("backlog: drain: %w", err)
			}
			if len(ds) == 0 {
				if ds, err = sys.Wait(ctx, "send", batch); err != nil {
					return fmt.Errorf("backlog: drain: %w", err)
				}
			}
			got += len(ds)
			done = ds
		}
		if _, err := sys.Next(ctx, "send", done, 0); err != nil {
			return fmt.Errorf("backlog: drain: %w", err)
		}
	}
	return nil
}
