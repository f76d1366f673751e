package host_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/memory"
)

// dynamicBindings is a dynamic send port and a static one with the XML
// transmit pipeline.
const dynamicBindings = `<BindingInfo><SendPortCollection>
  <SendPort Name="Dynamic" IsStatic="false" IsTwoWay="false">
    <Filter>&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="BTS.MessageType" Operator="0" Value="Dyn" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
  </SendPort>
  <SendPort Name="Checked" IsStatic="true" IsTwoWay="false">
    <TransmitPipeline Name="Microsoft.BizTalk.DefaultPipelines.XMLTransmit" Type="2" />
    <PrimaryTransport><Address>C:\out\x.xml</Address><TransportType Name="FILE" />
      <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler></PrimaryTransport>
    <Filter>&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="BTS.MessageType" Operator="0" Value="Checked" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
  </SendPort>
</SendPortCollection></BindingInfo>`

func TestInstance_dynamicPortAndSendPipeline(t *testing.T) {
	ctx := testCtx(t)
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	mg, _ := g.Management()
	mb, _ := g.MessageBox()
	if _, err := mg.Import(ctx, strings.NewReader(dynamicBindings), nil); err != nil {
		t.Fatal(err)
	}
	if err := mg.StartApplication(ctx, "BizTalk Application 1"); err != nil {
		t.Fatal(err)
	}
	mem, reg := memory.New(), host.NewRegistry()
	if err := reg.Register("FILE", mem); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 10)
	opts := &host.Options{Adapters: reg, OnError: func(err error) { errs <- err }}
	for _, h := range []string{biztier.DefaultHost, "SendHost"} {
		inst, err := host.Start(ctx, g, h, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer inst.Stop(ctx)
	}
	typ := func(s string) messagebox.Property {
		return messagebox.Promoted("BTS.MessageType", messagebox.String(s))
	}
	// A dynamic port sends where the message says.
	if _, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("a"), typ("Dyn"),
		messagebox.Promoted(host.PropOutboundTransportType, messagebox.String("FILE")),
		messagebox.Promoted(host.PropOutboundTransportLocation, messagebox.String(`C:\dyn\a.txt`)))); err != nil {
		t.Fatal(err)
	}
	sent, err := mem.WaitSent(ctx, "Dynamic", 1)
	if err != nil {
		t.Fatal(err)
	}
	if tr := sent[0].Transport; tr.Type != "FILE" || tr.Address != `C:\dyn\a.txt` {
		t.Fatalf("dynamic send went to %+v", tr)
	}
	// One without an address is suspended at once, as is a body the XML
	// transmit pipeline refuses.
	for _, m := range []*messagebox.Message{
		messagebox.NewMessage([]byte("b"), typ("Dyn")),
		messagebox.NewMessage([]byte("not xml"), typ("Checked")),
	} {
		if _, _, err := mb.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, host.ErrPermanent) {
				t.Fatalf("reported %v, want a permanent failure", err)
			}
		case <-ctx.Done():
			t.Fatal("no failure reported")
		}
	}
	if st := mb.Stats(); st.SuspendedResumable != 2 {
		t.Fatalf("%d suspended, want 2", st.SuspendedResumable)
	}
	if _, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<ok/>"), typ("Checked"))); err != nil {
		t.Fatal(err)
	}
	if _, err := mem.WaitSent(ctx, "Checked", 1); err != nil {
		t.Fatal(err)
	}
}
