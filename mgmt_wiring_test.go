package biztier

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/mgmt/mgmttest"
	"github.com/biztier/biztier/tracking"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func openMgmtTestGroup(t *testing.T) *Group {
	t.Helper()
	g, err := Open("g", &Options{FS: vfs.NewMem(), Durability: NoSync, Logger: store.PanicLogger{},
		MemTableSize: 4 << 20, CheckpointInterval: -1, DisableTracking: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close() })
	return g
}

// TestMgmtSubscriptions_Conformance holds the Group's real MessageBox
// adapter to the contract mgmt's own fake passes.
func TestMgmtSubscriptions_Conformance(t *testing.T) {
	mgmttest.Run(t, func(t *testing.T) *mgmttest.Harness {
		g := openMgmtTestGroup(t)
		mb, err := g.MessageBox()
		require.NoError(t, err)
		return &mgmttest.Harness{
			DB:   managementDatabase{database{set: g.set, id: store.Management}},
			Subs: mgmtSubscriptions{mb: mb},
			Route: func(props map[string]string) (active, inactive []uuid.UUID) {
				var ctx []messagebox.Property
				for k, v := range props {
					ctx = append(ctx, messagebox.Promoted(k, messagebox.String(v)))
				}
				xs, err := mb.Explain(context.Background(), messagebox.NewMessage([]byte("x"), ctx...))
				require.NoError(t, err)
				for _, x := range xs {
					if !x.Matched {
						continue
					}
					sub, err := mb.Subscription(x.Subscription)
					require.NoError(t, err)
					if sub.Paused {
						inactive = append(inactive, x.Subscription)
					} else {
						active = append(active, x.Subscription)
					}
				}
				return active, inactive
			},
		}
	})
}

const orderBindings = `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo Version="3.5.1.0">
  <SendPortCollection>
    <SendPort Name="NorthOrders" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>C:\out\north\%MessageID%.xml</Address>
        <TransportType Name="FILE" />
        <SendHandler Name="SendHost" HostTrusted="false"><TransportType Name="FILE" /></SendHandler>
      </PrimaryTransport>
      <Filter>&lt;?xml version="1.0" encoding="utf-16"?&gt;&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="Orders.Region" Operator="0" Value="north" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
    </SendPort>
  </SendPortCollection>
</BindingInfo>`

// TestGroup_ManagementDrivesMessageBox: importing a binding file and
// starting its send port routes matching messages to the port's host; a
// stopped port's messages are suspended resumable and resume when it
// starts; unenlisting is refused while messages are queued.
func TestGroup_ManagementDrivesMessageBox(t *testing.T) {
	ctx := context.Background()
	g := openMgmtTestGroup(t)
	mg, err := g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	_, err = mg.Import(ctx, strings.NewReader(orderBindings), &mgmt.ImportOptions{Application: "Orders"})
	require.NoError(t, err)
	port := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "NorthOrders"}
	require.NoError(t, mg.Enlist(ctx, port))

	order := func(region string) *messagebox.Message {
		return messagebox.NewMessage([]byte("<Order/>"), messagebox.Promoted("Orders.Region", messagebox.String(region)))
	}
	// Enlisted but stopped: routed, suspended resumable.
	_, entries, err := mb.Publish(ctx, order("north"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	se, err := mb.GetSuspended(ctx, entries[0])
	require.NoError(t, err)
	require.True(t, se.Resumable)

	// Started: the held message resumes, new ones queue.
	require.NoError(t, mg.Start(ctx, port))
	_, _, err = mb.Publish(ctx, order("north"))
	require.NoError(t, err)
	ds, err := mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)

	// A message for nobody is a routing failure.
	_, _, err = mb.Publish(ctx, order("south"))
	require.ErrorIs(t, err, messagebox.ErrNoSubscribers)

	// Unenlisting is refused while messages are queued for the port.
	err = mg.Unenlist(ctx, port, false)
	require.ErrorIs(t, err, mgmt.ErrMessagesQueued)
	var leases []messagebox.Lease
	for _, d := range ds {
		leases = append(leases, d.Lease)
	}
	require.NoError(t, mb.Complete(ctx, leases...))
	require.NoError(t, mg.Unenlist(ctx, port, false))
	_, _, err = mb.Publish(ctx, order("north"))
	require.ErrorIs(t, err, messagebox.ErrNoSubscribers, "unenlisting removed the subscriptions")
	subs := mb.Subscriptions()
	names := make([]string, 0, len(subs))
	for _, s := range subs {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	require.Empty(t, names)
}

// TestGroup_ForcedUnenlistSuspendsQueuedMessages: a send port unenlisted
// with force while messages wait for it suspends them (resumable, with
// the reason), in the configuration's commit; they are not delivered to a
// port that no longer exists, and once the port is enlisted and started
// again, resuming them delivers them.
func TestGroup_ForcedUnenlistSuspendsQueuedMessages(t *testing.T) {
	ctx := context.Background()
	g := openMgmtTestGroup(t)
	mg, err := g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	_, err = mg.Import(ctx, strings.NewReader(orderBindings), &mgmt.ImportOptions{Application: "Orders"})
	require.NoError(t, err)
	port := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "NorthOrders"}
	require.NoError(t, mg.Enlist(ctx, port))
	require.NoError(t, mg.Start(ctx, port))
	order := messagebox.NewMessage([]byte("<Order/>"), messagebox.Promoted("Orders.Region", messagebox.String("north")))
	var queued []messagebox.EntryID
	for range 3 {
		_, es, err := mb.Publish(ctx, order)
		require.NoError(t, err)
		queued = append(queued, es...)
		order.ID = [16]byte{}
	}
	require.ErrorIs(t, mg.Unenlist(ctx, port, false), mgmt.ErrMessagesQueued)
	require.NoError(t, mg.Unenlist(ctx, port, true))

	ds, err := mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds, "nothing is delivered to an unenlisted port")
	for _, id := range queued {
		se, err := mb.GetSuspended(ctx, id)
		require.NoError(t, err)
		require.True(t, se.Resumable)
		require.Equal(t, messagebox.UnsubscribedReason, se.Error)
	}
	_, err = mb.Resume(ctx, messagebox.SuspendedQuery{Entries: queued})
	require.ErrorIs(t, err, messagebox.ErrNotResumable, "not before the port is back")

	require.NoError(t, mg.Enlist(ctx, port))
	require.NoError(t, mg.Start(ctx, port))
	n, err := mb.Resume(ctx, messagebox.SuspendedQuery{ErrorContains: "unenlisted"})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	ds, err = mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 3)
}

// TestTracking_NamesPortsAndServices: deliveries to a send port configured
// in Management are tracked as that port's instances, named as service and
// port, and a published message carries its receive port, adapter and
// address, so "what did port X send or receive" has an answer, also after
// a reopen.
func TestTracking_NamesPortsAndServices(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	open := func() *Group {
		g, err := Open("g", &Options{FS: fs, Durability: NoSync, Logger: store.PanicLogger{}, MemTableSize: 4 << 20, CheckpointInterval: -1})
		require.NoError(t, err)
		return g
	}
	g := open()
	mg, err := g.Management()
	require.NoError(t, err)
	_, err = mg.Import(ctx, strings.NewReader(orderBindings), &mgmt.ImportOptions{Application: "Orders"})
	require.NoError(t, err)
	port := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "NorthOrders"}
	require.NoError(t, mg.Enlist(ctx, port))
	require.NoError(t, mg.Start(ctx, port))
	require.NoError(t, g.Close())

	g = open() // the names must come back from Management's store
	defer g.Close()
	_, err = g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<Order/>"),
		messagebox.Promoted("Orders.Region", messagebox.String("north")),
		messagebox.Promoted("BTS.ReceivePortName", messagebox.String("OrdersIn")),
		messagebox.Promoted("BTS.InboundTransportType", messagebox.String("FILE")),
		messagebox.Promoted("BTS.InboundTransportLocation", messagebox.String(`C:\in\*.xml`))))
	require.NoError(t, err)
	ds, err := mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, mb.Complete(ctx, ds[0].Lease))

	tr, err := g.Tracking()
	require.NoError(t, err)
	sent, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{Port: "NorthOrders", Kind: tracking.MessageReceived})
	require.NoError(t, err)
	require.Len(t, sent.Events, 1, "the port's delivery")
	require.Equal(t, id, sent.Events[0].MessageID)
	inst, err := tr.Instance(ctx, sent.Events[0].InstanceID)
	require.NoError(t, err)
	require.Equal(t, "NorthOrders", inst.Service)
	require.Equal(t, tracking.ServiceSendPort, inst.ServiceType)
	require.Equal(t, tracking.StateCompleted, inst.State)

	received, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{Port: "OrdersIn"})
	require.NoError(t, err)
	require.Len(t, received.Events, 1)
	require.Equal(t, "FILE", received.Events[0].Adapter)
	require.Equal(t, `C:\in\*.xml`, received.Events[0].URL)
}

// TestGroup_HostInstancesGateDelivery: a host whose host instances are all
// stopped keeps its queue and delivers nothing; starting one delivers; the
// hold is in the MessageBox's store (it survives a reopen) and commits with
// the host instance's state in Management.
func TestGroup_HostInstancesGateDelivery(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	open := func() (*Group, *mgmt.Store, *messagebox.Store) {
		g, err := Open("g", &Options{FS: fs, Durability: NoSync, Logger: store.PanicLogger{}, MemTableSize: 4 << 20,
			CheckpointInterval: -1, DisableTracking: true})
		require.NoError(t, err)
		mg, err := g.Management()
		require.NoError(t, err)
		mb, err := g.MessageBox()
		require.NoError(t, err)
		return g, mg, mb
	}
	g, mg, mb := open()
	_, err := mg.Import(ctx, strings.NewReader(orderBindings), &mgmt.ImportOptions{Application: "Orders"})
	require.NoError(t, err)
	hi := mgmt.Ref{Kind: mgmt.KindHostInstance, Name: "SendHost/SRV1"}
	require.NoError(t, mg.Update(ctx, func(tx *mgmt.Tx) error {
		return tx.PutHostInstance(&mgmt.HostInstance{Host: "SendHost", Server: "SRV1"})
	}))
	port := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "NorthOrders"}
	require.NoError(t, mg.Enlist(ctx, port))
	require.NoError(t, mg.Start(ctx, port))
	require.NoError(t, mg.Stop(ctx, hi)) // already stopped: a new instance is
	_, _, err = mb.Publish(ctx, messagebox.NewMessage([]byte("<Order/>"), messagebox.Promoted("Orders.Region", messagebox.String("north"))))
	require.NoError(t, err)
	ds, err := mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds, "no host instance runs: the queue is held")
	require.Equal(t, 1, mb.Stats().Hosts["SendHost"].Ready, "held, not lost")
	require.NoError(t, g.Close())

	g, mg, mb = open()
	defer g.Close()
	ds, err = mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds, "still held after a reopen")
	got := make(chan int, 1)
	go func() {
		ds, err := mb.DequeueWait(ctx, "SendHost", 10, time.Minute)
		if err != nil {
			got <- -1
			return
		}
		got <- len(ds)
	}()
	require.NoError(t, mg.Start(ctx, hi))
	require.Equal(t, 1, <-got, "starting the host instance delivers to a waiting dequeue")
}
