package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/cluster"
	"github.com/biztier/biztier/internal/clustertest"
	"github.com/biztier/biztier/mgmt/audit"
	"github.com/biztier/biztier/mgmt/console"
)

// TestHandler_pair: over a cluster node, the overview shows which node is
// active, its epoch and sync state.
func TestHandler_pair(t *testing.T) {
	n := clustertest.NewPair(t).Active("node-a")
	h, err := console.New(console.Options{Group: n.Group(), Node: n})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/overview", nil))
	var v struct {
		Pair *struct {
			Node, Role, SyncState string
			Epoch                 uint64
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	st := n.Status()
	if v.Pair == nil || v.Pair.Node != "node-a" || v.Pair.Role != cluster.Active.String() || v.Pair.Epoch != st.Epoch || v.Pair.SyncState != st.SyncState {
		t.Fatalf("pair %+v, status %+v", v.Pair, st)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(w.Body.String(), `id="pair"`) || !strings.Contains(w.Body.String(), `id="switchover"`) {
		t.Fatal("overview page lacks the pair or its switchover")
	}
}

// TestHandler_switchover: an authorized switchover hands the active role to
// the passive, which then holds the audit record; without a passive in
// sync it is refused; without authorization nothing happens.
func TestHandler_switchover(t *testing.T) {
	p := clustertest.NewPair(t)
	a := p.Active("a")
	open := p.Open
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := console.New(console.Options{Node: a, Authorizer: allowAlice})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{h: h}
	switchover := func(user string) int {
		cookie, token := f.session(t)
		r := post("/api/pair/switchover", url.Values{"csrf_token": {token}})
		r.AddCookie(cookie)
		r.Header.Set("X-User", user)
		res, _ := f.do(t, r)
		return res.StatusCode
	}
	// Alone, there is no passive to hand over to.
	if code := switchover("alice"); code != http.StatusConflict {
		t.Fatalf("switchover without a passive: %d, want 409", code)
	}
	b := open("b")
	for a.Status().SyncState != "sync" {
		if ctx.Err() != nil {
			t.Fatal("b never in sync")
		}
		time.Sleep(time.Millisecond) // the cluster package's own tests wait so: Status has no signal
	}
	if code := switchover("mallory"); code != http.StatusForbidden || a.Role() != cluster.Active {
		t.Fatalf("unauthorized switchover: %d, a is %v", code, a.Role())
	}
	if code := switchover("alice"); code != http.StatusOK {
		t.Fatalf("switchover: %d", code)
	}
	active, err := cluster.WaitActive(ctx, a, b)
	if err != nil || active.ID() != "b" {
		t.Fatalf("active after switchover: %v, %v", active, err)
	}
	rs, err := audit.New(b.Group(), nil).List(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range rs {
		found = found || (r.Action == "switchover" && r.Principal == "alice" && r.Target == "from a")
	}
	if !found {
		t.Fatalf("the new active's trail lacks the switchover: %+v", rs)
	}
}
