package tracking_test

import (
	"context"
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/tracking"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// openGroupStores opens a group's stores on an in-memory file system.
func openGroupStores(fs vfs.FS) *store.Set {
	dirs := map[store.ID]string{}
	for _, id := range store.All {
		dirs[id] = fs.PathJoin("group", id.String())
	}
	set, err := store.Open(&store.Options{
		FS: fs, WALDir: "group/wal", Dirs: dirs, Logger: store.PanicLogger{},
		MemTableSize: 4 << 20, CheckpointInterval: -1,
	})
	if err != nil {
		panic(err)
	}
	return set
}

// groupTracking is the group's tracking database as tracking.Open takes
// it; biztier.Group provides this for a real group.
type groupTracking struct{ set *store.Set }

func (d groupTracking) Reader() pebble.Reader         { return d.set.DB(store.Tracking).Reader() }
func (d groupTracking) NewSnapshot() *pebble.Snapshot { return d.set.DB(store.Tracking).NewSnapshot() }
func (d groupTracking) Metrics() *pebble.Metrics      { return d.set.DB(store.Tracking).Metrics() }
func (d groupTracking) Begin() tracking.Txn           { return d.set.NewTxn() }

// Example records the events of an orchestration in the transactions of
// the operations they describe, queries them, then lets purge archive them
// and queries the archive.
func Example() {
	ctx := context.Background()
	fs := vfs.NewMem()
	set := openGroupStores(fs)
	defer set.Close()

	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tr, err := tracking.Open(groupTracking{set}, &tracking.Options{
		Clock:         clock,
		LiveWindow:    time.Hour,
		ArchiveDir:    "group/tracking-archive",
		FS:            fs,
		PurgeInterval: -1, // this example runs purge itself
		Profile: &tracking.Profile{Default: tracking.Settings{
			Instances: true, Messages: true,
			Properties: []string{"http://example.com/po#OrderID"},
		}},
	})
	if err != nil {
		panic(err)
	}
	defer tr.Close()

	orch := uuid.MustParse("0193a5c0-0000-7000-8000-000000000001")
	order := uuid.MustParse("0193a5c0-0000-7000-8000-0000000000aa")
	invoice := uuid.MustParse("0193a5c0-0000-7000-8000-0000000000bb")
	steps := [][]tracking.Event{
		{
			{Kind: tracking.InstanceStarted, InstanceID: orch, Service: "Orders.Process", ServiceType: tracking.ServiceOrchestration},
			{Kind: tracking.MessageReceived, InstanceID: orch, MessageID: order, Port: "ReceiveOrder",
				Properties: []tracking.Property{{Name: "http://example.com/po#OrderID", Value: "42"}}},
		},
		{{Kind: tracking.InstanceDehydrated, InstanceID: orch}},
		{{Kind: tracking.InstanceRehydrated, InstanceID: orch}},
		{
			{Kind: tracking.MessageSent, InstanceID: orch, MessageID: invoice, Port: "SendInvoice"},
			{Kind: tracking.InstanceCompleted, InstanceID: orch},
		},
	}
	for _, evs := range steps {
		now = now.Add(time.Second)
		tx := set.NewTxn() // the operation's transaction (the MessageBox's, in a group)
		if err := tr.Record(tx, evs); err != nil {
			panic(err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			panic(err)
		}
	}

	page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{
		Property: &tracking.Property{Name: "http://example.com/po#OrderID", Value: "42"},
	})
	if err != nil {
		panic(err)
	}
	for _, e := range page.Events {
		fmt.Println("order 42:", e.Kind, e.Port, e.Direction)
	}
	inst, err := tr.Instance(ctx, orch)
	if err != nil {
		panic(err)
	}
	fmt.Println(inst.Service, inst.State, len(inst.History), "lifecycle events")

	// Two hours later the completed instance is past the live window.
	now = now.Add(2 * time.Hour)
	res, err := tr.Purge(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("purged", res.Instances, "instance,", res.Rows, "rows")
	if _, err := tr.Instance(ctx, orch); err != nil {
		fmt.Println("live:", err)
	}

	archive, err := tracking.OpenArchive("group/tracking-archive", &tracking.ArchiveOptions{FS: fs})
	if err != nil {
		panic(err)
	}
	defer archive.Close()
	flow, err := archive.InstanceFlow(ctx, orch, nil)
	if err != nil {
		panic(err)
	}
	for _, e := range flow.Edges {
		fmt.Println("archived flow:", e.Direction, e.Port)
	}
	// Output:
	// order 42: MessageReceived ReceiveOrder In
	// Orders.Process Completed 4 lifecycle events
	// purged 1 instance, 5 rows
	// live: tracking: not found: instance 0193a5c0-0000-7000-8000-000000000001
	// archived flow: In ReceiveOrder
	// archived flow: Out SendInvoice
}
