package biztier

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/internal/store"
)

// This file opens package bam (BAMPrimaryImport) on the group: its
// Database adapter, Group.BAM, and its close.

// bamDatabase is the group's BAM database as package bam sees it.
type bamDatabase struct{ database }

func (d bamDatabase) Begin() bam.Txn { return d.set.NewTxn() }

var (
	_ bam.Database = bamDatabase{}
	_ bam.Tx       = (*Tx)(nil)
)

// BAM returns the group's BAM Primary Import database, opening it on first
// use with opts (nil: defaults, with the group's clock); later calls
// return the same Store and ignore opts. Opening starts the decoder of
// buffered, orchestration and messaging events, which first moves what an
// earlier process left spooled. BAM's definitions, instances and spool
// commit on the group log, so they ride backup, log shipping and the
// passive node; a Tx from Update (or a persistence point's) carries
// orchestration and messaging stream events into the same commit. It
// fails with ErrClosed after Close.
func (g *Group) BAM(ctx context.Context, opts *bam.Options) (*bam.Store, error) {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	if g.closed.Load() {
		return nil, ErrClosed
	}
	if g.typed.bam != nil {
		return g.typed.bam, nil
	}
	var o bam.Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = g.opts.Now
	}
	s, err := bam.Open(ctx, bamDatabase{database{set: g.set, id: store.BAM}}, &o)
	if err != nil {
		return nil, fmt.Errorf("biztier: open bam: %w", err)
	}
	g.typed.bam = s
	return s, nil
}

// closeBAMLocked stops the BAM store (its decoder) if it was opened, before
// the databases under it close; g.typed.mu is held.
func (g *Group) closeBAMLocked() error {
	if g.typed.bam == nil {
		return nil
	}
	err := g.typed.bam.Close()
	g.typed.bam = nil
	return err
}
