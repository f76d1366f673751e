package host_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// gate is a send adapter that holds every send until released, counting
// the sends that got through.
type gate struct {
	entered   chan struct{}
	release   chan struct{}
	honourCtx bool
	sent      atomic.Int64
}

func newGate(honourCtx bool) *gate {
	return &gate{entered: make(chan struct{}, 10), release: make(chan struct{}), honourCtx: honourCtx}
}

func (g *gate) Send(ctx context.Context, _ *host.Transport, _ *messagebox.Message) error {
	g.entered <- struct{}{}
	if g.honourCtx {
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		<-g.release
	}
	g.sent.Add(1)
	return nil
}

// publishBig publishes one order for BigOrders.
func publishBig(t testing.TB, f *flow) {
	t.Helper()
	m := messagebox.NewMessage(order("PO-1", 500),
		messagebox.Promoted("BTS.MessageType", messagebox.String("urn:shop#Order")),
		messagebox.Promoted("Shop.Total", messagebox.Int64(500)))
	if _, _, err := f.mb.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestInstance_stopFinishesInFlight(t *testing.T) {
	f := newFlow(t)
	g := newGate(true)
	if err := f.opts.Adapters.Register("FILE", g); err != nil {
		t.Fatal(err)
	}
	inst := f.run(t, "SendHost")
	publishBig(t, f)
	<-g.entered
	stopped := make(chan error, 1)
	go func() { stopped <- inst.Stop(context.Background()) }()
	// The stop waits for the send in flight, which then completes.
	close(g.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if st := f.mb.Stats(); st.Entries != 0 || g.sent.Load() != 1 {
		t.Fatalf("after stop: %d entries, %d sent; want 0 and 1", st.Entries, g.sent.Load())
	}
	if s := inst.Stats(); s.Sent != 1 || s.Completed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestInstance_stopAbandonsAtDeadline(t *testing.T) {
	f := newFlow(t)
	f.opts.ShutdownTimeout = 50 * time.Millisecond
	g := newGate(true)
	if err := f.opts.Adapters.Register("FILE", g); err != nil {
		t.Fatal(err)
	}
	inst := f.run(t, "SendHost")
	publishBig(t, f)
	<-g.entered
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := f.mb.Stats()
	if st.Entries != 1 || st.Suspended != 0 || st.Hosts["SendHost"].Leased != 0 || g.sent.Load() != 0 {
		t.Fatalf("after stop: %+v, sent %d; want the entry back on the queue, unsent", st.Hosts["SendHost"], g.sent.Load())
	}
	if s := inst.Stats(); s.Abandoned != 1 {
		t.Fatalf("stats %+v", s)
	}
	// The next instance sends it.
	close(g.release)
	f.run(t, "SendHost")
	<-g.entered
}

func TestInstance_stopGivesUpOnStuckHandler(t *testing.T) {
	f := newFlow(t)
	f.opts.ShutdownTimeout = 20 * time.Millisecond
	g := newGate(false)
	if err := f.opts.Adapters.Register("FILE", g); err != nil {
		t.Fatal(err)
	}
	inst, err := host.Start(context.Background(), f.g, "SendHost", &f.opts)
	if err != nil {
		t.Fatal(err)
	}
	publishBig(t, f)
	<-g.entered
	if err := inst.Stop(context.Background()); !errors.Is(err, host.ErrShutdownTimeout) {
		t.Fatalf("stop: %v, want ErrShutdownTimeout", err)
	}
	// The handler returns after the instance has stopped: it must not
	// complete the entry, whose lease is left to run out.
	close(g.release)
	if st := f.mb.Stats(); st.Entries != 1 || st.Hosts["SendHost"].Leased != 1 {
		t.Fatalf("after stop: %+v", st.Hosts["SendHost"])
	}
}

func TestInstance_extendsLeasesOfLongSends(t *testing.T) {
	f := newFlow(t)
	f.opts.Concurrency = 1
	g := newGate(true)
	if err := f.opts.Adapters.Register("FILE", g); err != nil {
		t.Fatal(err)
	}
	inst := f.run(t, "SendHost")
	publishBig(t, f)
	<-g.entered
	// Six times the lease goes by while the send runs; with the slot
	// taken the only timer is the extender's.
	for range 18 {
		f.clock.BlockUntil(1)
		f.clock.Advance(10 * time.Second)
	}
	close(g.release)
	if err := inst.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := f.mb.Stats(); st.Entries != 0 || g.sent.Load() != 1 {
		t.Fatalf("after a 3-minute send: %d entries, %d sent; want 0 and 1", st.Entries, g.sent.Load())
	}
}
