package host_test

import (
	"testing"

	"github.com/biztier/biztier/messagebox"
)

// TestInstance_throttledPublishWaits gives the MessageBox a message count
// limit of 2: a receive location's third message waits, not fails, until
// the send host has drained the queue.
func TestInstance_throttledPublishWaits(t *testing.T) {
	f := newFlowWith(t, &messagebox.Options{MessageCountLimit: 2})
	f.run(t, "ReceiveHost")
	ctx := testCtx(t)
	for _, id := range []string{"PO-1", "PO-2"} {
		if err := f.mem.ReceiveBody(ctx, "ReceiveOrders_FILE", order(id, 5)); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.mb.Stats(); st.PublishThrottle != messagebox.ThrottleDatabase {
		t.Fatalf("publish throttle %v with 2 entries", st.PublishThrottle)
	}
	sentBefore := make(chan int, 1)
	go func() {
		err := f.mem.ReceiveBody(ctx, "ReceiveOrders_FILE", order("PO-3", 5))
		if err != nil {
			t.Error(err)
		}
		sentBefore <- len(f.mem.Sent("SmallOrders"))
	}()
	f.run(t, "SendHost")
	if n := <-sentBefore; n == 0 {
		t.Fatal("the third message was published before anything was sent")
	}
	if _, err := f.mem.WaitSent(ctx, "SmallOrders", 3); err != nil {
		t.Fatal(err)
	}
}
