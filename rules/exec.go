package rules

import (
	"context"
	"fmt"
	"reflect"

	"github.com/antchfx/xmlquery"
)

// fact is one object in working memory as one binding sees it: an XML node
// a binding's selector picked, a Go value, a row. One asserted object can be
// several facts (a document is one fact per selected node per binding).
type fact struct {
	binding int
	obj     any            // what the caller asserted
	node    *xmlquery.Node // for XML bindings
	alive   bool
	// ver counts updates: an activation is stale once a fact it matched
	// on has been updated since.
	ver uint32
}

type opKind uint8

const (
	opAssert opKind = iota + 1
	opUpdate
	opRetract
	opRetractBinding
	opRetractObject
	opUpdateObject
	opRetractType
)

type pending struct {
	kind    opKind
	f       *fact
	obj     any
	binding int
}

// activation is a rule instantiated on a tuple of facts: an agenda entry.
type activation struct {
	rule int32
	seq  uint64
	off  int32 // the tuple is x.tuples[off:off+len(rule.refs)]
}

// exec is one execution's working memory, agenda and network memories.
// It belongs to one Engine and is reused across its executions.
type exec struct {
	p   *Policy
	ctx context.Context
	err error

	facts   []*fact
	objects map[any][]*fact
	mem     [][]*fact // per slot: facts that passed the slot's tests
	dirty   []int32   // slots whose memory is not empty, for reset
	counts  []int32   // per slot, scratch for alpha counting
	touched []int32
	passed  []int

	agenda  agendaHeap
	seq     uint64
	tuples  []*fact
	vers    []uint32
	scratch []*fact
	one     [1]*fact

	ic Interceptor // nil: no tracking

	pendingOps  []pending
	halted      bool
	clearAgenda bool
	firings     int
}

func (x *exec) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

func (x *exec) pend(k opKind, f *fact, obj any, b int) {
	x.pendingOps = append(x.pendingOps, pending{kind: k, f: f, obj: obj, binding: b})
}

func newExec(p *Policy) *exec {
	return &exec{
		p:       p,
		objects: map[any][]*fact{},
		mem:     make([][]*fact, len(p.slots)),
		counts:  make([]int32, len(p.slots)),
		agenda:  agendaHeap{p: p},
	}
}

// reset empties working memory, keeping allocations, and drops every
// reference to the caller's facts.
func (x *exec) reset() {
	x.ctx = nil
	x.err = nil
	clear(x.facts)
	x.facts = x.facts[:0]
	clear(x.objects)
	for _, s := range x.dirty {
		clear(x.mem[s])
		x.mem[s] = x.mem[s][:0]
	}
	x.dirty = x.dirty[:0]
	x.agenda.acts = x.agenda.acts[:0]
	x.seq = 0
	clear(x.tuples)
	x.tuples = x.tuples[:0]
	x.vers = x.vers[:0]
	x.pendingOps = x.pendingOps[:0]
	x.halted, x.clearAgenda = false, false
	x.firings = 0
}

// assertObject puts a caller's object into working memory: one fact per
// binding (and, for documents, per selected node) that can see it. An
// object already in working memory is updated instead. Objects no binding
// uses are ignored, as BizTalk ignores facts no rule refers to.
func (x *exec) assertObject(obj any) error {
	if obj == nil {
		return fmt.Errorf("%w: nil fact", ErrFact)
	}
	t := reflect.TypeOf(obj)
	if !t.Comparable() {
		return fmt.Errorf("%w: fact of type %s is not comparable; assert a pointer", ErrFact, t)
	}
	if fs, ok := x.objects[obj]; ok {
		x.updateObject(obj, fs)
		return nil
	}
	var made []*fact
	switch o := obj.(type) {
	case *XMLDocument:
		if o == nil || o.Root == nil {
			return fmt.Errorf("%w: XML document without a root", ErrFact)
		}
		for _, b := range x.p.xmlIndex[o.Type] {
			for _, n := range x.p.bindings[b].selector.all(o.Root) {
				made = append(made, &fact{binding: b, obj: obj, node: n, alive: true})
			}
		}
	case *Row:
		for _, b := range x.p.rowIndex[o.Dataset+"."+o.Table] {
			made = append(made, &fact{binding: b, obj: obj, alive: true})
		}
	default:
		for _, b := range x.p.typeIndex[t] {
			made = append(made, &fact{binding: b, obj: obj, alive: true})
		}
	}
	x.objects[obj] = made
	if x.ic != nil {
		x.ic.FactAsserted(obj, len(made))
	}
	for _, f := range made {
		x.facts = append(x.facts, f)
		x.match(f, false)
	}
	return nil
}

// match runs a fact through the network: the binding's tests (the equality
// index answers "member equal constant" tests with one lookup per member),
// then, for every rule position whose tests all pass, the join with the
// facts at the rule's other positions; each tuple that passes the rule's
// remaining tests becomes an activation. With condOnly, only positions the
// conditions use are matched (an Update).
func (x *exec) match(f *fact, condOnly bool) {
	p := x.p
	b := f.binding
	x.one[0] = f
	one := x.one[:]
	x.passed = x.passed[:0]
	if x.ic != nil {
		// Tracking reports every test, so the index is bypassed: each
		// test is evaluated on its own.
		for _, id := range p.alphasOf[b] {
			ok := p.alphas[id].test(x, one)
			x.ic.ConditionEvaluated(p.alphas[id].text, []any{f.obj}, ok)
			if ok {
				x.passed = append(x.passed, id)
			}
		}
	} else {
		for _, g := range p.eqGroups[b] {
			if k, ok := indexKey(g.get(x, one)); ok {
				x.passed = append(x.passed, g.idx[k]...)
			}
		}
		for _, id := range p.plain[b] {
			if p.alphas[id].test(x, one) {
				x.passed = append(x.passed, id)
			}
		}
	}
	for _, s := range p.zeroSlots[b] {
		x.enter(f, s, condOnly)
	}
	x.touched = x.touched[:0]
	for _, id := range x.passed {
		for _, s := range p.alphaSlots[id] {
			if x.counts[s] == 0 {
				x.touched = append(x.touched, s)
			}
			x.counts[s]++
			if x.counts[s] == p.slots[s].need {
				x.enter(f, s, condOnly)
			}
		}
	}
	for _, s := range x.touched {
		x.counts[s] = 0
	}
}

// enter adds f to slot s's memory and joins it.
func (x *exec) enter(f *fact, s int32, condOnly bool) {
	si := x.p.slots[s]
	if condOnly && !si.cond {
		return
	}
	if len(x.mem[s]) == 0 {
		x.dirty = append(x.dirty, s)
	}
	x.mem[s] = append(x.mem[s], f)
	r := x.p.rules[si.rule]
	n := len(r.refs)
	if cap(x.scratch) < n {
		x.scratch = make([]*fact, n)
	}
	tup := x.scratch[:n]
	tup[si.pos] = f
	x.join(r, tup, 0, int(si.pos))
}

// join fills the tuple's positions other than fixed from the slots'
// memories and activates every complete tuple that passes the rule's
// multi-fact tests.
func (x *exec) join(r *rule, tup []*fact, i, fixed int) {
	if i == len(tup) {
		for j, t := range r.beta {
			ok := t(x, tup)
			if x.ic != nil {
				objs := make([]any, len(tup))
				for k, f := range tup {
					objs[k] = f.obj
				}
				x.ic.ConditionEvaluated(r.betaText[j], objs, ok)
			}
			if !ok {
				return
			}
		}
		x.activate(r, tup)
		return
	}
	if i == fixed {
		x.join(r, tup, i+1, fixed)
		return
	}
	for _, g := range x.mem[r.slot[i]] {
		tup[i] = g
		x.join(r, tup, i+1, fixed)
	}
}

func (x *exec) activate(r *rule, tup []*fact) {
	off := int32(len(x.tuples))
	x.tuples = append(x.tuples, tup...)
	for _, f := range tup {
		x.vers = append(x.vers, f.ver)
	}
	x.seq++
	x.agenda.push(activation{rule: int32(r.idx), seq: x.seq, off: off})
	if x.ic != nil {
		x.ic.AgendaAdded(r.name, r.priority)
	}
}

// valid reports whether an activation still holds: its facts are in
// working memory and none it matched on has been updated since.
func (x *exec) valid(a activation) bool {
	r := x.p.rules[a.rule]
	for i := range r.refs {
		f := x.tuples[int(a.off)+i]
		if !f.alive || r.cond[i] && x.vers[int(a.off)+i] != f.ver {
			return false
		}
	}
	return true
}

func (x *exec) removeFromSlots(f *fact, condOnly bool) {
	for _, s := range x.p.allSlots[f.binding] {
		if condOnly && !x.p.slots[s].cond {
			continue
		}
		m := x.mem[s]
		for i, g := range m {
			if g == f {
				x.mem[s] = append(m[:i], m[i+1:]...)
				break
			}
		}
	}
}

// update re-evaluates a fact: rules whose conditions use it are matched
// again (their old activations on it are stale); rules that use it only in
// actions are not, as in BizTalk.
func (x *exec) update(f *fact) {
	if !f.alive {
		return
	}
	f.ver++
	x.removeFromSlots(f, true)
	x.match(f, true)
}

func (x *exec) retract(f *fact) {
	if !f.alive {
		return
	}
	f.alive = false
	x.removeFromSlots(f, false)
	if x.ic != nil {
		x.ic.FactRetracted(f.obj)
	}
}

// updateObject updates every fact of one object.
func (x *exec) updateObject(obj any, fs []*fact) {
	if x.ic != nil {
		x.ic.FactUpdated(obj)
	}
	for _, f := range fs {
		x.update(f)
	}
}

func (x *exec) apply(op pending) {
	switch op.kind {
	case opUpdate:
		if x.ic != nil && op.f.alive {
			x.ic.FactUpdated(op.f.obj)
		}
		x.update(op.f)
	case opRetract:
		x.retract(op.f)
	case opRetractBinding:
		for _, f := range x.facts {
			if f.binding == op.binding {
				x.retract(f)
			}
		}
	case opAssert:
		if err := x.assertObject(op.obj); err != nil {
			x.fail(err)
		}
	case opRetractObject:
		for _, f := range x.objects[op.obj] {
			x.retract(f)
		}
	case opUpdateObject:
		x.updateObject(op.obj, x.objects[op.obj])
	case opRetractType:
		t := reflect.TypeOf(op.obj)
		for o, fs := range x.objects {
			if reflect.TypeOf(o) == t {
				for _, f := range fs {
					x.retract(f)
				}
			}
		}
	}
}

// run fires activations until the agenda is empty, a Halt, an error or the
// loop limit.
func (x *exec) run() error {
	for _, ri := range x.p.constRules {
		x.activate(x.p.rules[ri], nil)
	}
	for x.agenda.Len() > 0 && !x.halted {
		if x.err != nil {
			return x.err
		}
		a := x.agenda.pop()
		if !x.valid(a) {
			continue
		}
		r := x.p.rules[a.rule]
		if x.firings >= x.p.loopLimit {
			return &LoopError{Policy: x.p.name, Limit: x.p.loopLimit, Rule: r.name}
		}
		x.firings++
		if x.ic != nil {
			x.ic.RuleFired(r.name, r.priority)
		}
		if x.firings&255 == 0 {
			if err := x.ctx.Err(); err != nil {
				return err
			}
		}
		tup := x.tuples[a.off : int(a.off)+len(r.refs)]
		// All of a rule's actions run, top to bottom, before matching
		// resumes: working-memory changes wait until the block is done.
		for _, act := range r.actions {
			act(x, tup)
			if x.err != nil {
				return fmt.Errorf("rule %q: %w", r.name, x.err)
			}
		}
		for i := 0; i < len(x.pendingOps); i++ {
			x.apply(x.pendingOps[i])
		}
		x.pendingOps = x.pendingOps[:0]
		if x.clearAgenda {
			x.agenda.acts = x.agenda.acts[:0]
		}
	}
	return x.err
}

// agendaHeap orders activations: higher priority first, then the rule's
// place in the policy, then the order they were made. It is a binary heap
// over a slice of values (container/heap would box each activation).
type agendaHeap struct {
	p    *Policy
	acts []activation
}

func (h *agendaHeap) Len() int { return len(h.acts) }

func (h *agendaHeap) less(a, b activation) bool {
	ra, rb := h.p.rules[a.rule], h.p.rules[b.rule]
	if ra.priority != rb.priority {
		return ra.priority > rb.priority
	}
	if a.rule != b.rule {
		return a.rule < b.rule
	}
	return a.seq < b.seq
}

func (h *agendaHeap) push(a activation) {
	h.acts = append(h.acts, a)
	i := len(h.acts) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(h.acts[i], h.acts[parent]) {
			break
		}
		h.acts[i], h.acts[parent] = h.acts[parent], h.acts[i]
		i = parent
	}
}

func (h *agendaHeap) pop() activation {
	top := h.acts[0]
	n := len(h.acts) - 1
	h.acts[0] = h.acts[n]
	h.acts = h.acts[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(h.acts[l], h.acts[m]) {
			m = l
		}
		if r < n && h.less(h.acts[r], h.acts[m]) {
			m = r
		}
		if m == i {
			return top
		}
		h.acts[i], h.acts[m] = h.acts[m], h.acts[i]
		i = m
	}
}
