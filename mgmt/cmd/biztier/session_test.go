package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
)

// sharedBindings is a binding file from a public BizTalk project, read where
// the shared test data lives (never copied here).
var sharedBindings = filepath.Join("..", "..", "..", "..", "shared", "testdata", "bindings", "aimbiztalk-xml-mapping.xml")

// TestSession is an operator's session, the way an administrator scripts
// BTSTask and the backup job: import a real binding file, start its
// application, find a suspended message, resume it (it is delivered), take a
// full backup, change the configuration, take a log backup, and restore to
// each mark.
func TestSession(t *testing.T) {
	if _, err := os.Stat(sharedBindings); err != nil {
		t.Skipf("shared binding file: %v", err)
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "group")
	backup := filepath.Join(tmp, "backup")
	g, err := biztier.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	mustCmd(t, "-dir", dir, "bindings", "import", "-app", "XmlMapping", sharedBindings)
	mustCmd(t, "-dir", dir, "apps", "start", "XmlMapping")
	var ports []struct{ Kind, Name, State string }
	if err := json.Unmarshal([]byte(mustCmd(t, "-dir", dir, "-json", "ports", "list", "-app", "XmlMapping")), &ports); err != nil {
		t.Fatal(err)
	}
	var sendPort string
	for _, p := range ports {
		if p.Kind == "send" && p.State == "Started" {
			sendPort = p.Name
		}
	}
	if sendPort == "" {
		t.Fatalf("no started send port after apps start: %+v", ports)
	}

	// A message the send port's filter takes is published; its send fails
	// and the host suspends it.
	id, host := publishFor(t, dir, sendPort)

	var q struct {
		Count   int
		Entries []struct{ MessageID string }
	}
	if err := json.Unmarshal([]byte(mustCmd(t, "-dir", dir, "-json", "suspended", "query", "-host", host)), &q); err != nil {
		t.Fatal(err)
	}
	if q.Count != 1 || q.Entries[0].MessageID != id {
		t.Fatalf("suspended query: %+v, want message %s", q, id)
	}
	mustCmd(t, "-dir", dir, "suspended", "resume", "-host", host, "-confirm", "1")
	deliver(t, dir, host, id)

	// Backups around a change, and restores to each side of it.
	mustCmd(t, "-dir", dir, "backup", "now", "-to", backup, "-mark", "before-stop")
	mustCmd(t, "-dir", dir, "ports", "stop", sendPort)
	// A log backup would find the chain broken: each run of the command
	// closes the group, which checkpoints and truncates the log, and only a
	// running LogShipping pins it. Hence a second full backup.
	if code, _, errs := cmd(t, "-dir", dir, "backup", "now", "-log", "-to", backup); code != 1 || !strings.Contains(errs, "take a full backup") {
		t.Fatalf("log backup after a reopen: exit %d: %s", code, errs)
	}
	mustCmd(t, "-dir", dir, "backup", "now", "-to", backup, "-mark", "after-stop")
	for _, tc := range []struct{ mark, state string }{{"before-stop", "Started"}, {"after-stop", "Stopped"}} {
		restored := filepath.Join(tmp, "restored-"+tc.mark)
		mustCmd(t, "restore", "mark", "-from", backup, "-to", restored, "-mark", tc.mark)
		g, err := biztier.Open(restored, nil)
		if err != nil {
			t.Fatal(err)
		}
		mg, err := g.Management()
		if err != nil {
			t.Fatal(err)
		}
		sp, err := mg.SendPort(sendPort)
		if err != nil {
			t.Fatal(err)
		}
		if sp.State.String() != tc.state {
			t.Errorf("restored to %s: port %s, want %s", tc.mark, sp.State, tc.state)
		}
		g.Close()
	}
	var st struct{ Places []struct{ Sets int } }
	if err := json.Unmarshal([]byte(mustCmd(t, "-dir", dir, "-json", "shipping", "status", "-backup", backup)), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Places) != 1 || st.Places[0].Sets != 2 {
		t.Fatalf("shipping status %+v, want 2 sets", st)
	}
}

// publishFor publishes a message that the send port's filter takes (its first
// group's equality conditions, promoted), then dequeues and suspends it as a
// failed send would. It returns the message ID and the host.
func publishFor(t *testing.T, dir, port string) (id, host string) {
	t.Helper()
	ctx := context.Background()
	g, err := biztier.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	mg, err := g.Management()
	if err != nil {
		t.Fatal(err)
	}
	subs := mg.Subscriptions(mgmt.Ref{Kind: mgmt.KindSendPort, Name: port})
	if len(subs) == 0 || len(subs[0].Filter) == 0 {
		t.Fatalf("send port %s has no filtered subscription", port)
	}
	var ctxProps []messagebox.Property
	for _, c := range subs[0].Filter[0] {
		if c.Op != messagebox.OpEqual {
			t.Fatalf("filter of %s has a %v condition", port, c.Op)
		}
		ctxProps = append(ctxProps, messagebox.Promoted(c.Property, messagebox.String(c.Value.Str())))
	}
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	mid, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<Customer/>"), ctxProps...))
	if err != nil {
		t.Fatal(err)
	}
	host = subs[0].Host
	ds, err := mb.Dequeue(ctx, host, 10, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("dequeue on %s: %d, %v", host, len(ds), err)
	}
	if err := mb.Suspend(ctx, ds[0].Lease, "transmission failed"); err != nil {
		t.Fatal(err)
	}
	return mid.String(), host
}

// deliver checks that host delivers message id, and completes it.
func deliver(t *testing.T, dir, host, id string) {
	t.Helper()
	ctx := context.Background()
	g, err := biztier.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := mb.Dequeue(ctx, host, 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Message.ID.String() != id {
		t.Fatalf("after resume, %s delivers %d messages (%v), want %s", host, len(ds), err, id)
	}
	if err := mb.Complete(ctx, ds[0].Lease); err != nil {
		t.Fatal(err)
	}
}
