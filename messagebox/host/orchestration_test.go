package host_test

import (
	"context"
	"os"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/memory"
	"github.com/biztier/biztier/mgmt"
)

// TestInstance_orchestrationFromBindingFile runs a public project's
// binding file: an FTP receive location, an orchestration bound to it and
// to an FTP send port, all on BizTalkServerApplication. The in-memory
// adapter stands in for FTP and a Go function for the orchestration, which
// sends through its logical port.
func TestInstance_orchestrationFromBindingFile(t *testing.T) {
	const (
		bindings = "../../../shared/testdata/bindings/aimbiztalk-simple-orchestration.xml"
		orch     = "Aim.SimpleOrchestration.OnboardCustomer"
	)
	f, err := os.Open(bindings)
	if err != nil {
		t.Skip("shared/testdata/bindings not present")
	}
	defer f.Close()
	ctx := testCtx(t)
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	mg, _ := g.Management()
	if _, err := mg.Import(ctx, f, &mgmt.ImportOptions{ApplyStates: true}); err != nil {
		t.Fatal(err)
	}
	if err := mg.StartApplication(ctx, "Aim.SimpleOrchestration"); err != nil {
		t.Fatal(err)
	}
	mem, reg := memory.New(), host.NewRegistry()
	if err := reg.Register("FTP", mem); err != nil {
		t.Fatal(err)
	}
	onboard := func(_ context.Context, d *messagebox.Delivery) (messagebox.PersistPoint, error) {
		reg := messagebox.NewMessage([]byte(`<CustomerRegistration xmlns="urn:aim"/>`))
		if err := host.Through(mg, orch, "CustomerRegistrationSendPort", reg); err != nil {
			return messagebox.PersistPoint{}, err
		}
		return messagebox.PersistPoint{Publish: []*messagebox.Message{reg}, Complete: true}, nil
	}
	inst, err := host.Start(ctx, g, "BizTalkServerApplication", &host.Options{
		Adapters: reg, Services: map[string]host.Service{orch: onboard}})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.ReceiveBody(ctx, "OnboardingRequestFtpReceiveLocation", []byte(`<OnboardingRequest xmlns="urn:aim"/>`)); err != nil {
		t.Fatal(err)
	}
	sent, err := mem.WaitSent(ctx, "CustomerRegistrationFtpSendPort", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := sent[0].Transport.Address; got != "ftp://127.0.0.1:21/CustomerRegistrations/%MessageID%.xml" {
		t.Fatalf("sent to %s", got)
	}
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mb, _ := g.MessageBox()
	if st := mb.Stats(); st.Entries != 0 || st.Instances != 0 || inst.Stats().Steps != 1 {
		t.Fatalf("after the flow: %d entries, %d instances, %d steps", st.Entries, st.Instances, inst.Stats().Steps)
	}
	if err := host.Through(mg, orch, "OnboardingReceivePort", messagebox.NewMessage([]byte("x"))); err == nil {
		t.Fatal("a receive port taken as a send port")
	}
}
