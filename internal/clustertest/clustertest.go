// Package clustertest opens the in-memory cluster nodes that the tests of
// the operator packages (the console, the metrics collector, the biztier
// command) run against, so that each does not repeat the set-up.
package clustertest

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/cluster"
)

// Pair opens the nodes of one group, which share an in-process witness.
type Pair struct {
	t testing.TB
	w *cluster.LocalWitness
}

// NewPair returns a Pair whose witness leases last a second.
func NewPair(t testing.TB) *Pair {
	return &Pair{t: t, w: cluster.NewLocalWitness(time.Second)}
}

// Open opens node id on an in-memory file system; the test's cleanup
// closes it.
func (p *Pair) Open(id string) *cluster.Node {
	p.t.Helper()
	n, err := cluster.Open("group", &cluster.Options{
		ID: id, Witness: p.w,
		Group: &biztier.Options{FS: vfs.NewMem(), MemTableSize: 4 << 20, CheckpointInterval: -1},
	})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { n.Close() })
	return n
}

// Active opens node id and waits, up to 10 seconds, until it is the
// active node.
func (p *Pair) Active(id string) *cluster.Node {
	p.t.Helper()
	n := p.Open(id)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cluster.WaitActive(ctx, n); err != nil {
		p.t.Fatal(err)
	}
	return n
}
