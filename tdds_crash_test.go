package biztier_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestTracking_crashEveryOp crashes a run of messages (publish, dequeue,
// complete), with tracking taken in behind the commits, before every file
// system operation, keeping what was synced and, per seed, a random share
// of what was not. After every crash, once tracking has caught up, each
// message whose publish was acknowledged is tracked as sent exactly once,
// each acknowledged completion is tracked, and no event is there twice:
// the decoder neither loses a staged record nor takes one in twice.
//
// BIZTIER_CRASH_SEEDS=<n> runs more seeds; BIZTIER_CRASH_SEED=<s> replays one.
func TestTracking_crashEveryOp(t *testing.T) {
	const messages = 6
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			// Acknowledged steps: 2i+1 once message i's publish returned,
			// 2i+2 once its completion did.
			rec, fs := crashtest.NewRecorder(seed)
			g := openTrackedGroup(t, fs)
			mb, err := g.MessageBox()
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if err := mb.CreateHost(ctx, "Send"); err != nil {
				t.Fatal(err)
			}
			if _, err := mb.Subscribe(ctx, messagebox.Subscription{Name: "S", Host: "Send",
				Predicate: messagebox.Or(messagebox.And(messagebox.Exists("Shop.Order")))}); err != nil {
				t.Fatal(err)
			}
			tr, err := g.Tracking()
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.WaitCaughtUp(ctx); err != nil {
				t.Fatal(err)
			}
			rec.Arm()
			for i := range messages {
				if _, _, err := mb.Publish(ctx, orderMessage(i)); err != nil {
					t.Fatal(err)
				}
				rec.Ack(2*i + 1)
				ds, err := mb.Dequeue(ctx, "Send", 1, time.Minute)
				if err != nil || len(ds) != 1 {
					t.Fatalf("dequeue: %v %d", err, len(ds))
				}
				if err := mb.Complete(ctx, ds[0].Lease); err != nil {
					t.Fatal(err)
				}
				rec.Ack(2*i + 2)
			}
			if err := tr.WaitCaughtUp(ctx); err != nil {
				t.Fatal(err)
			}
			rec.Disarm()
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			crashes := rec.Crashes()
			t.Logf("%d crash points, %d%% of unsynced data kept", len(crashes), rec.UnsyncedPercent())
			for n, c := range crashes {
				checkTracked(t, n, c.FS, messages, (c.Acked+1)/2, c.Acked/2)
			}
		})
	}
}

func openTrackedGroup(tb testing.TB, fs vfs.FS) *biztier.Group {
	tb.Helper()
	g, err := biztier.Open("/group", &biztier.Options{FS: fs, Durability: biztier.Sync,
		MemTableSize: 4 << 20, CheckpointInterval: -1, Tracking: &tracking.Options{PurgeInterval: -1}})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// checkTracked opens the group a crash left and checks what tracking holds
// of each message.
func checkTracked(t *testing.T, n int, fs vfs.FS, messages, published, finished int) {
	t.Helper()
	g := openTrackedGroup(t, fs)
	defer g.Close()
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatalf("crash %d: %v", n, err)
	}
	tr, err := g.Tracking()
	if err != nil {
		t.Fatalf("crash %d: %v", n, err)
	}
	ctx := context.Background()
	page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{Limit: 1000})
	if err != nil {
		t.Fatalf("crash %d: %v", n, err)
	}
	// Every message the MessageBox holds or completed was published; match
	// tracked sends to messages by the event's message, counting kinds.
	type key struct {
		msg  string
		kind tracking.EventKind
	}
	seen := map[key]int{}
	sent := 0
	for _, e := range page.Events {
		k := key{e.MessageID.String(), e.Kind}
		seen[k]++
		if seen[k] > 1 {
			t.Fatalf("crash %d: message %s tracked %v twice", n, e.MessageID, e.Kind)
		}
		if e.Kind == tracking.MessageSent {
			sent++
		}
	}
	if sent < published || sent > messages {
		t.Fatalf("crash %d: %d messages tracked as sent, %d acknowledged", n, sent, published)
	}
	done, err := tr.Instances(ctx, tracking.InstanceQuery{State: tracking.StateCompleted, Limit: 1000})
	if err != nil {
		t.Fatalf("crash %d: %v", n, err)
	}
	if len(done.Instances) < finished {
		t.Fatalf("crash %d: %d deliveries tracked as completed, %d acknowledged", n, len(done.Instances), finished)
	}
	_ = mb
}
