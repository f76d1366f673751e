package host_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// TestInstance_settlesByRetryPolicy runs BigOrders (2 retries 5 minutes
// apart, then a backup transport with no retry) into failures on virtual
// time.
func TestInstance_settlesByRetryPolicy(t *testing.T) {
	offline := errors.New("share offline")
	for _, tc := range []struct {
		name     string
		failures []error
		// waits are the virtual minutes advanced after each failure.
		waits       []time.Duration
		sentBackup  bool // sent, by the backup transport
		sentPrimary bool // sent, by the primary transport
		suspended   bool
	}{
		{name: "first try", sentPrimary: true},
		{name: "second retry", failures: []error{offline, offline}, waits: []time.Duration{5, 5}, sentPrimary: true},
		{name: "backup", failures: []error{offline, offline, offline}, waits: []time.Duration{5, 5, 0}, sentBackup: true},
		{name: "backup fails", failures: []error{offline, offline, offline, offline}, waits: []time.Duration{5, 5, 0, 0}, suspended: true},
		{name: "permanent", failures: []error{fmt.Errorf("bad address: %w", host.ErrPermanent)}, waits: []time.Duration{0}, suspended: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlow(t)
			inst := f.run(t, "SendHost")
			ctx := testCtx(t)
			f.mem.Fail("BigOrders", tc.failures...)
			m := messagebox.NewMessage(order("PO-1", 500),
				messagebox.Promoted("BTS.MessageType", messagebox.String("urn:shop#Order")),
				messagebox.Promoted("Shop.Total", messagebox.Int64(500)))
			if _, _, err := f.mb.Publish(ctx, m); err != nil {
				t.Fatal(err)
			}
			for i, wait := range tc.waits {
				var he *host.Error
				if err := f.nextError(t); !errors.As(err, &he) || !errors.Is(err, tc.failures[i]) || he.Port != "BigOrders" {
					t.Fatalf("failure %d reported as %v", i, err)
				}
				f.clock.Advance(wait * time.Minute)
			}
			if tc.sentBackup || tc.sentPrimary {
				sent, err := f.mem.WaitSent(ctx, "BigOrders", 1)
				if err != nil {
					t.Fatal(err)
				}
				if got := sent[0].Transport; got.Backup != tc.sentBackup {
					t.Fatalf("sent by %+v, want backup %v", got, tc.sentBackup)
				}
			}
			if err := inst.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			st := f.mb.Stats()
			if got := st.SuspendedResumable == 1; got != tc.suspended {
				t.Fatalf("suspended resumable %d, want suspended %v", st.SuspendedResumable, tc.suspended)
			}
			if !tc.suspended && st.Entries != 0 {
				t.Fatalf("%d entries left after the send, want 0", st.Entries)
			}
			if n := len(f.mem.Sent("BigOrders")); n > 1 {
				t.Fatalf("sent %d times", n)
			}
		})
	}
}
