package bam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
)

// State is where an activity instance is.
type State uint8

// The instance states. Queries take them as a set: Active|Completed.
const (
	Active State = 1 << iota
	Completed
	Archived
	// AllStates is every state: one query spans the Active and
	// Completed tables and the archive (BizTalk's bam_<A>_AllInstances).
	AllStates = Active | Completed | Archived
)

// String names the state.
func (s State) String() string {
	switch s {
	case Active:
		return "Active"
	case Completed:
		return "Completed"
	case Archived:
		return "Archived"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Instance is an activity instance as queries return it. It is the
// caller's.
type Instance struct {
	Activity, ID string
	State        State
	// Begun and Ended say whether the instance's BeginActivity and the
	// EndActivity of its main segment have been folded.
	Begun, Ended bool
	// Values are the checkpoints that are set, by name.
	Values map[string]Value
	// Continuations are the tokens enabled for the instance, in order.
	Continuations []Continuation
	References    []Reference
	// Created and Modified are the times of the first and last event;
	// Completed is when the last segment ended (zero while active).
	Created, Modified, Completed time.Time
}

// Continuation is a continuation token of an instance and whether its
// segment has ended.
type Continuation struct {
	Token string
	Ended bool
}

func (in *instance) public(activity string, st State) *Instance {
	out := &Instance{Activity: activity, ID: in.id, State: st, Begun: in.begun, Ended: in.ended,
		Values: make(map[string]Value, len(in.fields)), References: slices.Clone(in.refs),
		Created: in.created, Modified: in.modified, Completed: in.completed}
	for _, f := range in.fields {
		out.Values[f.name] = f.v
	}
	for _, t := range in.tokens {
		out.Continuations = append(out.Continuations, Continuation{Token: t, Ended: !slices.Contains(in.pending, t)})
	}
	return out
}

// private is the record of a public Instance (for archives).
func (p *Instance) private() *instance {
	in := &instance{id: p.ID, begun: p.Begun, ended: p.Ended, refs: slices.Clone(p.References),
		created: p.Created, modified: p.Modified, completed: p.Completed}
	for name, v := range p.Values {
		in.set(name, v)
	}
	for _, c := range p.Continuations {
		in.tokens = append(in.tokens, c.Token)
		if !c.Ended {
			in.pending = append(in.pending, c.Token)
		}
	}
	return in
}

// Instance returns an activity instance by its ID or by one of its
// continuation tokens, wherever it is: Active, Completed or, with an
// Archive configured, archived. It fails with ErrNotFound.
func (s *Store) Instance(ctx context.Context, activity, id string) (*Instance, error) {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.cat.Load().acts[activity] == nil {
		return nil, fmt.Errorf("%w: activity %s", ErrNotDeployed, activity)
	}
	root := id
	if v, err := get(s.r, contKey(activity, id)); err == nil {
		c, err := decodeCont(v)
		if err != nil {
			return nil, err
		}
		root = c.parent
	} else if !errors.Is(err, errNotFound) {
		return nil, err
	}
	v, err := get(s.r, activeKey(activity, root))
	if err == nil {
		in, err := decodeInstance(v)
		if err != nil {
			return nil, err
		}
		return in.public(activity, Active), nil
	}
	if !errors.Is(err, errNotFound) {
		return nil, err
	}
	in, _, err := readCompleted(s.r, activity, root)
	if err != nil {
		return nil, err
	}
	if in != nil {
		return in.public(activity, Completed), nil
	}
	if s.opts.Archive != nil {
		var found *Instance
		err := s.opts.Archive.Scan(ctx, activity, func(p *Instance) error {
			if p.ID == root || slices.ContainsFunc(p.Continuations, func(c Continuation) bool { return c.Token == id }) {
				found = p
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
		if found != nil {
			found.State = Archived
			return found, nil
		}
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, activity, id)
}

// Op is a query condition's comparison.
type Op uint8

// The comparisons. Set and NotSet ignore the condition's value.
const (
	Eq Op = iota + 1
	Ne
	Lt
	Le
	Gt
	Ge
	Set
	NotSet
)

// Condition is one test of a query: a checkpoint compared with a value
// given as UpdateActivity takes it.
type Condition struct {
	Checkpoint string
	Op         Op
	Value      any
}

// Query selects instances of an activity.
type Query struct {
	// States is where to look; 0 means AllStates.
	States State
	// Where are conditions that must all hold.
	Where []Condition
	// Limit bounds the result; 0 means no bound.
	Limit int
}

// Instances returns the instances of an activity that the query selects:
// active ones first (by ID), then completed ones (by completion time),
// then archived ones. It reads one consistent view per table.
func (s *Store) Instances(ctx context.Context, activity string, q Query) ([]*Instance, error) {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return nil, err
	}
	act := s.cat.Load().acts[activity]
	if act == nil {
		return nil, fmt.Errorf("%w: activity %s", ErrNotDeployed, activity)
	}
	type cond struct {
		name string
		op   Op
		v    Value
	}
	conds := make([]cond, 0, len(q.Where))
	for _, c := range q.Where {
		cp := act.cps[c.Checkpoint]
		if cp == nil {
			return nil, &CheckpointError{Activity: activity, Checkpoint: c.Checkpoint, Err: ErrUnknownCheckpoint}
		}
		var v Value
		if c.Op != Set && c.Op != NotSet {
			var err error
			if v, err = coerce(cp, c.Value); err != nil {
				return nil, &CheckpointError{Activity: activity, Checkpoint: c.Checkpoint, Err: err}
			}
		}
		if c.Op < Eq || c.Op > NotSet {
			return nil, fmt.Errorf("%w: operator %d", ErrInvalid, c.Op)
		}
		conds = append(conds, cond{c.Checkpoint, c.Op, v})
	}
	match := func(get func(string) Value) bool {
		for _, c := range conds {
			x := get(c.name)
			switch c.op {
			case Set:
				if !x.IsSet() {
					return false
				}
				continue
			case NotSet:
				if x.IsSet() {
					return false
				}
				continue
			}
			if !x.IsSet() {
				return false
			}
			r := compare(x, c.v)
			ok := map[Op]bool{Eq: r == 0, Ne: r != 0, Lt: r < 0, Le: r <= 0, Gt: r > 0, Ge: r >= 0}[c.op]
			if !ok {
				return false
			}
		}
		return true
	}
	states := q.States
	if states == 0 {
		states = AllStates
	}
	var out []*Instance
	full := func() bool { return q.Limit > 0 && len(out) >= q.Limit }
	collect := func(st State, prefix []byte) error {
		lo, hi := keys.PrefixBounds(prefix)
		return scan(s.r, lo, hi, func(k, v []byte) error {
			in, err := decodeInstance(v)
			if err != nil {
				return err
			}
			if match(in.get) {
				out = append(out, in.public(activity, st))
			}
			if full() {
				return errStop
			}
			return nil
		})
	}
	if states&Active != 0 {
		if err := collect(Active, activePrefix(activity)); err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
	}
	if states&Completed != 0 && !full() {
		if err := collect(Completed, completedPrefix(activity)); err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
	}
	if states&Archived != 0 && !full() && s.opts.Archive != nil {
		err := s.opts.Archive.Scan(ctx, activity, func(p *Instance) error {
			// A partition archived by a maintenance pass that crashed
			// before deleting it is still in the database: count it once.
			if _, err := get(s.r, byIDKey(activity, p.ID)); err == nil {
				return nil
			} else if !errors.Is(err, errNotFound) {
				return err
			}
			getValue := func(name string) Value { return p.Values[name] }
			if match(getValue) {
				p.State = Archived
				out = append(out, p)
			}
			if full() {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
	}
	return out, nil
}
