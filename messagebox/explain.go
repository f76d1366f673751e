package messagebox

import (
	"context"
	"slices"
	"strings"

	"github.com/biztier/biztier/internal/store"
	"github.com/google/uuid"
)

// ConditionResult is one condition of an explained subscription and what
// it gave on the message.
type ConditionResult struct {
	Condition Condition
	Outcome   Outcome
}

// GroupResult is one AND-group of an explained subscription.
type GroupResult struct {
	Matched    bool
	Conditions []ConditionResult
}

// Explanation says whether a subscription matches a message and, if not,
// why: for every group, every condition's outcome.
type Explanation struct {
	Subscription uuid.UUID
	Name         string
	Host         string
	Matched      bool
	Groups       []GroupResult
}

// Reason summarises why the subscription did not match: the first failing
// condition of each group, such as `ns#Amount > int64(5): comparison
// false`. It is "" for a match.
func (x Explanation) Reason() string {
	if x.Matched {
		return ""
	}
	var parts []string
	for _, g := range x.Groups {
		for _, c := range g.Conditions {
			if c.Outcome != Holds {
				parts = append(parts, c.Condition.String()+": "+c.Outcome.String())
				break
			}
		}
	}
	return strings.Join(parts, "; or ")
}

// Explain evaluates every subscription against m and reports, for each,
// whether it matched and which condition failed or which property was
// missing: what BizTalk users do by hand with the subscription viewer.
// The result is sorted by subscription ID. m is not validated.
func (s *Store) Explain(ctx context.Context, m *Message) ([]Explanation, error) {
	ctx = store.Context(ctx)
	// m has not been published, so its names may be short ("BTS.x").
	props := slices.Clone(m.Context)
	for i := range props {
		props[i].Name = CanonicalName(props[i].Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.closedErr(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	subs := make([]*subState, 0, len(s.mu.routing.subs))
	for _, st := range s.mu.routing.subs {
		subs = append(subs, st)
	}
	s.mu.Unlock()
	// Subscriptions are immutable once stored, so they can be read
	// without the lock.
	slices.SortFunc(subs, func(a, b *subState) int { return compareUUID(a.ID, b.ID) })
	out := make([]Explanation, len(subs))
	for i, st := range subs {
		x := Explanation{Subscription: st.ID, Name: st.Name, Host: st.Host, Groups: make([]GroupResult, len(st.Predicate))}
		for gi, g := range st.Predicate {
			gr := GroupResult{Matched: true, Conditions: make([]ConditionResult, len(g))}
			for ci := range g {
				o := g[ci].Eval(props)
				gr.Conditions[ci] = ConditionResult{Condition: g[ci], Outcome: o}
				if o != Holds {
					gr.Matched = false
				}
			}
			x.Groups[gi] = gr
			x.Matched = x.Matched || gr.Matched
		}
		out[i] = x
	}
	return out, nil
}

// ExplainMessage is Explain for a stored message.
func (s *Store) ExplainMessage(ctx context.Context, id uuid.UUID) ([]Explanation, error) {
	ctx = store.Context(ctx)
	m, err := s.GetMessage(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.Explain(ctx, m)
}
