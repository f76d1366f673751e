package file_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/file"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/biztier/biztier/mgmt"
)

// signalling is the FILE adapter, telling each send it completes.
type signalling struct {
	*file.Adapter
	sent chan string
}

func (s signalling) Send(ctx context.Context, t *host.Transport, m *messagebox.Message) error {
	err := s.Adapter.Send(ctx, t, m)
	if err == nil {
		s.sent <- t.Port
	}
	return err
}

// TestFILE_receiveRouteSend drops orders in the input folder and finds
// each written once by the port its total routes it to.
func TestFILE_receiveRouteSend(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	for _, d := range []string{"in", "big", "small", "fallback"} {
		if err := os.MkdirAll(filepath.Join(root, "orders", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const n = 45
	for i := range n {
		body := fmt.Sprintf(`<Order xmlns="urn:shop"><Total>%d</Total></Order>`, i*10)
		if err := os.WriteFile(filepath.Join(root, "orders", "in", fmt.Sprintf("PO-%02d.xml", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file the mask leaves alone.
	if err := os.WriteFile(filepath.Join(root, "orders", "in", "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	mg, _ := g.Management()
	f, err := os.Open("../testdata/router.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := mg.Import(ctx, f, &mgmt.ImportOptions{Application: "Shop"}); err != nil {
		t.Fatal(err)
	}
	if err := mg.StartApplication(ctx, "Shop"); err != nil {
		t.Fatal(err)
	}
	schemas, _ := pipeline.NewSchemas(pipeline.Schema{MessageType: "urn:shop#Order",
		Promote: []pipeline.Promotion{{Property: "Shop.Total", Path: "/Order/Total", Type: messagebox.TypeInt64}}})
	adapter := signalling{file.New(&file.Options{Root: root}), make(chan string, n)}
	reg := host.NewRegistry()
	if err := reg.Register("FILE", adapter); err != nil {
		t.Fatal(err)
	}
	opts := &host.Options{Server: "t", Adapters: reg, Pipelines: pipeline.NewRegistry(schemas), ShutdownTimeout: 5 * time.Second}
	var insts []*host.Instance
	for _, h := range []string{"ReceiveHost", "SendHost"} {
		inst, err := host.Start(ctx, g, h, opts)
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, inst)
	}
	timeout := time.After(20 * time.Second)
	for range n {
		select {
		case <-adapter.sent:
		case <-timeout:
			t.Fatal("sends did not arrive")
		}
	}
	for _, inst := range insts {
		if err := inst.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	left, _ := os.ReadDir(filepath.Join(root, "orders", "in"))
	if len(left) != 1 || left[0].Name() != "notes.txt" {
		t.Fatalf("input folder holds %v", left)
	}
	big, _ := os.ReadDir(filepath.Join(root, "orders", "big"))
	small, _ := os.ReadDir(filepath.Join(root, "orders", "small"))
	if len(big) != n-11 || len(small) != 11 {
		t.Fatalf("%d big and %d small orders written, want %d and 11", len(big), len(small), n-11)
	}
	for _, e := range big {
		if !strings.HasPrefix(e.Name(), "{") || !strings.HasSuffix(e.Name(), "}.xml") {
			t.Errorf("big order file %s is not named by %%MessageID%%", e.Name())
		}
	}
	for i, e := range small {
		if want := fmt.Sprintf("PO-%02d.xml", i); e.Name() != want {
			t.Errorf("small order file %s, want %s (%%SourceFileName%%)", e.Name(), want)
		}
		got, _ := os.ReadFile(filepath.Join(root, "orders", "small", e.Name()))
		if want := fmt.Sprintf(`<Order xmlns="urn:shop"><Total>%d</Total></Order>`, i*10); string(got) != want {
			t.Errorf("%s holds %q", e.Name(), got)
		}
	}
	mb, _ := g.MessageBox()
	if st := mb.Stats(); st.Entries != 0 {
		t.Fatalf("%d entries left in the MessageBox", st.Entries)
	}
}
