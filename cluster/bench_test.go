package cluster

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkReplication compares commits of 2 KiB messages (one MessageBox
// write and one Tracking write per transaction, the shape of a BizTalk
// publish) on a standalone group with the same commits on the active of a
// sync, sync-apply and async pair, on real disk (b.TempDir) with fsync on.
// The MessageBox API is not ready, so the payload is written through
// Group.Update rather than by the BBW messaging scenario.
//
//	go test ./cluster/ -run '^$' -bench BenchmarkReplication -benchtime 3s -count 3
func BenchmarkReplication(b *testing.B) {
	body := make([]byte, 2048)
	for i := range body {
		body[i] = byte(i)
	}
	gopts := func() *biztier.Options {
		return &biztier.Options{FS: vfs.Default, CheckpointInterval: -1, MemTableSize: 64 << 20}
	}
	run := func(b *testing.B, update func(context.Context, func(*biztier.Tx) error) (uint64, error)) {
		var seq atomic.Uint64
		b.SetParallelism(8)
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := fmt.Appendf(nil, "m%d", seq.Add(1))
				_, err := update(context.Background(), func(tx *biztier.Tx) error {
					if err := tx.Set(biztier.MessageBox, k, body); err != nil {
						return err
					}
					return tx.Set(biztier.Tracking, k, k)
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	}
	b.Run("mode=standalone", func(b *testing.B) {
		g, err := biztier.Open(b.TempDir(), gopts())
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		run(b, g.Update)
	})
	for _, mode := range []Mode{Sync, SyncApply, Async} {
		b.Run("mode="+mode.String(), func(b *testing.B) {
			w := NewLocalWitness(2 * time.Second)
			open := func(id string) *Node {
				n, err := Open(b.TempDir(), &Options{ID: id, Witness: w, Mode: mode, Group: gopts()})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = n.Close() })
				return n
			}
			a := open("a")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := WaitActive(ctx, a); err != nil {
				b.Fatal(err)
			}
			open("b")
			for a.Status().PeerFlushedLSN < a.Status().DurableLSN || (mode != Async && a.Status().SyncState != "sync") {
				if ctx.Err() != nil {
					b.Fatal("passive did not catch up")
				}
				time.Sleep(time.Millisecond)
			}
			run(b, a.Update)
		})
	}
}
