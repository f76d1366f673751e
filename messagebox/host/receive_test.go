package host_test

import (
	"testing"
	"time"

	"github.com/biztier/biztier/mgmt"
)

// TestInstance_followsReceiveLocationState disables and enables the
// receive location in Management and finds the host instance stopping and
// starting it at its next configuration refresh.
func TestInstance_followsReceiveLocationState(t *testing.T) {
	f := newFlow(t)
	f.opts.Refresh = time.Minute
	f.run(t, "ReceiveHost")
	ctx := testCtx(t)
	loc := mgmt.Ref{Kind: mgmt.KindReceiveLocation, Name: "ReceiveOrders_FILE"}
	if err := f.mem.WaitRunning(ctx, loc.Name, true); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		change  func() error
		running bool
	}{
		{func() error { return f.mg.Stop(ctx, loc) }, false},
		{func() error { return f.mg.Start(ctx, loc) }, true},
	} {
		if err := step.change(); err != nil {
			t.Fatal(err)
		}
		// The refresh timer and the lease extender wait on the clock.
		f.clock.BlockUntil(2)
		f.clock.Advance(time.Minute)
		if err := f.mem.WaitRunning(ctx, loc.Name, step.running); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.mem.ReceiveBody(ctx, loc.Name, order("PO-1", 5)); err != nil {
		t.Fatal(err)
	}
}
