package host_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/memory"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// start is the virtual time the tests run at.
var start = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// orderSchema promotes an order's total, typed as its property schema
// would.
var orderSchema = pipeline.Schema{
	MessageType: "urn:shop#Order",
	Promote: []pipeline.Promotion{
		{Property: "Shop.Total", Path: "/Order/Total", Type: messagebox.TypeInt64},
		{Property: "Shop.Id", Path: "/*[local-name()='Order' and namespace-uri()='urn:shop']/@id"},
	},
}

// flow is a group configured from testdata/router.xml with the in-memory
// adapter as FILE and a manual clock.
type flow struct {
	g     *biztier.Group
	mb    *messagebox.Store
	mg    *mgmt.Store
	clock *messagebox.ManualClock
	mem   *memory.Adapter
	opts  host.Options
	errs  chan error
}

// newFlow opens the group and imports and starts the bindings; it starts
// no host instance.
func newFlow(t testing.TB) *flow { return newFlowWith(t, nil) }

// newFlowWith is newFlow with the MessageBox's options.
func newFlowWith(t testing.TB, mbOpts *messagebox.Options) *flow {
	t.Helper()
	ctx := context.Background()
	clock := messagebox.NewManualClock(start)
	g, err := biztier.Open("group", &biztier.Options{FS: vfs.NewMem(), Durability: biztier.NoSync, Clock: clock,
		CheckpointInterval: -1, MessageBox: mbOpts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	mg, err := g.Management()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/router.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := mg.Import(ctx, f, &mgmt.ImportOptions{Application: "Shop"}); err != nil {
		t.Fatal(err)
	}
	if err := mg.StartApplication(ctx, "Shop"); err != nil {
		t.Fatal(err)
	}
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := pipeline.NewSchemas(orderSchema)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	reg := host.NewRegistry()
	if err := reg.Register("FILE", mem); err != nil {
		t.Fatal(err)
	}
	fl := &flow{g: g, mb: mb, mg: mg, clock: clock, mem: mem, errs: make(chan error, 100)}
	fl.opts = host.Options{
		Server: "test", Clock: clock, Adapters: reg, Pipelines: pipeline.NewRegistry(schemas),
		Refresh: -1, Lease: 30 * time.Second, ShutdownTimeout: 5 * time.Second,
		OnError: func(err error) {
			select {
			case fl.errs <- err:
			default:
			}
		},
	}
	return fl
}

// run starts a host instance of host and stops it at the end of the test.
func (f *flow) run(t testing.TB, hostName string) *host.Instance {
	t.Helper()
	inst, err := host.Start(context.Background(), f.g, hostName, &f.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := inst.Stop(ctx); err != nil {
			t.Errorf("stop %s: %v", hostName, err)
		}
	})
	return inst
}

// order is an order document.
func order(id string, total int) []byte {
	return []byte(`<Order xmlns="urn:shop" id="` + id + `"><Total>` + strconv.Itoa(total) + `</Total></Order>`)
}

// nextError waits for the next error reported by the host instances.
func (f *flow) nextError(t testing.TB) error {
	t.Helper()
	select {
	case err := <-f.errs:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("no error reported")
		return nil
	}
}

// testCtx returns a context that ends the test if it is still waiting after
// 20 seconds of real time.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
