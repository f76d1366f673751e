package rules

import (
	"context"
	"errors"
	"fmt"
)

// FactRetriever supplies long-term facts: objects that stay in working
// memory across executions, such as reference data (BizTalk's
// IFactRetriever). UpdateFacts is called before each execution with the
// handle it returned last time (nil the first time); it returns the facts
// to keep and a new handle. Returning the same facts again is cheap.
type FactRetriever interface {
	UpdateFacts(ctx context.Context, p *Policy, handle any) (facts []any, newHandle any, err error)
}

// Result describes one execution.
type Result struct {
	// Firings is the number of rules fired.
	Firings int
	// Halted reports that a Halt action stopped the execution.
	Halted bool
}

// Interceptor observes executions, as BizTalk's tracking interceptor does:
// fact activity, condition evaluations, agenda updates and rule firings, in
// the order they happen.
// Its methods run on the executing goroutine and must not call back into
// the Engine. obj is the object the caller (or an action) asserted.
type Interceptor interface {
	// FactAsserted reports an object entering working memory as n facts
	// (one per binding and, for a document, per selected node).
	FactAsserted(obj any, n int)
	// FactUpdated reports an Update (or a re-assert) of an object.
	FactUpdated(obj any)
	// FactRetracted reports an object leaving working memory.
	FactRetracted(obj any)
	// ConditionEvaluated reports one test of a condition evaluated on the
	// objects it reads, and its result. Tests shared by several rules are
	// evaluated, and reported, once per fact.
	ConditionEvaluated(test string, objs []any, result bool)
	// AgendaAdded reports a rule whose conditions hold going on the agenda.
	AgendaAdded(rule string, priority int)
	// RuleFired reports a rule about to run its actions.
	RuleFired(rule string, priority int)
}

// EngineOptions configure an Engine. A nil *EngineOptions means none.
type EngineOptions struct {
	// FactRetriever supplies long-term facts. Defaults to none.
	FactRetriever FactRetriever
	// Interceptor observes each execution. Defaults to none; without one
	// the engine pays nothing for tracking.
	Interceptor Interceptor
}

// Engine runs one Policy with its own working memory: short-term facts
// given to Execute are retracted when it returns; long-term facts from the
// FactRetriever stay. Creating an Engine costs a few allocations; the
// Policy it runs is shared. An Engine is not safe for concurrent use: use
// one per goroutine (or Policy.Execute, which pools them).
type Engine struct {
	p         *Policy
	retriever FactRetriever
	handle    any
	longTerm  []any
	x         *exec
}

// NewEngine returns an Engine for p.
func NewEngine(p *Policy, opts *EngineOptions) *Engine {
	e := &Engine{p: p}
	if p != nil {
		e.x = newExec(p)
	}
	if opts != nil {
		e.retriever = opts.FactRetriever
		if e.x != nil {
			e.x.ic = opts.Interceptor
		}
	}
	return e
}

// Policy returns the policy the engine runs.
func (e *Engine) Policy() *Policy { return e.p }

// Execute asserts the long-term facts and facts (Go values of registered
// types, *XMLDocument, *Row) and the rows of every table source the policy
// binds, then fires rules until none is left on the agenda or a Halt. It
// fails with a *LoopError (ErrLoopLimit) when rules fire more than the
// loop limit, with ErrFact for a fact it cannot use, or with ctx's error
// (checked every 256 firings). Changes the actions made to facts (setters,
// XML fields) stay in them, whatever the outcome.
func (e *Engine) Execute(ctx context.Context, facts ...any) (Result, error) {
	if e == nil || e.p == nil || e.x == nil {
		return Result{}, fmt.Errorf("%w: nil engine", ErrInvalid)
	}
	if ctx == nil {
		return Result{}, fmt.Errorf("%w: nil context", ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if e.retriever != nil {
		lt, h, err := e.retriever.UpdateFacts(ctx, e.p, e.handle)
		if err != nil {
			return Result{}, fmt.Errorf("rules: fact retriever: %w", err)
		}
		e.longTerm, e.handle = lt, h
	}
	x := e.x
	x.reset()
	x.ctx = ctx
	defer x.reset() // drop references to the caller's facts
	for _, b := range e.p.tables {
		rows, err := e.p.bindings[b].src.Rows(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("rules: table %s.%s: %w", e.p.bindings[b].dataset, e.p.bindings[b].table, err)
		}
		for _, r := range rows {
			if err := x.assertObject(r); err != nil {
				return Result{}, err
			}
		}
	}
	for _, set := range [][]any{e.longTerm, facts} {
		for _, f := range set {
			if err := x.assertObject(f); err != nil {
				return Result{}, err
			}
		}
	}
	if x.err != nil {
		return Result{}, x.err
	}
	err := x.run()
	res := Result{Firings: x.firings, Halted: x.halted}
	var le *LoopError
	if err != nil && !errors.As(err, &le) && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("rules: policy %s %s: %w", e.p.name, e.p.version, err)
	}
	return res, err
}

// Execute runs the policy once on facts with a pooled Engine and no
// long-term facts. It is safe for concurrent use.
func (p *Policy) Execute(ctx context.Context, facts ...any) (Result, error) {
	if p == nil {
		return Result{}, fmt.Errorf("%w: nil policy", ErrInvalid)
	}
	e, _ := p.engines.Get().(*Engine)
	if e == nil {
		e = NewEngine(p, nil)
	}
	defer p.engines.Put(e)
	return e.Execute(ctx, facts...)
}
