package cluster_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/cluster"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Example runs a pair in one process with the in-process witness: the
// first node becomes active, the second follows it, a commit on the active
// is on the passive when it is acknowledged, and a planned switchover hands
// the active role over.
func Example() {
	w := cluster.NewLocalWitness(time.Second)
	open := func(id string) *cluster.Node {
		n, err := cluster.Open("group", &cluster.Options{
			ID:      id,
			Witness: w,
			Group:   &biztier.Options{FS: vfs.NewMem(), MemTableSize: 4 << 20, CheckpointInterval: -1},
		})
		if err != nil {
			log.Fatal(err)
		}
		return n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := open("a")
	defer a.Close()
	if _, err := cluster.WaitActive(ctx, a); err != nil {
		log.Fatal(err)
	}
	b := open("b")
	defer b.Close()
	for a.Status().SyncState != "sync" { // wait until b is in the sync record
		time.Sleep(time.Millisecond)
	}

	_, err := a.Update(ctx, func(tx *biztier.Tx) error {
		return tx.Set(biztier.MessageBox, []byte("order-1"), []byte("received"))
	})
	if err != nil {
		log.Fatal(err)
	}
	for b.Status().AppliedLSN < a.Status().AppliedLSN { // sync mode: durable on b; applied a moment later
		time.Sleep(time.Millisecond)
	}
	v, _, _ := b.Group().Get(biztier.MessageBox, []byte("order-1"))
	fmt.Printf("on the passive: %s\n", v)

	if err := a.Switchover(ctx); err != nil {
		log.Fatal(err)
	}
	active, err := cluster.WaitActive(ctx, a, b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("active after switchover:", active.ID())
	_, err = a.Update(ctx, func(tx *biztier.Tx) error { return nil })
	fmt.Println("commit on the old active:", err)
	// Output:
	// on the passive: received
	// active after switchover: b
	// commit on the old active: cluster: node is not active
}
