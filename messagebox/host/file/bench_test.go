package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/file"
)

// benchBatch is the messages one benchmark operation moves.
const benchBatch = 1000

// BenchmarkMessaging runs the BizTalk Benchmark Wizard's messaging flow —
// a 2 KB file received, routed by its receive port to one send port and
// written out — through the host runtime with the FILE adapters
// (flow=runtime), and through a hand-written loop on the MessageBox alone
// that does the same file work (flow=messagebox): the runtime's cost is
// the difference. The group is on disk (b.TempDir, Sync durability); the
// folders are on /dev/shm when it exists, so file I/O is not what is
// measured.
//
//	go test -run XXX -bench Messaging -benchtime 5x -count 5 ./messagebox/host/file/
func BenchmarkMessaging(b *testing.B) {
	if testing.Short() {
		b.Skip("runs a group on disk")
	}
	b.Run("flow=messagebox", func(b *testing.B) { benchFlow(b, false) })
	b.Run("flow=runtime", func(b *testing.B) { benchFlow(b, true) })
}

func benchFlow(b *testing.B, runtime bool) {
	ctx := context.Background()
	root := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		root, err = os.MkdirTemp("/dev/shm", "biztier-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = os.RemoveAll(root) })
	}
	in, out := filepath.Join(root, "bbw", "in"), filepath.Join(root, "bbw", "out")
	for _, d := range []string{in, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	g, err := biztier.Open(filepath.Join(b.TempDir(), "group"), &biztier.Options{DisableTracking: true})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	mg, _ := g.Management()
	mb, _ := g.MessageBox()
	f, err := os.Open("../testdata/bbw.xml")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mg.Import(ctx, f, nil); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := mg.StartApplication(ctx, "BizTalk Application 1"); err != nil {
		b.Fatal(err)
	}
	var sent func() int64
	var stop func()
	if runtime {
		reg := host.NewRegistry()
		if err := file.Register(reg, &file.Options{Root: root}); err != nil {
			b.Fatal(err)
		}
		var insts []*host.Instance
		for _, h := range []string{"BBWReceiveHost", "BBWSendHost"} {
			inst, err := host.Start(ctx, g, h, &host.Options{Adapters: reg})
			if err != nil {
				b.Fatal(err)
			}
			insts = append(insts, inst)
		}
		// The MessageBox counts completions when they commit.
		sent = func() int64 { return int64(mb.Stats().Completed) }
		stop = func() {
			for _, inst := range insts {
				_ = inst.Stop(ctx)
			}
		}
	} else {
		var n atomic.Int64
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{}, 2)
		go func() { handReceive(cctx, mb, in); done <- struct{}{} }()
		go func() { handSend(cctx, mb, out, &n); done <- struct{}{} }()
		sent = n.Load
		stop = func() { cancel(); <-done; <-done }
	}
	defer stop()
	body := bytes.Repeat([]byte("x"), 2048)
	copy(body, "<BBW>")
	b.ReportAllocs()
	start := time.Now()
	var total int64
	for b.Loop() {
		for i := range benchBatch {
			name := fmt.Sprintf("m-%d-%06d", total, i)
			if err := os.WriteFile(filepath.Join(in, name+".tmp"), body, 0o644); err != nil {
				b.Fatal(err)
			}
			if err := os.Rename(filepath.Join(in, name+".tmp"), filepath.Join(in, name+".xml")); err != nil {
				b.Fatal(err)
			}
		}
		total += benchBatch
		for sent() < total {
			time.Sleep(time.Millisecond) // the benchmark's own end check
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
	b.StopTimer()
	if left, _ := os.ReadDir(in); len(left) != 0 {
		b.Fatalf("%d files left in the input folder", len(left))
	}
}

// handReceive is what a user writes without the runtime: read up to 20
// files, publish them in one commit, remove them.
func handReceive(ctx context.Context, mb *messagebox.Store, dir string) {
	for ctx.Err() == nil {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			if filepath.Ext(e.Name()) == ".xml" {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		for len(names) > 0 {
			n := min(len(names), 20)
			var msgs []*messagebox.Message
			for _, name := range names[:n] {
				p := filepath.Join(dir, name)
				body, err := os.ReadFile(p)
				if err != nil {
					return
				}
				msgs = append(msgs, messagebox.NewMessage(body,
					messagebox.Promoted("BTS.ReceivePortName", messagebox.String("BBW_In")),
					messagebox.Promoted(file.PropReceivedFileName, messagebox.String(p))))
			}
			if _, err := mb.PublishBatch(ctx, msgs); err != nil {
				return
			}
			for _, name := range names[:n] {
				_ = os.Remove(filepath.Join(dir, name))
			}
			names = names[n:]
		}
	}
}

// handSend dequeues the send host's queue in batches and writes each
// message through a synced temporary file linked into place.
func handSend(ctx context.Context, mb *messagebox.Store, dir string, n *atomic.Int64) {
	var done []messagebox.Lease
	for {
		var (
			ds  []*messagebox.Delivery
			err error
		)
		if len(done) > 0 && len(done) < 64 {
			// The queue ran dry: complete now rather than with a batch
			// that may be long in coming.
			if err = mb.Complete(ctx, done...); err == nil {
				n.Add(int64(len(done)))
				done = done[:0]
				ds, err = mb.DequeueWait(ctx, "BBWSendHost", 64, 30*time.Second)
			}
		} else {
			ds, err = mb.CompleteAndDequeue(ctx, done, "BBWSendHost", 64, 30*time.Second)
			if err == nil {
				n.Add(int64(len(done)))
				done = done[:0]
			}
		}
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				panic(err)
			}
			return
		}
		for _, d := range ds {
			p := filepath.Join(dir, d.Message.ID.String()+".xml")
			f, err := os.Create(p + ".tmp")
			if err != nil {
				panic(err)
			}
			_, _ = f.Write(d.Message.BodyPart().Body)
			_ = f.Sync()
			_ = f.Close()
			_ = os.Link(p+".tmp", p)
			_ = os.Remove(p + ".tmp")
			if dirf, err := os.Open(dir); err == nil {
				_ = dirf.Sync()
				_ = dirf.Close()
			}
			done = append(done, d.Lease)
		}
	}
}
