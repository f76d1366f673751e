package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
)

// bindingFile is a small binding file: application Shop with a send port
// on SendHost whose filter takes urn:shop#Order messages, and a receive
// location.
const bindingFile = `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo Version="3.5.1.0">
  <SendPortCollection>
    <SendPort Name="ToWarehouse" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>C:\out\%MessageID%.xml</Address>
        <TransportType Name="FILE" />
        <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler>
      </PrimaryTransport>
      <Filter>&lt;?xml version="1.0" encoding="utf-16"?&gt;&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="BTS.MessageType" Operator="0" Value="urn:shop#Order" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
    </SendPort>
  </SendPortCollection>
  <ReceivePortCollection>
    <ReceivePort Name="FromShop" IsTwoWay="false">
      <ReceiveLocations>
        <ReceiveLocation Name="FromShopFile">
          <Address>C:\in\*.xml</Address>
          <ReceiveLocationTransportType Name="FILE" />
          <ReceiveHandler Name="ReceiveHost"><TransportType Name="FILE" /></ReceiveHandler>
          <Enable>false</Enable>
        </ReceiveLocation>
      </ReceiveLocations>
    </ReceivePort>
  </ReceivePortCollection>
</BindingInfo>`

// cmd runs the command and returns its exit code, stdout and stderr.
func cmd(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(context.Background(), append([]string{"-user", "tester"}, args...), &out, &errw)
	return code, out.String(), errw.String()
}

// mustCmd runs the command and fails the test unless it exits 0.
func mustCmd(t testing.TB, args ...string) string {
	t.Helper()
	code, out, errs := cmd(t, args...)
	if code != 0 {
		t.Fatalf("biztier %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// newGroup creates a closed group directory with the binding file imported
// (application Shop, started) and n Order messages suspended on SendHost.
func newGroup(t testing.TB, n int) (dir, file string) {
	t.Helper()
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "group")
	file = filepath.Join(tmp, "bindings.xml")
	if err := os.WriteFile(file, []byte(bindingFile), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := biztier.Open(dir, &biztier.Options{Durability: biztier.NoSync})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	ctx := context.Background()
	mg, err := g.Management()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mg.Import(ctx, strings.NewReader(bindingFile), &mgmt.ImportOptions{Application: "Shop"}); err != nil {
		t.Fatal(err)
	}
	if err := mg.StartApplication(ctx, "Shop"); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		suspendOrders(t, g, n, "remote host refused")
	}
	return dir, file
}

// suspendOrders publishes n orders and suspends them as the send host would
// after a failed transmission.
func suspendOrders(t testing.TB, g *biztier.Group, n int, reason string) []string {
	t.Helper()
	ctx := context.Background()
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte(fmt.Sprintf("<Order n='%d'/>", i)),
			messagebox.Promoted("http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType", messagebox.String("urn:shop#Order"))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
	}
	ds, err := mb.Dequeue(ctx, "SendHost", n, time.Minute)
	if err != nil || len(ds) != n {
		t.Fatalf("dequeue %d of %d: %v", len(ds), n, err)
	}
	for _, d := range ds {
		if err := mb.Suspend(ctx, d.Lease, reason); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}
