package biztier

import (
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/rules"
)

// This file opens package rules on the group (its Database adapter is in
// databases.go).

// Rules returns the group's Business Rules database
// (BizTalkRuleEngineDb), opening it on first use with opts (nil: defaults,
// with the group's clock); later calls return the same Store and ignore
// opts. Its policies, vocabularies and deployment history commit on the
// group log, so they ride backup, log shipping and the passive node. Run
// policies with rules.NewRuntime on it. It fails with ErrClosed after
// Close.
func (g *Group) Rules(opts *rules.Options) (*rules.Store, error) {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	if g.closed.Load() {
		return nil, ErrClosed
	}
	if g.typed.ru != nil {
		return g.typed.ru, nil
	}
	var o rules.Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = g.opts.Now
	}
	s, err := rules.Open(rulesDatabase{database{set: g.set, id: store.Rules}}, &o)
	if err != nil {
		return nil, fmt.Errorf("biztier: open rules: %w", err)
	}
	g.typed.ru = s
	return s, nil
}

// closeRulesLocked closes the rule store if it was opened; g.typed.mu is
// held.
func (g *Group) closeRulesLocked() error {
	if g.typed.ru == nil {
		return nil
	}
	err := g.typed.ru.Close()
	g.typed.ru = nil
	return err
}
