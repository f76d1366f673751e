package console_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt/console"
)

// BenchmarkHandler_bulkResume measures a bulk resume through the console, from
// the POST to its answer (count check, audit records, and the MessageBox's
// batched Resume), over entries suspended by a stopped send port. The issue
// asks for 100,000 in 10 s or less:
//
//	go test ./mgmt/console -run XXX -bench Handler_bulkResume -benchtime 1x
//
// disk=mem is an in-memory group with NoSync durability (the console's and the
// MessageBox's work alone); disk=sync a group in b.TempDir() with Sync
// durability, each resume batch one fsynced commit.
func BenchmarkHandler_bulkResume(b *testing.B) {
	for _, tc := range []struct {
		n    int
		sync bool
	}{{10_000, false}, {100_000, false}, {100_000, true}} {
		n := tc.n
		disk := "mem"
		if tc.sync {
			disk = "sync"
		}
		b.Run(fmt.Sprintf("entries=%d/disk=%s", n, disk), func(b *testing.B) {
			if testing.Short() && n > 10_000 {
				b.Skip("-short")
			}
			var total time.Duration
			for range b.N {
				b.StopTimer()
				g, h, sub := pausedBacklog(b, n, tc.sync)
				cookie, tok := (&fixture{g: g, h: h}).session(b)
				// Start the port: its subscription matches again, and
				// the operator resumes what it held.
				if _, err := g.Update(context.Background(), func(tx *biztier.Tx) error {
					mb, _ := g.MessageBox()
					sub.Paused = false
					_, err := mb.SubscribeTx(tx, sub)
					return err
				}); err != nil {
					b.Fatal(err)
				}
				form := url.Values{"confirm": {fmt.Sprint(n)}, "csrf_token": {tok}}
				r := post("/suspended/resume", form)
				r.AddCookie(cookie)
				r.Header.Set("X-User", "alice")
				w := httptest.NewRecorder()
				b.StartTimer()
				start := time.Now()
				h.ServeHTTP(w, r)
				total += time.Since(start)
				b.StopTimer()
				if w.Code != 303 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				mb, _ := g.MessageBox()
				if q := mb.Stats().Hosts["SendHost"]; q.Ready != n {
					b.Fatalf("%d ready after the resume, want %d", q.Ready, n)
				}
				g.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "entries/s")
			b.ReportMetric(total.Seconds()/float64(b.N), "s/resume")
		})
	}
}

// pausedBacklog opens a group whose send port subscription is paused (the
// port enlisted but stopped) and publishes n messages to it: n resumable
// suspended entries.
func pausedBacklog(b *testing.B, n int, sync bool) (*biztier.Group, *console.Handler, messagebox.Subscription) {
	b.Helper()
	opts := &biztier.Options{
		FS: vfs.NewMem(), Durability: biztier.NoSync, CheckpointInterval: -1,
		MessageBox: &messagebox.Options{MessageCountLimit: 4 * n},
	}
	dir := "group"
	if sync {
		opts.FS, opts.Durability, dir = nil, biztier.Sync, b.TempDir()
	}
	g, err := biztier.Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	mb, err := g.MessageBox()
	if err != nil {
		b.Fatal(err)
	}
	if err := mb.CreateHost(ctx, "SendHost"); err != nil {
		b.Fatal(err)
	}
	sub, err := mb.Subscribe(ctx, messagebox.Subscription{
		Name: "SendPort", Host: "SendHost", Paused: true,
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String("urn:t#Order")))),
	})
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 2048)
	for done := 0; done < n; {
		batch := make([]*messagebox.Message, 0, 1000)
		for ; len(batch) < 1000 && done < n; done++ {
			batch = append(batch, messagebox.NewMessage(body, messagebox.Promoted("BTS.MessageType", messagebox.String("urn:t#Order"))))
		}
		if _, err := mb.PublishBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if c, err := mb.CountSuspended(ctx, messagebox.SuspendedQuery{ResumableOnly: true}); err != nil || c != n {
		b.Fatalf("%d suspended, want %d: %v", c, n, err)
	}
	h, err := console.New(console.Options{Group: g, Authorizer: allowAlice})
	if err != nil {
		b.Fatal(err)
	}
	return g, h, sub
}
