package tracking

import (
	"testing"
	"time"

	"github.com/biztier/biztier/internal/event"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestFromMessageBox: the MessageBox's events of one message delivered to
// a subscription become the events of that entry's messaging instance.
func TestFromMessageBox(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	msg, sub := uuid.New(), uuid.New()
	ns := at.UnixNano()
	in := []event.Event{
		{Kind: event.Published, At: ns, MessageID: msg, Message: &event.Message{Size: 3, ReceivePort: "RP", Adapter: "FILE"}},
		{Kind: event.Routed, At: ns, MessageID: msg, Entry: 7, Subscription: sub, Host: "H", Port: "SP"},
		{Kind: event.Delivered, At: ns, MessageID: msg, Entry: 7, Subscription: sub, Host: "H", Port: "SP"},
		{Kind: event.Retry, At: ns, MessageID: msg, Entry: 7, Reason: "timeout"},
		{Kind: event.Suspended, At: ns, MessageID: msg, Entry: 7, Reason: "too many retries"},
		{Kind: event.Resumed, At: ns, MessageID: msg, Entry: 7},
		{Kind: event.Completed, At: ns, MessageID: msg, Entry: 7},
		{Kind: event.RoutingFailure, At: ns, MessageID: msg, Entry: 8, Reason: "no subscribers"},
		{Kind: event.Terminated, At: ns, MessageID: msg, Entry: 8},
	}
	out := fromMessageBox(nil, in)
	var kinds []EventKind
	for _, e := range out {
		kinds = append(kinds, e.Kind)
		require.True(t, at.Equal(e.At))
	}
	require.Equal(t, []EventKind{
		MessageSent, MessageRouted,
		InstanceStarted, MessageReceived,
		MessageFailed, InstanceSuspended, InstanceResumed, InstanceCompleted,
		InstanceStarted, InstanceSuspended, MessageFailed, InstanceTerminated,
	}, kinds)
	require.Equal(t, uuid.Nil, out[0].InstanceID, "publishing belongs to no instance")
	require.Equal(t, DirectionOut, out[0].Direction)
	require.Equal(t, "RP", out[0].Port, "a received message names its receive port")
	require.Equal(t, "FILE", out[0].Adapter)
	require.Equal(t, int64(3), out[0].Size)
	require.Equal(t, sub, out[1].Subscription)
	require.Equal(t, "SP", out[1].Port)
	require.Equal(t, EntryInstanceID(7), out[2].InstanceID)
	require.Equal(t, ServiceSendPort, out[2].ServiceType, "a send port's delivery is its instance")
	require.Equal(t, "SP", out[2].Service)
	require.Equal(t, DirectionIn, out[3].Direction)
	require.Equal(t, "timeout", out[4].Error)
	require.Equal(t, EntryInstanceID(8), out[9].InstanceID)
	require.NotEqual(t, EntryInstanceID(7), EntryInstanceID(8))
	require.Equal(t, uuid.Version(0), EntryInstanceID(7).Version(), "cannot collide with random UUIDs")
}

// TestFromMessageBox_Orchestration: the events of a service instance
// belong to it; its activation starts it, a later delivery rehydrates it.
func TestFromMessageBox_Orchestration(t *testing.T) {
	inst := uuid.New()
	out := fromMessageBox(nil, []event.Event{
		{Kind: event.Delivered, Instance: inst, Service: "Orders", Activation: true},
		{Kind: event.Published, Instance: inst, Message: &event.Message{}},
		{Kind: event.Delivered, Instance: inst},
		{Kind: event.Completed, Instance: inst},
		{Kind: event.InstanceEnded, Instance: inst},
	})
	var kinds []EventKind
	for _, e := range out {
		kinds = append(kinds, e.Kind)
		require.Equal(t, inst, e.InstanceID)
		require.Equal(t, ServiceOrchestration, e.ServiceType)
	}
	require.Equal(t, []EventKind{InstanceStarted, MessageReceived, MessageSent, InstanceRehydrated, MessageReceived, InstanceCompleted}, kinds)
	require.Equal(t, "Orders", out[0].Service)
}
