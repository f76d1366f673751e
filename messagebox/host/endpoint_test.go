package host_test

import (
	"context"
	"errors"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// keeper is a receive adapter that hands its endpoint out and holds it
// after its location stops.
type keeper chan *host.Endpoint

func (k keeper) Receive(ctx context.Context, ep *host.Endpoint) error {
	k <- ep
	<-ctx.Done()
	return nil
}

func TestEndpoint_closedOnceStopping(t *testing.T) {
	f := newFlow(t)
	k := make(keeper, 1)
	if err := f.opts.Adapters.Register("FILE", k); err != nil {
		t.Fatal(err)
	}
	inst := f.run(t, "ReceiveHost")
	ep := <-k
	if _, err := ep.Submit(testCtx(t), messagebox.NewMessage(order("PO-1", 5))); err != nil {
		t.Fatal(err)
	}
	if err := inst.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := ep.Submit(testCtx(t), messagebox.NewMessage(order("PO-2", 5))); !errors.Is(err, host.ErrClosed) || !errors.Is(err, biztier.ErrClosed) {
		t.Fatalf("submit after stop: %v, want ErrClosed", err)
	}
	if st := f.mb.Stats(); st.Published != 1 {
		t.Fatalf("%d published, want 1", st.Published)
	}
}
