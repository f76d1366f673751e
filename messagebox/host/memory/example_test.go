package memory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/memory"
)

// bindings is a one-way flow: a receive location on ReceiveHost and a send
// port on SendHost subscribing to everything it receives.
const bindings = `<BindingInfo>
  <SendPortCollection><SendPort Name="Out" IsStatic="true" IsTwoWay="false">
    <PrimaryTransport><Address>C:\out\%MessageID%.xml</Address><TransportType Name="FILE" />
      <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler></PrimaryTransport>
    <Filter>&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="BTS.ReceivePortName" Operator="0" Value="In" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
  </SendPort></SendPortCollection>
  <ReceivePortCollection><ReceivePort Name="In"><ReceiveLocations><ReceiveLocation Name="In_FILE">
    <Address>C:\in\*.xml</Address><ReceiveLocationTransportType Name="FILE" /><Enable>true</Enable>
    <ReceiveHandler Name="ReceiveHost"><TransportType Name="FILE" /></ReceiveHandler>
  </ReceiveLocation></ReceiveLocations></ReceivePort></ReceivePortCollection>
</BindingInfo>`

// Example stands the in-memory adapter in for FILE: a message handed to
// the receive location comes out of the send port, and a failure injected
// into the port suspends a message.
func Example() {
	ctx := context.Background()
	g, _ := biztier.OpenInMemory()
	defer g.Close()
	mg, _ := g.Management()
	mg.Import(ctx, strings.NewReader(bindings), nil)
	mg.StartApplication(ctx, "BizTalk Application 1")

	mem, adapters, failed := memory.New(), host.NewRegistry(), make(chan error, 1)
	adapters.Register("FILE", mem)
	opts := &host.Options{Adapters: adapters, OnError: func(err error) { failed <- err }}
	for _, h := range []string{"ReceiveHost", "SendHost"} {
		inst, _ := host.Start(ctx, g, h, opts)
		defer inst.Stop(ctx)
	}

	mem.ReceiveBody(ctx, "In_FILE", []byte("<Hello/>"))
	sent, _ := mem.WaitSent(ctx, "Out", 1)
	fmt.Printf("%s went out through %s\n", sent[0].Message.BodyPart().Body, sent[0].Transport.Address)

	mem.Fail("Out", fmt.Errorf("rejected: %w", host.ErrPermanent))
	mem.ReceiveBody(ctx, "In_FILE", []byte("<Bad/>"))
	err := <-failed
	mb, _ := g.MessageBox()
	fmt.Println("permanent:", errors.Is(err, host.ErrPermanent), "suspended:", mb.Stats().SuspendedResumable)
	// Output:
	// <Hello/> went out through C:\out\%MessageID%.xml
	// permanent: true suspended: 1
}
