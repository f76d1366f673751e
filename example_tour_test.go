package biztier_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/tracking"
)

// The README's short tour, on an in-memory group: subscribe with the short
// name of a system property, publish, dequeue and complete, then ask
// tracking what happened.
func ExampleGroup_tour() {
	ctx := context.Background()
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()

	mb, _ := g.MessageBox()
	if err := mb.CreateHost(ctx, "SendHost"); err != nil {
		log.Fatal(err)
	}
	if _, err := mb.Subscribe(ctx, messagebox.Subscription{
		Name: "SendPort1", Host: "SendHost",
		Predicate: messagebox.Or(messagebox.And(
			messagebox.Eq("BTS.MessageType", messagebox.String("urn:shop#Order")))),
	}); err != nil {
		log.Fatal(err)
	}
	id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<Order/>"),
		messagebox.Promoted("BTS.MessageType", messagebox.String("urn:shop#Order"))))
	if err != nil {
		log.Fatal(err)
	}
	ds, _ := mb.Dequeue(ctx, "SendHost", 64, time.Minute)
	for _, d := range ds {
		p, _ := d.Message.Property("BTS.MessageType")
		fmt.Println("send", p.Value.Str(), "as", p.Name)
		if err := mb.Complete(ctx, d.Lease); err != nil {
			log.Fatal(err)
		}
	}
	tr, _ := g.Tracking()
	page, _ := tr.MessageEvents(ctx, tracking.MessageEventQuery{MessageID: id})
	for _, ev := range page.Events {
		fmt.Println(ev.Kind)
	}
	// Output:
	// send urn:shop#Order as http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType
	// MessageReceived
	// MessageRouted
	// MessageSent
}

// The tour's subscription, made the BizTalk way: a send port whose filter
// comes from a binding file routes the same message.
func ExampleGroup_tourBindingFile() {
	ctx := context.Background()
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	mg, _ := g.Management()
	filter := `<?xml version="1.0" encoding="utf-16"?>
<Filter><Group><Statement Property="BTS.MessageType" Operator="0" Value="urn:shop#Order" /></Group></Filter>`
	var bindings bytes.Buffer
	fmt.Fprintf(&bindings, `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo Version="3.5.1.0">
  <SendPortCollection>
    <SendPort Name="SendPort1" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>out</Address>
        <TransportType Name="FILE" />
        <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler>
      </PrimaryTransport>
      <Filter>%s</Filter>
    </SendPort>
  </SendPortCollection>
</BindingInfo>`, xmlEscape(filter))
	if _, err := mg.Import(ctx, &bindings, &mgmt.ImportOptions{Application: "Shop"}); err != nil {
		log.Fatal(err)
	}
	if err := mg.StartApplication(ctx, "Shop"); err != nil {
		log.Fatal(err)
	}
	mb, _ := g.MessageBox()
	if _, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<Order/>"),
		messagebox.Promoted("http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType",
			messagebox.String("urn:shop#Order")))); err != nil {
		log.Fatal(err)
	}
	ds, _ := mb.Dequeue(ctx, "SendHost", 64, time.Minute)
	for _, d := range ds {
		sub, _ := mb.Subscription(d.Subscription)
		fmt.Println("delivered to", sub.Name)
	}
	// Output:
	// delivered to SendPort:SendPort1/filter
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
