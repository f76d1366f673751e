package biztier

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/stretchr/testify/require"
)

// failedRoutingBindings has a receive port with failed-message routing on
// (Routed), one without (Plain), and a send port subscribing to error
// messages, as BizTalk's documentation sets it up.
const failedRoutingBindings = `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo Version="3.5.1.0">
  <SendPortCollection>
    <SendPort Name="Errors" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>errors</Address>
        <TransportType Name="FILE" />
        <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler>
      </PrimaryTransport>
      <Filter>&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="ErrorReport.ErrorType" Operator="0" Value="FailedMessage" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
    </SendPort>
  </SendPortCollection>
  <ReceivePortCollection>
    <ReceivePort Name="Routed" IsTwoWay="false"><ReceiveLocations /><RouteFailedMessage>true</RouteFailedMessage></ReceivePort>
    <ReceivePort Name="Plain" IsTwoWay="false"><ReceiveLocations /><RouteFailedMessage>false</RouteFailedMessage></ReceivePort>
  </ReceivePortCollection>
</BindingInfo>`

// TestFailedMessageRouting: a message nobody subscribes to, received on a
// port with RouteFailedMessage, is published as an error message (its
// promoted properties demoted, ErrorReport.* promoted) and reaches the
// send port that subscribes to errors, in the same commit; received on a
// port without it, it is a routing failure as before.
func TestFailedMessageRouting(t *testing.T) {
	ctx := context.Background()
	g := openMgmtTestGroup(t)
	mg, err := g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	_, err = mg.Import(ctx, strings.NewReader(failedRoutingBindings), &mgmt.ImportOptions{Application: "Errors"})
	require.NoError(t, err)
	require.NoError(t, mg.StartApplication(ctx, "Errors"))
	msg := func(port string) *messagebox.Message {
		return messagebox.NewMessage([]byte("<Unknown/>"),
			messagebox.Promoted("BTS.MessageType", messagebox.String("urn:nobody#Unknown")),
			messagebox.Promoted("BTS.ReceivePortName", messagebox.String(port)),
			messagebox.Promoted("BTS.InboundTransportLocation", messagebox.String(`C:\in\*.xml`)))
	}

	_, _, err = mb.Publish(ctx, msg("Plain"))
	require.True(t, errors.Is(err, messagebox.ErrNoSubscribers), "%v", err)

	id, entries, err := mb.Publish(ctx, msg("Routed"))
	require.NoError(t, err, "failed-message routing found a subscriber")
	require.Len(t, entries, 1)
	ds, err := mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	em := ds[0].Message
	require.Equal(t, id, em.ID)
	for _, want := range []struct {
		name, value string
		promoted    bool
	}{
		{"ErrorReport.ErrorType", "FailedMessage", true},
		{"ErrorReport.FailureCode", "0xc0c01680", true},
		{"ErrorReport.MessageType", "urn:nobody#Unknown", true},
		{"ErrorReport.ReceivePortName", "Routed", true},
		{"ErrorReport.InboundTransportLocation", `C:\in\*.xml`, true},
		{"BTS.MessageType", "urn:nobody#Unknown", false}, // demoted
		{"BTS.ReceivePortName", "Routed", false},
	} {
		p, ok := em.Property(want.name)
		require.True(t, ok, want.name)
		require.Equal(t, want.value, p.Value.Str(), want.name)
		require.Equal(t, want.promoted, p.Promoted, want.name)
	}
	require.Equal(t, []byte("<Unknown/>"), em.BodyPart().Body)
	n, err := mb.CountSuspended(ctx, messagebox.SuspendedQuery{})
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the Plain port's routing failure is suspended")

	// With the error port stopped, nothing subscribes to the error message
	// either: the message is a routing failure.
	require.NoError(t, mg.Unenlist(ctx, mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Errors"}, true))
	_, _, err = mb.Publish(ctx, msg("Routed"))
	require.True(t, errors.Is(err, messagebox.ErrNoSubscribers), "%v", err)
}
