package messagebox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Benchmarks. Run them all with
//
//	go test -run '^$' -bench . -benchtime 20s ./messagebox/
//
// The durable ones write to b.TempDir() with wal.Sync (every commit
// fsynced) and 64 MiB memtables; each prints its rate beside raw Pebble
// doing batched Sync Sets of the same bytes in the same run
// (BenchmarkEndToEnd/peer=pebble). Heavy ones are skipped under -short.

const benchBody = 2 << 10

func diskSet(b *testing.B) *store.Set {
	b.Helper()
	root := b.TempDir()
	o := setOptions(vfs.Default, root, wal.Sync)
	o.MemTableSize = 64 << 20
	o.CacheSize = 64 << 20
	set, err := store.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = set.Close() })
	return set
}

func memSet(b *testing.B) *store.Set {
	b.Helper()
	o := setOptions(vfs.NewMem(), "g", wal.NoSync)
	o.MemTableSize = 64 << 20
	set, err := store.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = set.Close() })
	return set
}

func benchStore(b *testing.B, set *store.Set, subs int) *Store {
	b.Helper()
	s, err := Open(dbOf(set), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	bg := context.Background()
	if err := s.CreateHost(bg, "send"); err != nil {
		b.Fatal(err)
	}
	// Subscribe from several goroutines so that the commits share fsyncs.
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(subs); i = next.Add(1) - 1 {
				typ := fmt.Sprintf("urn:bench#T%d", i)
				if _, err := s.Subscribe(bg, Subscription{Host: "send", Predicate: Or(And(Eq(typeProp, String(typ))))}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return s
}

func benchMessage(body []byte) *Message {
	return NewMessage(body, Promoted(typeProp, String("urn:bench#T0")), Written("urn:bench#Note", String("benchmark")))
}

// endToEnd publishes n messages from pubs goroutines in batches of batch
// and consumes them with consumers goroutines (each commit completes the
// previous batch and dequeues up to 512), returning when all are
// completed.
func endToEnd(b *testing.B, s *Store, n, pubs, batch, consumers int) {
	body := make([]byte, benchBody)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	var done atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, pubs+consumers)
	for range consumers {
		wg.Go(func() {
			// Each round completes the previous batch and dequeues the next
			// in one commit (CompleteAndDequeue's core, without its wait, so
			// the loop knows when the last completes are in).
			var pending []Lease
			for done.Load() < int64(n) {
				ds, err := s.dequeue(ctx, pending, "send", 512, time.Minute)
				if err == nil && len(ds) == 0 && len(pending) == 0 {
					ds, err = s.DequeueWait(ctx, "send", 512, time.Minute)
				}
				if errors.Is(err, context.Canceled) {
					return
				}
				if err != nil {
					errc <- err
					return
				}
				if done.Add(int64(len(pending))) >= int64(n) {
					cancel()
				}
				pending = pending[:0]
				for _, d := range ds {
					pending = append(pending, d.Lease)
				}
			}
		})
	}
	var pwg sync.WaitGroup
	var next atomic.Int64
	for range pubs {
		pwg.Go(func() {
			msgs := make([]*Message, 0, batch)
			for {
				start := next.Add(int64(batch)) - int64(batch)
				if start >= int64(n) {
					return
				}
				k := min(int64(batch), int64(n)-start)
				msgs = msgs[:0]
				for range k {
					msgs = append(msgs, benchMessage(body))
				}
				if _, err := s.PublishBatch(context.Background(), msgs); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	pwg.Wait()
	wg.Wait()
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
}

// rawPebble writes n 2 KiB values in batches of batch from pubs goroutines,
// each batch one Sync commit on a Pebble DB with its own WAL.
func rawPebble(b *testing.B, n, pubs, batch int) {
	db, err := pebble.Open(filepath.Join(b.TempDir(), "raw"), &pebble.Options{MemTableSize: 64 << 20, Logger: store.PanicLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	body := make([]byte, benchBody)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range pubs {
		wg.Go(func() {
			for {
				start := next.Add(int64(batch)) - int64(batch)
				if start >= int64(n) {
					return
				}
				bt := db.NewBatch()
				for i := start; i < min(start+int64(batch), int64(n)); i++ {
					_ = bt.Set(keys.AppendUint64([]byte{0x10}, uint64(i)), body, nil)
				}
				if err := bt.Commit(pebble.Sync); err != nil {
					b.Error(err)
				}
				_ = bt.Close()
			}
		})
	}
	wg.Wait()
}

// BenchmarkEndToEnd measures publish → dequeue → complete of 2 KiB
// messages, durable, against raw Pebble on the same bytes.
//
//	go test -run '^$' -bench EndToEnd -benchtime 20s ./messagebox/
func BenchmarkEndToEnd(b *testing.B) {
	if testing.Short() {
		b.Skip("durable benchmark; skipped under -short")
	}
	for _, pubs := range []int{1, 8} {
		for _, batch := range []int{1, 64} {
			for _, subs := range []int{1, 10000} {
				name := fmt.Sprintf("pubs=%d/batch=%d/subs=%d/consumers=2", pubs, batch, subs)
				b.Run(name, func(b *testing.B) {
					set := diskSet(b)
					s := benchStore(b, set, subs)
					before := set.Log().Stats()
					b.ResetTimer()
					b.ReportAllocs()
					b.SetBytes(benchBody)
					start := time.Now()
					// b.N messages split across goroutines: b.Loop cannot
					// drive work shared by several goroutines.
					endToEnd(b, s, b.N, pubs, batch, 2)
					b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
					b.StopTimer()
					after := set.Log().Stats()
					fsyncs := float64(after.Fsyncs - before.Fsyncs)
					b.ReportMetric(fsyncs/float64(b.N), "fsyncs/msg")
					b.ReportMetric(float64(after.Frames-before.Frames)/fsyncs, "frames/fsync")
					b.ReportMetric(float64(after.SyncMean.Microseconds()), "sync-µs")
				})
			}
			b.Run(fmt.Sprintf("pubs=%d/batch=%d/peer=pebble", pubs, batch), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(benchBody)
				start := time.Now()
				rawPebble(b, b.N, pubs, batch)
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}

// BenchmarkDequeueBehindTombstones measures dequeue+complete at the head of
// a queue with a million completed entries behind it, against an empty
// queue. CPU-bound: MemFS, NoSync.
//
//	go test -run '^$' -bench DequeueBehind ./messagebox/
func BenchmarkDequeueBehindTombstones(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a million entries; skipped under -short")
	}
	for _, behind := range []int{0, 1_000_000} {
		b.Run(fmt.Sprintf("completed=%d", behind), func(b *testing.B) {
			s := benchStore(b, memSet(b), 1)
			bg := context.Background()
			body := make([]byte, 64)
			batch := make([]*Message, 1000)
			for done := 0; done < behind; done += len(batch) {
				for i := range batch {
					batch[i] = benchMessage(body)
				}
				if _, err := s.PublishBatch(bg, batch); err != nil {
					b.Fatal(err)
				}
				ds, err := s.Dequeue(bg, "send", len(batch), time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				ls := make([]Lease, len(ds))
				for i, d := range ds {
					ls[i] = d.Lease
				}
				if err := s.Complete(bg, ls...); err != nil {
					b.Fatal(err)
				}
			}
			// A backlog of 1000 ready entries at the head.
			for i := range batch {
				batch[i] = benchMessage(body)
			}
			if _, err := s.PublishBatch(bg, batch); err != nil {
				b.Fatal(err)
			}
			m := benchMessage(body)
			b.ReportAllocs()
			for b.Loop() {
				m.ID = [16]byte{}
				if _, _, err := s.Publish(bg, m); err != nil {
					b.Fatal(err)
				}
				ds, err := s.Dequeue(bg, "send", 1, time.Minute)
				if err != nil || len(ds) != 1 {
					b.Fatal(err, len(ds))
				}
				if err := s.Complete(bg, ds[0].Lease); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkBacklogHeap measures the Go heap held with a million messages
// queued (64-byte bodies, one subscription): the in-memory queue index
// and whatever else the store keeps on the Go heap. The stores are on disk
// (b.TempDir, NoSync to build the backlog quickly) so that file contents
// do not count, as they would on a MemFS. Goal: 256 MiB.
//
//	go test -run '^$' -bench BacklogHeap -benchtime 1x ./messagebox/
func BenchmarkBacklogHeap(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a million entries; skipped under -short")
	}
	const backlog = 1_000_000
	for b.Loop() {
		o := setOptions(vfs.Default, b.TempDir(), wal.NoSync)
		o.MemTableSize = 64 << 20
		set, err := store.Open(o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = set.Close() })
		s := benchStore(b, set, 1)
		bg := context.Background()
		body := make([]byte, 64)
		batch := make([]*Message, 1000)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		for n := 0; n < backlog; n += len(batch) {
			for i := range batch {
				batch[i] = benchMessage(body)
			}
			if _, err := s.PublishBatch(bg, batch); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heapMiB")
		s.mu.Lock()
		b.ReportMetric(float64(len(s.mu.entries)), "entries")
		s.mu.Unlock()
		runtime.KeepAlive(s)
	}
}

// BenchmarkMatch measures routing one message against n subscriptions of
// which one matches: with the equality index the cost should not grow
// with n.
//
//	go test -run '^$' -bench Match ./messagebox/
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			x := newSubIndex()
			for i := range n {
				st := &subState{Subscription: Subscription{Predicate: Or(And(Eq(typeProp, String(fmt.Sprintf("urn:bench#T%d", i)))))}}
				x.add(st)
			}
			m := benchMessage(nil)
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				if len(x.match(m, buf)) != 1 {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkCompress is the measurement behind the choice of S2 for large
// bodies: compression speed and ratio of S2 and zstd (fastest level) on an
// XML body of repetitive records, the common BizTalk payload.
//
//	go test -run '^$' -bench Compress ./messagebox/
func BenchmarkCompress(b *testing.B) {
	var body []byte
	for i := 0; len(body) < 256<<10; i++ {
		body = fmt.Appendf(body, "<Line no=\"%d\"><Sku>SKU-%06d</Sku><Qty>%d</Qty><Price>%d.%02d</Price></Line>\n", i, i*7919%1000000, i%17, i%500, i%100)
	}
	b.Run("codec=s2", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		var out []byte
		for b.Loop() {
			out = s2.Encode(out[:0], body)
		}
		b.ReportMetric(float64(len(body))/float64(len(out)), "ratio")
	})
	b.Run("codec=zstd", func(b *testing.B) {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			b.Fatal(err)
		}
		defer enc.Close()
		b.SetBytes(int64(len(body)))
		var out []byte
		for b.Loop() {
			out = enc.EncodeAll(body, out[:0])
		}
		b.ReportMetric(float64(len(body))/float64(len(out)), "ratio")
	})
}
