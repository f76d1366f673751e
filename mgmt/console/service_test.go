package console_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt/console"
)

// TestHandler_service: a query by service (a send port's name) selects the
// entries of that port's subscription only, and a bulk resume by service
// acts on those.
func TestHandler_service(t *testing.T) {
	f := newFixture(t, console.Options{Authorizer: allowAlice})
	ctx := context.Background()
	// A send port's subscription beside OrchHostPort, taking the same
	// messages: each publish queues one entry for each.
	if _, err := f.mb.Subscribe(ctx, messagebox.Subscription{
		Name: "SendPort:ToWarehouse/filter", Host: "OrchHost", Port: "ToWarehouse",
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String("urn:t#OrchHost")))),
	}); err != nil {
		t.Fatal(err)
	}
	f.publish(t, "OrchHost", 3)
	f.suspend(t, "OrchHost", 6, "refused")
	count := func(query string) int {
		t.Helper()
		_, body := f.do(t, httptest.NewRequest("GET", "/api/suspended?"+query, nil))
		var v struct{ Count int }
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		return v.Count
	}
	for _, tc := range []struct {
		query string
		want  int
	}{{"", 6}, {"service=ToWarehouse", 3}, {"service=Nowhere", 0}, {"service=ToWarehouse&host=SendHost", 0}} {
		if got := count(tc.query); got != tc.want {
			t.Errorf("count(%q) = %d, want %d", tc.query, got, tc.want)
		}
	}
	cookie, token := f.session(t)
	r := post("/api/suspended/resume", url.Values{"service": {"ToWarehouse"}, "confirm": {"3"}, "csrf_token": {token}})
	r.AddCookie(cookie)
	r.Header.Set("X-User", "alice")
	if res, body := f.do(t, r); res.StatusCode != 200 {
		t.Fatalf("resume by service: %d %s", res.StatusCode, body)
	}
	if got := count(""); got != 3 {
		t.Fatalf("%d suspended after resuming the port's 3, want 3", got)
	}
	if got := count("service=ToWarehouse"); got != 0 {
		t.Fatalf("%d of the port's left, want 0", got)
	}
}
