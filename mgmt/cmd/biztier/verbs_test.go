package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerbs runs each verb once against a fresh group and checks what it
// prints and its exit code.
func TestVerbs(t *testing.T) {
	brl := filepath.Join("..", "..", "..", "..", "shared", "testdata", "rules", "btdf-testpolicy-1.0.xml")
	bamDef := filepath.Join("..", "..", "..", "..", "shared", "testdata", "bam", "sdk-bamfromexpression-def.xml")
	for _, tc := range []struct {
		name  string
		args  []string // "$DIR", "$FILE" and "$TMP" are replaced
		code  int
		want  []string // substrings of stdout (stderr for a failure)
		needs string   // a shared file the case reads; skipped when absent
	}{
		{name: "help", args: []string{"help"}, want: []string{"bindings import", "suspended resume", "backup now", "restore mark", "shipping status", "bam deploy", "rules deploy", "ports stop", "apps start", "sso backup-secret", "sso restore-secret", "audit list", "pair status", "pair switchover"}},
		{name: "unknown", args: []string{"-dir", "$DIR", "frobnicate", "now"}, code: 2, want: []string{"unknown command"}},
		{name: "no dir", args: []string{"-dir", "", "apps", "list"}, code: 2, want: []string{"-dir is required"}},
		{name: "bindings import", args: []string{"-dir", "$DIR", "bindings", "import", "-app", "Shop", "$FILE"}, want: []string{"imported", "0 created, 2 updated"}},
		{name: "bindings import missing", args: []string{"-dir", "$DIR", "bindings", "import", "$TMP/none.xml"}, code: 1, want: []string{"no such file"}},
		{name: "bindings export", args: []string{"-dir", "$DIR", "bindings", "export", "-app", "Shop"}, want: []string{"<BindingInfo", `Name="ToWarehouse"`}},
		{name: "bindings export unknown app", args: []string{"-dir", "$DIR", "bindings", "export", "-app", "Nope"}, code: 1, want: []string{"not found"}},
		{name: "apps list", args: []string{"-dir", "$DIR", "apps", "list"}, want: []string{"Shop", "1"}},
		{name: "apps stop", args: []string{"-dir", "$DIR", "apps", "stop", "-mode", "receiving", "Shop"}, want: []string{"stopped Shop (receiving)"}},
		{name: "apps stop bad mode", args: []string{"-dir", "$DIR", "apps", "stop", "-mode", "gently", "Shop"}, code: 2, want: []string{"-mode"}},
		{name: "apps start", args: []string{"-dir", "$DIR", "apps", "start", "Shop"}, want: []string{"started Shop"}},
		{name: "ports list", args: []string{"-dir", "$DIR", "ports", "list"}, want: []string{"ToWarehouse", "Started", "FromShopFile", "enabled"}},
		{name: "ports stop", args: []string{"-dir", "$DIR", "ports", "stop", "ToWarehouse"}, want: []string{"stopped"}},
		{name: "ports start location", args: []string{"-dir", "$DIR", "ports", "start", "-kind", "location", "FromShopFile"}, want: []string{"started"}},
		{name: "ports start unknown", args: []string{"-dir", "$DIR", "ports", "start", "Nope"}, code: 1, want: []string{"not found"}},
		{name: "suspended query", args: []string{"-dir", "$DIR", "suspended", "query", "-error", "refused"}, want: []string{"3 suspended entries match (3 resumable)", "SendHost"}},
		{name: "suspended query none", args: []string{"-dir", "$DIR", "suspended", "query", "-host", "OtherHost"}, want: []string{"0 suspended entries match"}},
		{name: "suspended query bad kind", args: []string{"-dir", "$DIR", "suspended", "query", "-kind", "odd"}, code: 2, want: []string{"-kind"}},
		{name: "suspended resume unconfirmed", args: []string{"-dir", "$DIR", "suspended", "resume", "-error", "refused"}, code: 1, want: []string{"-confirm 3"}},
		{name: "suspended resume", args: []string{"-dir", "$DIR", "suspended", "resume", "-error", "refused", "-confirm", "3"}, want: []string{"resumed 3 entries"}},
		{name: "suspended terminate", args: []string{"-dir", "$DIR", "suspended", "terminate", "-confirm", "3"}, want: []string{"terminated 3 entries"}},
		{name: "backup now", args: []string{"-dir", "$DIR", "backup", "now", "-to", "$TMP/backup", "-mark", "before-change"}, want: []string{"full backup", "mark before-change"}},
		{name: "backup log without full", args: []string{"-dir", "$DIR", "backup", "now", "-log", "-to", "$TMP/empty"}, code: 1, want: []string{"no"}},
		{name: "backup list empty", args: []string{"backup", "list", "-from", "$TMP/empty"}, want: []string{"SET"}},
		{name: "restore without backups", args: []string{"restore", "mark", "-from", "$TMP/empty", "-to", "$TMP/restored"}, code: 1, want: []string{"backup"}},
		{name: "shipping status", args: []string{"-dir", "$DIR", "shipping", "status", "-backup", "$TMP/empty"}, want: []string{"backup", "0"}},
		{name: "rules import", args: []string{"-dir", "$DIR", "rules", "import", brl}, want: []string{"imported", "2 policies", "Company.FindCustomer 1.2"}, needs: brl},
		{name: "rules deploy unknown", args: []string{"-dir", "$DIR", "rules", "deploy", "Nope", "1.0"}, code: 1, want: []string{"not found"}},
		{name: "rules deploy bad version", args: []string{"-dir", "$DIR", "rules", "deploy", "Nope", "one"}, code: 2, want: []string{"version"}},
		{name: "rules list", args: []string{"-dir", "$DIR", "rules", "list"}, want: []string{"KIND"}},
		{name: "bam deploy", args: []string{"-dir", "$DIR", "bam", "deploy", bamDef}, want: []string{"deployed"}, needs: bamDef},
		{name: "audit list", args: []string{"-dir", "$DIR", "audit", "list"}, want: []string{"ACTION"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs != "" {
				if _, err := os.Stat(tc.needs); err != nil {
					t.Skipf("shared file: %v", err)
				}
			}
			dir, file := newGroup(t, 3)
			tmp := t.TempDir()
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				a = strings.ReplaceAll(a, "$DIR", dir)
				a = strings.ReplaceAll(a, "$FILE", file)
				args[i] = strings.ReplaceAll(a, "$TMP", tmp)
			}
			code, out, errs := cmd(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			text := out
			if tc.code != 0 {
				text = errs
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

// TestVerbs_json: -json prints what the table shows, for scripts.
func TestVerbs_json(t *testing.T) {
	dir, _ := newGroup(t, 2)
	out := mustCmd(t, "-dir", dir, "-json", "suspended", "query")
	var v struct {
		Count   int
		Entries []struct{ MessageID, Host string }
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if v.Count != 2 || len(v.Entries) != 2 || v.Entries[0].Host != "SendHost" {
		t.Fatalf("%+v", v)
	}
	out = mustCmd(t, "-dir", dir, "-json", "ports", "list", "-app", "Shop")
	var ports []struct{ Kind, Name, State string }
	if err := json.Unmarshal([]byte(out), &ports); err != nil || len(ports) != 2 {
		t.Fatalf("ports %v %+v:\n%s", err, ports, out)
	}
}

// TestVerbs_writesAudited: each write leaves a begin and an end record with
// who did it.
func TestVerbs_writesAudited(t *testing.T) {
	dir, _ := newGroup(t, 1)
	mustCmd(t, "-dir", dir, "ports", "stop", "ToWarehouse")
	mustCmd(t, "-dir", dir, "suspended", "terminate", "-confirm", "1")
	out := mustCmd(t, "-dir", dir, "-json", "audit", "list")
	var rs []struct{ Principal, Tool, Action, Phase string }
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatal(err)
	}
	want := []string{"suspended terminate end", "suspended terminate begin", "ports stop end", "ports stop begin"}
	if len(rs) != len(want) {
		t.Fatalf("%d records: %+v", len(rs), rs)
	}
	for i, r := range rs {
		if got := r.Action + " " + r.Phase; got != want[i] || r.Principal != "tester" || r.Tool != "biztier" {
			t.Errorf("record %d: %+v, want %s by tester", i, r, want[i])
		}
	}
}
