package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/memory"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Example_testDouble tests a flow configured by a binding file, with the
// in-memory adapter standing in for FILE and the group on a virtual clock:
// hand in messages, read what each send port sent, see a retry wait for
// its interval, a routing failure, and the tracked flow.
func Example_testDouble() {
	ctx := context.Background()
	clock := messagebox.NewManualClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	g, _ := biztier.Open("group", &biztier.Options{FS: vfs.NewMem(), Durability: biztier.NoSync, Clock: clock})
	defer g.Close()
	mg, _ := g.Management()
	bindings, _ := os.Open("testdata/router.xml")
	defer bindings.Close()
	mg.Import(ctx, bindings, &mgmt.ImportOptions{Application: "Shop"})
	mg.StartApplication(ctx, "Shop")

	schemas, _ := pipeline.NewSchemas(pipeline.Schema{MessageType: "urn:shop#Order",
		Promote: []pipeline.Promotion{{Property: "Shop.Total", Path: "/Order/Total", Type: messagebox.TypeInt64}}})
	mem, adapters, failed := memory.New(), host.NewRegistry(), make(chan error, 1)
	adapters.Register("FILE", mem)
	opts := &host.Options{Clock: clock, Adapters: adapters, Pipelines: pipeline.NewRegistry(schemas),
		OnError: func(err error) { failed <- err }}
	recv, _ := host.Start(ctx, g, "ReceiveHost", opts)
	send, _ := host.Start(ctx, g, "SendHost", opts)

	mem.ReceiveBody(ctx, "ReceiveOrders_FILE", []byte(`<Order xmlns="urn:shop"><Total>250</Total></Order>`))
	big, _ := mem.WaitSent(ctx, "BigOrders", 1)
	fmt.Println("BigOrders sent to", big[0].Transport.Address)

	mem.Fail("SmallOrders", errors.New("share offline"))
	mem.ReceiveBody(ctx, "ReceiveOrders_FILE", []byte(`<Order xmlns="urn:shop"><Total>40</Total></Order>`))
	fmt.Println(<-failed)
	clock.Advance(5 * time.Minute) // the port's retry interval
	small, _ := mem.WaitSent(ctx, "SmallOrders", 1)
	total, _ := small[0].Message.Property("Shop.Total")
	fmt.Println("SmallOrders sent at", clock.Now().Format(time.Kitchen), "total", total.Value)

	err := mem.ReceiveBody(ctx, "ReceiveOrders_FILE", []byte(`<Invoice xmlns="urn:shop"/>`))
	fmt.Println("invoice routed:", !errors.Is(err, messagebox.ErrNoSubscribers))

	recv.Stop(ctx)
	send.Stop(ctx)
	tracking, _ := g.Tracking()
	tracking.WaitCaughtUp(ctx) // tracking is taken in behind the commits
	flow, _ := tracking.MessageFlow(ctx, big[0].Message.ID, nil)
	for _, e := range flow.Edges {
		fmt.Println(e.Direction, e.Kind, e.Port)
	}
	// Output:
	// BigOrders sent to C:\orders\big\%MessageID%.xml
	// host SendHost: send SmallOrders entry 2: share offline
	// SmallOrders sent at 9:05AM total int64(40)
	// invoice routed: false
	// In MessageReceived BigOrders
}
