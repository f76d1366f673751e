package tracking

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// FlowOptions bound a message flow query. A nil *FlowOptions means
// defaults.
type FlowOptions struct {
	// MaxDepth is how many instance hops the flow follows in each
	// direction. Defaults to 8.
	MaxDepth int
	// MaxEdges bounds the edges returned; the flow is then marked
	// Truncated. Defaults to 1000.
	MaxEdges int
}

// Flow is the message flow around a message or an instance: a bipartite
// graph of instances and the messages they received (In) and sent (Out).
// Upstream, it follows each message to the instances that sent it and
// their inputs; downstream, to the instances that received it and their
// outputs.
type Flow struct {
	// Instances are the tracked instances in the flow, in the order found.
	// An instance whose lifecycle was not tracked appears only in Edges.
	Instances []Instance
	// Edges are the message events that link messages and instances, in
	// the order found.
	Edges []FlowEdge
	// Truncated reports that MaxEdges or MaxDepth cut the flow short.
	Truncated bool
}

// FlowEdge is one link of a flow: the instance received (In) or sent (Out)
// the message.
type FlowEdge struct {
	MessageID  uuid.UUID
	InstanceID uuid.UUID
	Direction  Direction
	Kind       EventKind
	Port       string
	Recorded   time.Time
}

type flowWalk struct {
	ctx      context.Context
	rd       reader
	flow     *Flow
	maxEdges int
	insts    map[uuid.UUID]bool
}

type edgeKey struct {
	msg, inst uuid.UUID
	dir       Direction
}

func (rd reader) flow(ctx context.Context, msg, inst uuid.UUID, o *FlowOptions) (*Flow, error) {
	depth, maxEdges := 8, 1000
	if o != nil && o.MaxDepth > 0 {
		depth = o.MaxDepth
	}
	if o != nil && o.MaxEdges > 0 {
		maxEdges = o.MaxEdges
	}
	w := &flowWalk{ctx: ctx, rd: rd, flow: &Flow{}, maxEdges: maxEdges, insts: map[uuid.UUID]bool{}}
	seen := map[edgeKey]bool{}
	add := func(e FlowEdge) {
		k := edgeKey{e.MessageID, e.InstanceID, e.Direction}
		if seen[k] {
			return
		}
		if len(w.flow.Edges) >= w.maxEdges {
			w.flow.Truncated = true
			return
		}
		seen[k] = true
		w.flow.Edges = append(w.flow.Edges, e)
	}
	var up, down []uuid.UUID // message frontiers
	if inst != uuid.Nil {
		evs, err := w.instanceEdges(inst)
		if err != nil {
			return nil, err
		}
		if err := w.addInstance(inst); err != nil {
			return nil, err
		}
		for _, e := range evs {
			add(e)
			if e.Direction == DirectionIn {
				up = append(up, e.MessageID)
			} else {
				down = append(down, e.MessageID)
			}
		}
	} else {
		up, down = []uuid.UUID{msg}, []uuid.UUID{msg}
	}
	// Walk each direction: from a message to the instances on the far side
	// (producers upstream, consumers downstream), then on to their
	// messages on the far side.
	for _, dir := range []Direction{DirectionOut, DirectionIn} {
		frontier := up
		if dir == DirectionIn {
			frontier = down
		}
		visitedMsg := map[uuid.UUID]bool{}
		visitedInst := map[uuid.UUID]bool{inst: true}
		for level := 0; len(frontier) > 0; level++ {
			if level == depth {
				w.flow.Truncated = true
				break
			}
			var next []uuid.UUID
			for _, m := range frontier {
				if visitedMsg[m] {
					continue
				}
				visitedMsg[m] = true
				evs, err := w.messageEdges(m)
				if err != nil {
					return nil, err
				}
				for _, e := range evs {
					if e.Direction != dir {
						continue
					}
					add(e)
					if visitedInst[e.InstanceID] {
						continue
					}
					visitedInst[e.InstanceID] = true
					if err := w.addInstance(e.InstanceID); err != nil {
						return nil, err
					}
					ies, err := w.instanceEdges(e.InstanceID)
					if err != nil {
						return nil, err
					}
					// Upstream (dir Out: the instance sent m) continues
					// with what the instance received; downstream with
					// what it sent.
					for _, ie := range ies {
						if ie.Direction == dir {
							continue
						}
						add(ie)
						next = append(next, ie.MessageID)
					}
				}
			}
			frontier = next
		}
	}
	return w.flow, nil
}

func (w *flowWalk) addInstance(id uuid.UUID) error {
	if w.insts[id] {
		return nil
	}
	w.insts[id] = true
	r, err := w.rd.instanceRow(id)
	if err != nil {
		return fmt.Errorf("tracking: flow: %w", err)
	}
	if r != nil {
		w.flow.Instances = append(w.flow.Instances, instanceFromRow(id, r))
	}
	return nil
}

// instanceEdges returns the In and Out message events of an instance,
// oldest first.
func (w *flowWalk) instanceEdges(id uuid.UUID) ([]FlowEdge, error) {
	return w.edges(MessageEventQuery{InstanceID: id, OldestFirst: true})
}

// messageEdges returns the In and Out events of a message that belong to
// an instance, oldest first.
func (w *flowWalk) messageEdges(id uuid.UUID) ([]FlowEdge, error) {
	return w.edges(MessageEventQuery{MessageID: id, OldestFirst: true})
}

func (w *flowWalk) edges(q MessageEventQuery) ([]FlowEdge, error) {
	var out []FlowEdge
	q.Limit = MaxLimit
	for {
		page, err := w.rd.messageEvents(w.ctx, q)
		if err != nil {
			return nil, fmt.Errorf("tracking: flow: %w", err)
		}
		for _, e := range page.Events {
			if e.InstanceID == uuid.Nil || e.Direction == DirectionNone {
				continue
			}
			out = append(out, FlowEdge{
				MessageID: e.MessageID, InstanceID: e.InstanceID, Direction: e.Direction,
				Kind: e.Kind, Port: e.Port, Recorded: e.Recorded,
			})
		}
		if page.Next == "" || len(out) > w.maxEdges {
			return out, nil
		}
		q.Cursor = page.Next
	}
}
