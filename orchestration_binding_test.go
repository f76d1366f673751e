package biztier

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/tracking"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// orchestrationBindings binds an orchestration's three logical ports the
// way BizTalk binding files do: an activating receive (Rcv) to OrdersIn, a
// correlated receive (Confirm) to ConfirmationsIn, and a send (Snd) to the
// Confirmed send port. Which receive activates is not in the file.
const orchestrationBindings = `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="3.5.1.0">
  <ModuleRefCollection>
    <ModuleRef Name="Shop.Processes" Version="1.0.0.0" Culture="neutral" PublicKeyToken="0123456789abcdef" FullName="Shop.Processes, Version=1.0.0.0, Culture=neutral, PublicKeyToken=0123456789abcdef">
      <Services>
        <Service Name="Shop.OrderProcess" State="Unenlisted" TrackingOption="ServiceStartEnd">
          <Ports>
            <Port Name="Rcv" Modifier="2" BindingOption="1"><SendPortRef xsi:nil="true" /><DistributionListRef xsi:nil="true" /><ReceivePortRef Name="OrdersIn" /></Port>
            <Port Name="Confirm" Modifier="2" BindingOption="1"><SendPortRef xsi:nil="true" /><DistributionListRef xsi:nil="true" /><ReceivePortRef Name="ConfirmationsIn" /></Port>
            <Port Name="Snd" Modifier="1" BindingOption="1"><SendPortRef Name="Confirmed" /><DistributionListRef xsi:nil="true" /><ReceivePortRef xsi:nil="true" /></Port>
          </Ports>
          <Roles />
          <Host Name="Proc" Type="1" Trusted="false" />
        </Service>
      </Services>
      <TrackedSchemas />
    </ModuleRef>
  </ModuleRefCollection>
  <SendPortCollection>
    <SendPort Name="Confirmed" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>out</Address>
        <TransportType Name="FILE" />
        <RetryCount>3</RetryCount>
        <RetryInterval>5</RetryInterval>
        <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler>
      </PrimaryTransport>
    </SendPort>
  </SendPortCollection>
  <ReceivePortCollection>
    <ReceivePort Name="OrdersIn" IsTwoWay="false"><ReceiveLocations /></ReceivePort>
    <ReceivePort Name="ConfirmationsIn" IsTwoWay="false"><ReceiveLocations /></ReceivePort>
  </ReceivePortCollection>
</BindingInfo>`

// TestOrchestration_ConfiguredTheBizTalkWay imports orchestrationBindings,
// declares in code what the orchestration's receive shapes say (Rcv
// activates on orders, Confirm is correlated), enlists and starts it, and
// runs an order end to end: the activation carries a service instance of
// Shop.OrderProcess, a confirmation arriving on the correlated port
// activates nothing and reaches the instance through its correlation set,
// the confirmed order goes out through the bound send port, and tracking
// names the orchestration. While the orchestration is stopped, an order
// starts its instance suspended; starting it resumes the instance.
func TestOrchestration_ConfiguredTheBizTalkWay(t *testing.T) {
	ctx := context.Background()
	g, err := Open("g", &Options{FS: vfs.NewMem(), Durability: NoSync, Logger: store.PanicLogger{},
		MemTableSize: 4 << 20, CheckpointInterval: -1})
	require.NoError(t, err)
	defer g.Close()
	mg, err := g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	_, err = mg.Import(ctx, strings.NewReader(orchestrationBindings), &mgmt.ImportOptions{Application: "Shop"})
	require.NoError(t, err)
	require.NoError(t, mg.Update(ctx, func(tx *mgmt.Tx) error {
		o, err := mg.Orchestration("Shop.OrderProcess")
		if err != nil {
			return err
		}
		c := *o
		c.Activation = mgmt.Filter{{{Property: "BTS.MessageType", Op: mgmt.OpEqual, Value: mgmt.Text("urn:shop#Order")}}}
		c.ActivatingPorts = []string{"Rcv"}
		return tx.PutOrchestration(&c)
	}))
	orch := mgmt.Ref{Kind: mgmt.KindOrchestration, Name: "Shop.OrderProcess"}
	require.NoError(t, mg.Enlist(ctx, orch))

	msg := func(typ, port, order string) *messagebox.Message {
		return messagebox.NewMessage([]byte("<"+typ+"/>"),
			messagebox.Promoted("BTS.MessageType", messagebox.String("urn:shop#"+typ)),
			messagebox.Promoted("BTS.ReceivePortName", messagebox.String(port)),
			messagebox.Promoted("Shop.OrderId", messagebox.String(order)))
	}
	// Stopped: the order's instance is created suspended.
	_, _, err = mb.Publish(ctx, msg("Order", "OrdersIn", "PO-0"))
	require.NoError(t, err)
	held := mb.Instances(messagebox.InstanceQuery{Service: "Shop.OrderProcess"})
	require.Len(t, held, 1)
	require.Equal(t, messagebox.StateSuspendedResumable, held[0].State)
	ds, err := mb.Dequeue(ctx, "Proc", 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds, "a held instance gets nothing")

	require.NoError(t, mg.StartApplication(ctx, "Shop"))
	ds, err = mb.Dequeue(ctx, "Proc", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1, "starting resumes the held instance")
	_, err = mb.TerminateInstances(ctx, messagebox.InstanceQuery{IDs: []uuid.UUID{ds[0].Instance.ID}})
	require.NoError(t, err)

	// An order on the activating port starts an instance.
	orderID, entries, err := mb.Publish(ctx, msg("Order", "OrdersIn", "PO-1"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	ds, err = mb.Dequeue(ctx, "Proc", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	inst := ds[0].Instance
	require.NotNil(t, inst, "the activation carries a service instance")
	require.Equal(t, "Shop.OrderProcess", inst.Service)
	_, err = mb.Persist(ctx, messagebox.PersistPoint{Instance: inst.ID, Consumed: []messagebox.Lease{ds[0].Lease},
		Initialize: []messagebox.CorrelationSet{{Name: "order",
			Properties: []messagebox.Property{messagebox.Promoted("Shop.OrderId", messagebox.String("PO-1"))},
			Filter:     messagebox.And(messagebox.Eq("BTS.ReceivePortName", messagebox.String("ConfirmationsIn")))}}})
	require.NoError(t, err)

	// A confirmation arrives on the correlated port: no new instance.
	_, entries, err = mb.Publish(ctx, msg("Order", "ConfirmationsIn", "PO-1"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the correlated instance subscribes; the port does not activate")
	ds, err = mb.Dequeue(ctx, "Proc", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, inst.ID, ds[0].Instance.ID)
	require.Len(t, mb.Instances(messagebox.InstanceQuery{Service: "Shop.OrderProcess"}), 1)

	// The confirmed order leaves through the bound send port.
	out := messagebox.NewMessage([]byte("<Confirmed/>"),
		messagebox.Promoted("BTS.SPTransportID", messagebox.String(mgmt.TransportID(mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Confirmed"}).String())))
	res, err := mb.Persist(ctx, messagebox.PersistPoint{Instance: inst.ID, Consumed: []messagebox.Lease{ds[0].Lease},
		Publish: []*messagebox.Message{out}, Complete: true})
	require.NoError(t, err)
	outID := res.Published[0].MessageID
	ds, err = mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, mb.Complete(ctx, ds[0].Lease))

	// Tracking names the orchestration as the service of its deliveries.
	tr, err := g.Tracking()
	require.NoError(t, err)
	page, err := tr.Instances(ctx, tracking.InstanceQuery{Service: "Shop.OrderProcess"})
	require.NoError(t, err)
	require.NotEmpty(t, page.Instances)
	for _, ti := range page.Instances {
		require.Equal(t, tracking.ServiceOrchestration, ti.ServiceType)
	}
	ti, err := tr.Instance(ctx, inst.ID)
	require.NoError(t, err, "the service instance is the tracked instance")
	require.Equal(t, "Shop.OrderProcess", ti.Service)
	require.Equal(t, tracking.StateCompleted, ti.State)

	// The message flow crosses the orchestration in both directions: from
	// the order to the confirmed order it sent, and back.
	edge := func(f *tracking.Flow, msg uuid.UUID, dir tracking.Direction) bool {
		for _, e := range f.Edges {
			if e.MessageID == msg && e.InstanceID == inst.ID && e.Direction == dir {
				return true
			}
		}
		return false
	}
	down, err := tr.MessageFlow(ctx, orderID, nil)
	require.NoError(t, err)
	require.True(t, edge(down, orderID, tracking.DirectionIn), "order received by the orchestration")
	require.True(t, edge(down, outID, tracking.DirectionOut), "confirmed order sent by it")
	up, err := tr.MessageFlow(ctx, outID, nil)
	require.NoError(t, err)
	require.True(t, edge(up, outID, tracking.DirectionOut))
	require.True(t, edge(up, orderID, tracking.DirectionIn), "walked back to the order")
}
