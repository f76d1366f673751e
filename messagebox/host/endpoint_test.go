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

// TestEndpoint_SubmitOnce submits with source keys: routed and unrouted
// messages are committed with their receipts, which Forget and Flush drop.
func TestEndpoint_SubmitOnce(t *testing.T) {
	f := newFlow(t)
	k := make(keeper, 1)
	if err := f.opts.Adapters.Register("FILE", k); err != nil {
		t.Fatal(err)
	}
	f.run(t, "ReceiveHost")
	ep := <-k
	ctx := testCtx(t)
	res, err := ep.SubmitOnce(ctx, []string{"a", "b"}, []*messagebox.Message{
		messagebox.NewMessage(order("PO-1", 5)), messagebox.NewMessage([]byte(`<Invoice xmlns="urn:shop"/>`))})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || len(res[0].IDs) != 1 {
		t.Fatalf("routed: %+v", res[0])
	}
	if !errors.Is(res[1].Err, host.ErrSuspended) || !errors.Is(res[1].Err, messagebox.ErrNoSubscribers) || len(res[1].IDs) != 1 {
		t.Fatalf("unrouted: %+v", res[1])
	}
	for _, key := range []string{"a", "b"} {
		if ok, err := ep.Committed(key); err != nil || !ok {
			t.Fatalf("receipt %s: %v, %v", key, ok, err)
		}
	}
	if ok, _ := ep.Committed("c"); ok {
		t.Fatal("a receipt for a key never submitted")
	}
	ep.Forget("a", "b")
	if err := ep.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "b"} {
		if ok, _ := ep.Committed(key); ok {
			t.Fatalf("receipt %s kept after Forget and Flush", key)
		}
	}
	if _, err := ep.SubmitOnce(ctx, []string{"x"}, nil); err == nil {
		t.Fatal("keys without messages accepted")
	}
}
