package cluster

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestMeasureSyncThroughput measures sync-mode commit throughput as a ratio
// of a standalone group's, alternating the two in the same run (the disk's
// fsync rate drifts too much to compare runs): 2 KiB messages, one
// MessageBox and one Tracking write per commit, 32 concurrent writers, real
// disk with fsync. Both nodes of the pair share this machine's disk and
// CPUs, which a real pair does not. Run with
//
//	BIZTIER_MEASURE=1 go test ./cluster/ -run TestMeasureSyncThroughput -v
func TestMeasureSyncThroughput(t *testing.T) {
	if os.Getenv("BIZTIER_MEASURE") == "" {
		t.Skip("set BIZTIER_MEASURE=1 to measure")
	}
	const (
		rounds  = 5
		period  = 2 * time.Second
		writers = 32
	)
	body := make([]byte, 2048)
	gopts := func() *biztier.Options {
		return &biztier.Options{FS: vfs.Default, CheckpointInterval: -1}
	}
	g, err := biztier.Open(t.TempDir(), gopts())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	w := NewLocalWitness(2 * time.Second)
	a, err := Open(t.TempDir(), &Options{ID: "a", Witness: w, Group: gopts()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := WaitActive(ctx, a); err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.TempDir(), &Options{ID: "b", Witness: w, Group: gopts()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for a.Status().SyncState != "sync" {
		if ctx.Err() != nil {
			t.Fatal("passive not in sync")
		}
		time.Sleep(time.Millisecond)
	}
	measure := func(update func(context.Context, func(*biztier.Tx) error) (uint64, error)) float64 {
		var n, seq atomic.Uint64
		deadline := time.Now().Add(period)
		var wg sync.WaitGroup
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					k := fmt.Appendf(nil, "m%d", seq.Add(1))
					_, err := update(context.Background(), func(tx *biztier.Tx) error {
						if err := tx.Set(biztier.MessageBox, k, body); err != nil {
							return err
						}
						return tx.Set(biztier.Tracking, k, k)
					})
					if err != nil {
						t.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(n.Load()) / period.Seconds()
	}
	var sa, sp float64
	for i := range rounds {
		s := measure(g.Update)
		p := measure(a.Update)
		t.Logf("round %d: standalone %.0f msgs/s, sync pair %.0f msgs/s, ratio %.2f", i, s, p, p/s)
		sa, sp = sa+s, sp+p
	}
	t.Logf("sync/standalone = %.2f (%.0f vs %.0f msgs/s over %d rounds of %v)", sp/sa, sp/rounds, sa/rounds, rounds, period)
}

// TestMeasureSyncMessaging is TestMeasureSyncThroughput on the BizTalk
// Benchmark Wizard messaging flow through the MessageBox (a 2 KiB message
// with a promoted message type published, routed to one send subscription,
// dequeued and completed, tracking on as by default): a standalone group
// against the active of a sync pair, alternating in one run.
//
//	BIZTIER_MEASURE=1 go test ./cluster/ -run TestMeasureSyncMessaging -v
func TestMeasureSyncMessaging(t *testing.T) {
	if os.Getenv("BIZTIER_MEASURE") == "" {
		t.Skip("set BIZTIER_MEASURE=1 to measure")
	}
	const (
		rounds  = 5
		period  = 2 * time.Second
		workers = 32
		msgType = "http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType"
	)
	ctx := context.Background()
	body := make([]byte, 2048)
	gopts := func() *biztier.Options { return &biztier.Options{FS: vfs.Default, CheckpointInterval: -1} }
	setup := func(mb *messagebox.Store) {
		t.Helper()
		if err := mb.CreateHost(ctx, "SendHost"); err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Subscribe(ctx, messagebox.Subscription{Name: "SendPort1", Host: "SendHost",
			Predicate: messagebox.Or(messagebox.And(messagebox.Eq(msgType, messagebox.String("urn:bbw#Order"))))}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := biztier.Open(t.TempDir(), gopts())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	gmb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	setup(gmb)
	w := NewLocalWitness(2 * time.Second)
	a, err := Open(t.TempDir(), &Options{ID: "a", Witness: w, Group: gopts()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := WaitActive(wctx, a); err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.TempDir(), &Options{ID: "b", Witness: w, Group: gopts()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for a.Status().SyncState != "sync" {
		if wctx.Err() != nil {
			t.Fatal("passive not in sync")
		}
		time.Sleep(time.Millisecond)
	}
	amb, err := a.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	setup(amb)
	measure := func(mb *messagebox.Store) float64 {
		var n atomic.Uint64
		deadline := time.Now().Add(period)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					m := messagebox.NewMessage(body, messagebox.Promoted(msgType, messagebox.String("urn:bbw#Order")))
					if _, _, err := mb.Publish(ctx, m); err != nil {
						t.Error(err)
						return
					}
					ds, err := mb.Dequeue(ctx, "SendHost", 1, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					for _, d := range ds {
						if err := mb.Complete(ctx, d.Lease); err != nil {
							t.Error(err)
							return
						}
						n.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return float64(n.Load()) / period.Seconds()
	}
	var sa, sp float64
	for i := range rounds {
		s := measure(gmb)
		p := measure(amb)
		t.Logf("round %d: standalone %.0f msgs/s, sync pair %.0f msgs/s, ratio %.2f", i, s, p, p/s)
		sa, sp = sa+s, sp+p
	}
	t.Logf("sync/standalone = %.2f (%.0f vs %.0f msgs/s over %d rounds of %v)", sp/sa, sp/rounds, sa/rounds, rounds, period)
}
