package biztier

import (
	"context"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// openTrackedMessageBox opens a MessageBox that stages tracking records
// and a tracking Store on the same set that takes them in, with one host
// and one subscription. A nil profile means tracking off.
func openTrackedMessageBox(tb testing.TB, set *store.Set, profile *tracking.Profile) (*messagebox.Store, *tracking.Store) {
	tb.Helper()
	var (
		mbOpts messagebox.Options
		tr     *tracking.Store
	)
	if profile != nil {
		mbOpts.Tracking = &messagebox.TrackingOptions{Detail: func() (bool, bool) { return tr.Wants() }}
	}
	mb, err := messagebox.Open(messageBoxDatabase{database{set: set, id: store.MessageBox}}, &mbOpts)
	require.NoError(tb, err)
	if profile != nil {
		tr, err = tracking.Open(trackingDatabase{database{set: set, id: store.Tracking}},
			&tracking.Options{PurgeInterval: -1, Profile: profile, Source: trackingSource{mb: mb}})
		require.NoError(tb, err)
		tb.Cleanup(func() { _ = tr.Close() })
	}
	tb.Cleanup(func() { _ = mb.Close() })
	ctx := context.Background()
	require.NoError(tb, mb.CreateHost(ctx, "send"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Host: "send",
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("urn:t#Type", messagebox.String("order"))))})
	require.NoError(tb, err)
	return mb, tr
}

func trackingSetOptions(fs vfs.FS, root string, d wal.Durability) *store.Options {
	dirs := map[store.ID]string{}
	for _, id := range store.All {
		dirs[id] = fs.PathJoin(root, id.String())
	}
	return &store.Options{FS: fs, WALDir: fs.PathJoin(root, "wal"), Dirs: dirs, Logger: store.PanicLogger{},
		MemTableSize: 4 << 20, CheckpointInterval: -1, Durability: d}
}

// TestMessageBoxTracker runs a message through the MessageBox with the
// tracker on and finds its events in the tracking database.
func TestMessageBoxTracker(t *testing.T) {
	ctx := context.Background()
	set, err := store.Open(trackingSetOptions(vfs.NewMem(), "g", wal.NoSync))
	require.NoError(t, err)
	defer set.Close()
	mb, tr := openTrackedMessageBox(t, set, &tracking.Profile{Default: tracking.DefaultSettings})

	id, entries, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<order/>"), messagebox.Promoted("urn:t#Type", messagebox.String("order"))))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	ds, err := mb.Dequeue(ctx, "send", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, mb.Complete(ctx, ds[0].Lease))

	page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{MessageID: id, OldestFirst: true})
	require.NoError(t, err)
	var kinds []tracking.EventKind
	for _, e := range page.Events {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []tracking.EventKind{tracking.MessageSent, tracking.MessageRouted, tracking.MessageReceived}, kinds)
	inst, err := tr.Instance(ctx, tracking.EntryInstanceID(uint64(entries[0])))
	require.NoError(t, err)
	require.Equal(t, tracking.StateCompleted, inst.State)
	require.Equal(t, "send", inst.Host)
}

// BenchmarkMessagingTracking is the BBW "messaging" shape on the
// MessageBox (publish a 2 KiB message, dequeue it, complete it; batches
// of 64 messages per commit) with tracking off, on for message events
// only, and on (message and lifecycle events, the default), durably
// (wal.Sync) on real disk, and on with message bodies and contexts kept.
//
//	go test . -run '^$' -bench BenchmarkMessagingTracking -benchtime 20s -count 5
func BenchmarkMessagingTracking(b *testing.B) {
	if testing.Short() {
		b.Skip("real-disk benchmark")
	}
	const batch = 64
	profiles := []struct {
		name    string
		profile *tracking.Profile
	}{
		{"off", nil},
		{"messages", &tracking.Profile{Default: tracking.Settings{Messages: true}}},
		{"on", &tracking.Profile{Default: tracking.DefaultSettings}},
		{"bodies", &tracking.Profile{Default: tracking.Settings{Instances: true, Messages: true, Bodies: true}}},
	}
	for _, p := range profiles {
		b.Run("tracking="+p.name, func(b *testing.B) {
			o := trackingSetOptions(vfs.Default, b.TempDir(), wal.Sync)
			o.MemTableSize = 64 << 20
			set, err := store.Open(o)
			require.NoError(b, err)
			defer set.Close()
			mb, tr := openTrackedMessageBox(b, set, p.profile)
			ctx := context.Background()
			body := make([]byte, 2048)
			msgs := make([]*messagebox.Message, batch)
			b.ReportAllocs()
			for b.Loop() {
				for i := range msgs {
					msgs[i] = messagebox.NewMessage(body, messagebox.Promoted("urn:t#Type", messagebox.String("order")))
				}
				if _, err := mb.PublishBatch(ctx, msgs); err != nil {
					b.Fatal(err)
				}
				ds, err := mb.Dequeue(ctx, "send", batch, time.Minute)
				if err != nil {
					b.Fatal(err)
				}
				leases := make([]messagebox.Lease, len(ds))
				for i, d := range ds {
					leases[i] = d.Lease
				}
				if err := mb.Complete(ctx, leases...); err != nil {
					b.Fatal(err)
				}
			}
			if tr != nil {
				// Tracking is written behind the commits: count its
				// backlog in.
				require.NoError(b, tr.WaitCaughtUp(ctx))
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// TestMessageBoxTracker_Bodies keeps a published message's body, context
// and chosen property when the profile asks for them.
func TestMessageBoxTracker_Bodies(t *testing.T) {
	ctx := context.Background()
	set, err := store.Open(trackingSetOptions(vfs.NewMem(), "g", wal.NoSync))
	require.NoError(t, err)
	defer set.Close()
	mb, tr := openTrackedMessageBox(t, set, &tracking.Profile{Default: tracking.Settings{
		Instances: true, Messages: true, Bodies: true, Properties: []string{"urn:t#Total"}}})
	id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<order total='7'/>"),
		messagebox.Promoted("urn:t#Type", messagebox.String("order")),
		messagebox.Promoted("urn:t#Total", messagebox.Int64(7))))
	require.NoError(t, err)
	tm, err := tr.TrackedMessage(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "<order total='7'/>", string(tm.Parts[0].Data))
	require.Contains(t, tm.Context, tracking.Property{Name: "urn:t#Total", Value: "7"})
	page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{Property: &tracking.Property{Name: "urn:t#Total", Value: "7"}})
	require.NoError(t, err)
	require.NotEmpty(t, page.Events)
}
