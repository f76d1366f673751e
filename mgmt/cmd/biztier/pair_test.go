package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/cluster"
	"github.com/biztier/biztier/internal/clustertest"
	"github.com/biztier/biztier/mgmt/console"
)

// TestPair: the pair verbs through a running node's console: status shows
// the active node; a switchover with the wrong password is refused, with
// the right one hands the role over.
func TestPair(t *testing.T) {
	p := clustertest.NewPair(t)
	a := p.Active("a")
	open := p.Open
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := open("b")
	for a.Status().SyncState != "sync" {
		if ctx.Err() != nil {
			t.Fatal("b never in sync")
		}
		time.Sleep(time.Millisecond) // cluster.Status has no change signal to wait on
	}
	h, err := console.New(console.Options{Node: a, Authorizer: console.AuthorizerFunc(func(r *http.Request, _ console.Action) (string, error) {
		if u, p, ok := r.BasicAuth(); ok && u == "tester" && p == "s3cret" {
			return u, nil
		}
		return "", console.ErrUnauthenticated
	})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	out := mustCmd(t, "pair", "status", "-console", srv.URL)
	if !strings.Contains(out, "active") || !strings.Contains(out, "sync") {
		t.Fatalf("status:\n%s", out)
	}
	for _, tc := range []struct {
		password string
		code     int
		want     string
	}{
		{"guess", 1, "401"},
		{"s3cret", 0, "a is now passive"},
	} {
		t.Setenv(consolePasswordEnv, tc.password)
		code, out, errs := cmd(t, "pair", "switchover", "-console", srv.URL)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Fatalf("password %q: exit %d, want %d with %q:\n%s%s", tc.password, code, tc.code, tc.want, out, errs)
		}
	}
	if active, err := cluster.WaitActive(ctx, a, b); err != nil || active.ID() != "b" {
		t.Fatalf("active after switchover: %v %v", active, err)
	}
	if code, _, errs := cmd(t, "pair", "status"); code != 2 || !strings.Contains(errs, "-console") {
		t.Fatalf("status without -console: %d %s", code, errs)
	}
}
