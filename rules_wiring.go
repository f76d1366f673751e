package biztier

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/rules"
	"github.com/cockroachdb/pebble/v2"
)

// This file is the one seam between the group and package rules:
// rulesDatabase adapts the group's store set to rules.DB. When the group
// gets its public transaction, only this file changes.

// rulesDatabase is the group's Rules database as package rules sees it.
type rulesDatabase struct {
	set *store.Set
}

var _ rules.DB = rulesDatabase{}

// NewIter implements rules.DB.
func (d rulesDatabase) NewIter(o *pebble.IterOptions) (*pebble.Iterator, error) {
	return d.set.DB(store.Rules).NewIter(o)
}

// Commit implements rules.DB: the writes go into one group transaction.
func (d rulesDatabase) Commit(ctx context.Context, writes []rules.Write) (uint64, error) {
	tx := d.set.NewTxn()
	b := tx.BatchOf(store.Rules)
	for _, w := range writes {
		var err error
		if w.Delete {
			err = b.Delete(w.Key, nil)
		} else {
			err = b.Set(w.Key, w.Value, nil)
		}
		if err != nil {
			tx.Abort()
			return 0, err
		}
	}
	return tx.Commit(ctx)
}

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
	s, err := rules.Open(rulesDatabase{set: g.set}, &o)
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
