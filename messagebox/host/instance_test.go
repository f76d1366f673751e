package host_test

import (
	"errors"
	"testing"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/biztier/biztier/mgmt"
)

func TestInstance_routesByPromotedProperty(t *testing.T) {
	f := newFlow(t)
	f.run(t, "ReceiveHost")
	f.run(t, "SendHost")
	ctx := testCtx(t)
	for _, tc := range []struct {
		id    string
		total int
		port  string
	}{
		{"PO-1", 250, "BigOrders"},
		{"PO-2", 40, "SmallOrders"},
		{"PO-3", 100, "SmallOrders"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			before := len(f.mem.Sent(tc.port))
			if err := f.mem.ReceiveBody(ctx, "ReceiveOrders_FILE", order(tc.id, tc.total)); err != nil {
				t.Fatal(err)
			}
			sent, err := f.mem.WaitSent(ctx, tc.port, before+1)
			if err != nil {
				t.Fatal(err)
			}
			m := sent[len(sent)-1].Message
			for name, want := range map[string]string{
				"BTS.MessageType": "urn:shop#Order", "Shop.Id": tc.id,
				"BTS.ReceivePortName": "ReceiveOrders", "BTS.InboundTransportType": "FILE",
			} {
				p, ok := m.Property(name)
				if !ok || !p.Promoted || p.Value.Str() != want {
					t.Errorf("%s = %v (promoted %v), want %q", name, p.Value, p.Promoted, want)
				}
			}
			if p, _ := m.Property("Shop.Total"); p.Value != messagebox.Int64(int64(tc.total)) {
				t.Errorf("Shop.Total = %v, want int64 %d", p.Value, tc.total)
			}
		})
	}
}

func TestInstance_receiveFailuresAreSuspended(t *testing.T) {
	f := newFlow(t)
	f.run(t, "ReceiveHost")
	ctx := testCtx(t)
	for _, tc := range []struct {
		name string
		body string
		want error
	}{
		{"no subscriber", `<Invoice xmlns="urn:shop"/>`, messagebox.ErrNoSubscribers},
		{"not xml", `PO-9;250`, pipeline.ErrDisassembly},
		{"bad total", `<Order xmlns="urn:shop"><Total>lots</Total></Order>`, pipeline.ErrDisassembly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.mem.ReceiveBody(ctx, "ReceiveOrders_FILE", []byte(tc.body))
			if !errors.Is(err, host.ErrSuspended) || !errors.Is(err, tc.want) {
				t.Fatalf("receive: %v, want ErrSuspended and %v", err, tc.want)
			}
		})
	}
	// Both pipeline failures are kept, suspended, with their error in
	// the message's error report.
	n, err := f.mb.CountSuspended(ctx, messagebox.SuspendedQuery{Property: "ErrorReport.FailureCode"})
	if err != nil || n != 2 {
		t.Fatalf("suspended with an error report: %d, %v; want 2", n, err)
	}
	if st := f.mb.Stats(); st.RoutingFailures != 3 {
		t.Fatalf("routing failures %d, want 3", st.RoutingFailures)
	}
}

func TestInstance_stateInManagement(t *testing.T) {
	f := newFlow(t)
	inst := f.run(t, "SendHost")
	state := func() mgmt.HostInstanceState {
		for _, hi := range f.mg.HostInstances("SendHost") {
			if hi.Name() == inst.Name() {
				return hi.State
			}
		}
		return 0
	}
	if s := state(); s != mgmt.HostInstanceRunning {
		t.Fatalf("running instance is %v in Management", s)
	}
	if _, err := host.Start(testCtx(t), f.g, "SendHost", &f.opts); !errors.Is(err, host.ErrRunning) {
		t.Fatalf("second start: %v, want ErrRunning", err)
	}
	if err := inst.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != mgmt.HostInstanceStopped {
		t.Fatalf("stopped instance is %v in Management", s)
	}
	if _, err := host.Start(testCtx(t), f.g, "NoSuchHost", &f.opts); !errors.Is(err, host.ErrUnknownHost) {
		t.Fatalf("unknown host: %v", err)
	}
}
