package biztier_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/messagebox"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestOutbox_crashEveryOp crashes a run of outbox updates (an application
// key and a published message in one Group.Update, every third one rolled
// back by its own step) before every file system operation, keeping what
// was synced and, per seed, a random share of what was not. After every
// crash each order has both its key and its message or neither, every
// acknowledged order has both, and no rolled-back order has either.
//
// BIZTIER_CRASH_SEEDS=<n> runs more seeds; BIZTIER_CRASH_SEED=<s> replays one.
func TestOutbox_crashEveryOp(t *testing.T) {
	const orders = 9
	rolledBack := func(i int) bool { return i%3 == 2 }
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			rec, fs := crashtest.NewRecorder(seed)
			g := openOutboxGroup(t, fs)
			mb, err := g.MessageBox()
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if err := mb.CreateHost(ctx, "Shipping"); err != nil {
				t.Fatal(err)
			}
			if _, err := mb.Subscribe(ctx, messagebox.Subscription{Name: "Ship", Host: "Shipping",
				Predicate: messagebox.Or(messagebox.And(messagebox.Exists("Shop.Order")))}); err != nil {
				t.Fatal(err)
			}
			rec.Arm()
			for i := range orders {
				_, err := g.Update(ctx, func(tx *biztier.Tx) error {
					if err := tx.Set(biztier.MessageBox, orderKey(i), []byte("approved")); err != nil {
						return err
					}
					if _, err := mb.PublishTx(ctx, tx, orderMessage(i)); err != nil {
						return err
					}
					if rolledBack(i) {
						return errRolledBack
					}
					return nil
				})
				if rolledBack(i) != errors.Is(err, errRolledBack) || (err != nil && !rolledBack(i)) {
					t.Fatalf("order %d: %v", i, err)
				}
				rec.Ack(i + 1)
			}
			rec.Disarm()
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			crashes := rec.Crashes()
			t.Logf("%d crash points, %d%% of unsynced data kept", len(crashes), rec.UnsyncedPercent())
			if len(crashes) < orders {
				t.Fatalf("only %d file system operations in %d commits", len(crashes), orders)
			}
			for n, c := range crashes {
				stored, sent := recoverOutbox(t, c.FS, orders)
				for i := range orders {
					switch {
					case stored[i] != sent[i]:
						t.Fatalf("crash %d: order %d: key stored %t, message stored %t", n, i, stored[i], sent[i])
					case rolledBack(i) && stored[i]:
						t.Fatalf("crash %d: rolled-back order %d survived", n, i)
					case !rolledBack(i) && i < c.Acked && !stored[i]:
						t.Fatalf("crash %d: acknowledged order %d lost (%d acknowledged)", n, i, c.Acked)
					}
				}
			}
		})
	}
}

var errRolledBack = errors.New("rolled back by a later step")

func orderKey(i int) []byte { return fmt.Appendf(nil, "order/%d", i) }

func orderMessage(i int) *messagebox.Message {
	return messagebox.NewMessage(fmt.Appendf(nil, "%d", i), messagebox.Promoted("Shop.Order", messagebox.Int64(int64(i))))
}

func openOutboxGroup(tb testing.TB, fs vfs.FS) *biztier.Group {
	tb.Helper()
	g, err := biztier.Open("/group", &biztier.Options{FS: fs, Durability: biztier.Sync,
		MemTableSize: 4 << 20, CheckpointInterval: -1, DisableTracking: true})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// recoverOutbox opens the group a crash left and reports, per order,
// whether its key and its message are there.
func recoverOutbox(t *testing.T, fs vfs.FS, orders int) (stored, sent []bool) {
	t.Helper()
	g := openOutboxGroup(t, fs)
	defer g.Close()
	stored, sent = make([]bool, orders), make([]bool, orders)
	for i := range orders {
		_, ok, err := g.Get(biztier.MessageBox, orderKey(i))
		if err != nil {
			t.Fatal(err)
		}
		stored[i] = ok
	}
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := mb.Dequeue(context.Background(), "Shipping", 100, time.Minute)
	if err != nil && !errors.Is(err, messagebox.ErrUnknownHost) {
		t.Fatal(err)
	}
	for _, d := range ds {
		p, ok := d.Message.Property("Shop.Order")
		if !ok || p.Value.Int64() < 0 || int(p.Value.Int64()) >= orders {
			t.Fatalf("unexpected message %v", d.Message.Context)
		}
		sent[p.Value.Int64()] = true
	}
	return stored, sent
}
