package biztier

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// benchGroup opens a group on real disk (Sync durability) holding about
// size bytes of 2 KiB messages, half compressible text, across the
// MessageBox and Tracking.
func benchGroup(b *testing.B, size int) (*Group, string) {
	b.Helper()
	dir := b.TempDir()
	g, err := Open(dir, &Options{Logger: store.PanicLogger{}, CheckpointInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	body := make([]byte, 2048)
	ctx := context.Background()
	for i := 0; i < size/(2048*64); i++ {
		_, err := g.Update(ctx, func(tx *Txn) error {
			for j := range 64 {
				for k := range body {
					if k%2 == 0 {
						body[k] = byte(rng.Uint32())
					} else {
						body[k] = 'a' + byte(k%26)
					}
				}
				key := fmt.Appendf(nil, "msg-%08d", i*64+j)
				if err := tx.Set(MessageBox, key, body); err != nil {
					return err
				}
				if err := tx.Set(Tracking, key, []byte("received")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return g, dir
}

// BenchmarkBackup measures a full backup's throughput (raw bytes per
// second, zstd default level) of a group on disk, Sync durability.
//
//	go test -run '^$' -bench 'BenchmarkBackup$' -benchtime 5x -count 10 .
func BenchmarkBackup(b *testing.B) {
	if testing.Short() {
		b.Skip("heavy: writes a group of 64 MiB")
	}
	for _, size := range []int{16 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			g, _ := benchGroup(b, size)
			defer g.Close()
			ctx := context.Background()
			root := b.TempDir()
			var raw, stored int64
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				dir := fmt.Sprintf("%s/%d", root, i)
				i++
				s, err := g.Backup(ctx, DirShipper(vfs.Default, dir), nil)
				if err != nil {
					b.Fatal(err)
				}
				raw, stored = s.RawBytes, s.Bytes
				b.SetBytes(raw)
			}
			b.StopTimer()
			b.ReportMetric(float64(stored)/float64(raw), "stored/raw")
		})
	}
}

// BenchmarkRestore measures restoring a full backup into a new directory
// (raw bytes per second), checksums and frame checks included.
//
//	go test -run '^$' -bench 'BenchmarkRestore$' -benchtime 5x -count 10 .
func BenchmarkRestore(b *testing.B) {
	if testing.Short() {
		b.Skip("heavy: writes a group of 64 MiB")
	}
	for _, size := range []int{16 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			g, _ := benchGroup(b, size)
			ctx := context.Background()
			bk := DirShipper(vfs.Default, b.TempDir())
			s, err := g.Backup(ctx, bk, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := g.Close(); err != nil {
				b.Fatal(err)
			}
			root := b.TempDir()
			b.SetBytes(s.RawBytes)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dir := fmt.Sprintf("%s/%d", root, i)
				i++
				if _, err := Restore(ctx, bk, dir, &RestoreOptions{Logger: store.PanicLogger{}}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkShippingCost measures the BizTalk Benchmark Wizard messaging
// flow on the Group's MessageBox (a 2 KiB message with a promoted property
// published, routed to one send subscription, dequeued and completed, with
// tracking on, as by default; 16 parallel callers, durable) with log
// shipping off and on (log backups every second, shipped to a DR directory
// on the same disk).
//
//	go test -run '^$' -bench 'BenchmarkShippingCost' -benchtime 20s -count 10 .
func BenchmarkShippingCost(b *testing.B) {
	if testing.Short() {
		b.Skip("heavy")
	}
	for _, ship := range []bool{false, true} {
		b.Run(fmt.Sprintf("ship=%v", ship), func(b *testing.B) {
			g, err := Open(b.TempDir(), &Options{Logger: store.PanicLogger{}})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			ctx := context.Background()
			mb, err := g.MessageBox()
			if err != nil {
				b.Fatal(err)
			}
			const msgType = "http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType"
			if err := mb.CreateHost(ctx, "SendHost"); err != nil {
				b.Fatal(err)
			}
			if _, err := mb.Subscribe(ctx, messagebox.Subscription{Name: "SendPort1", Host: "SendHost",
				Predicate: messagebox.Or(messagebox.And(messagebox.Eq(msgType, messagebox.String("urn:bbw#Order"))))}); err != nil {
				b.Fatal(err)
			}
			var job *LogShipping
			if ship {
				job, err = g.NewLogShipping(LogShippingOptions{
					Backup:   DirShipper(vfs.Default, b.TempDir()),
					DR:       DirShipper(vfs.Default, b.TempDir()),
					Interval: time.Second,
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := job.Start(ctx); err != nil {
					b.Fatal(err)
				}
			}
			body := make([]byte, 2048)
			b.SetParallelism(16)
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := messagebox.NewMessage(body, messagebox.Promoted(msgType, messagebox.String("urn:bbw#Order")))
					if _, _, err := mb.Publish(ctx, m); err != nil {
						b.Error(err)
						return
					}
					ds, err := mb.Dequeue(ctx, "SendHost", 1, time.Minute)
					if err != nil {
						b.Error(err)
						return
					}
					for _, d := range ds {
						if err := mb.Complete(ctx, d.Lease); err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			if job != nil {
				if err := job.Stop(ctx); err != nil {
					b.Fatal(err)
				}
				st := job.Status()
				if st.LastErr != nil {
					b.Fatal(st.LastErr)
				}
				b.ReportMetric(float64(st.Runs), "ship-runs")
			}
		})
	}
}
