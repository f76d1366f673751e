package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt/audit"
	"github.com/biztier/biztier/mgmt/console"
)

// TestHandler_writeRefused: every way a write can be refused leaves the
// suspended entries as they were and writes no audit record.
func TestHandler_writeRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		authz console.Authorizer
		user  string
		edit  func(r *http.Request, form url.Values)
		code  int
	}{
		{name: "default authorizer", authz: nil, user: "alice", code: 403},
		{name: "unauthenticated", authz: allowAlice, user: "", code: 401},
		{name: "not allowed", authz: allowAlice, user: "mallory", code: 403},
		{name: "cross site", authz: allowAlice, user: "alice", code: 403,
			edit: func(r *http.Request, _ url.Values) { r.Header.Set("Sec-Fetch-Site", "cross-site") }},
		{name: "foreign origin", authz: allowAlice, user: "alice", code: 403,
			edit: func(r *http.Request, _ url.Values) {
				r.Header.Del("Sec-Fetch-Site")
				r.Header.Set("Origin", "https://evil.example")
			}},
		{name: "no token", authz: allowAlice, user: "alice", code: 403,
			edit: func(_ *http.Request, form url.Values) { form.Del("csrf_token") }},
		{name: "token of another session", authz: allowAlice, user: "alice", code: 403,
			edit: func(_ *http.Request, form url.Values) { form.Set("csrf_token", "AAAA") }},
		{name: "count changed", authz: allowAlice, user: "alice", code: 409,
			edit: func(_ *http.Request, form url.Values) { form.Set("confirm", "4") }},
		{name: "no count", authz: allowAlice, user: "alice", code: 400,
			edit: func(_ *http.Request, form url.Values) { form.Del("confirm") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, console.Options{Authorizer: tc.authz})
			f.publish(t, "SendHost", 5)
			f.suspend(t, "SendHost", 5, "disk full")
			cookie, token := f.session(t)
			form := url.Values{"error": {"disk"}, "confirm": {"5"}, "csrf_token": {token}}
			r := post("/suspended/resume", form)
			if tc.edit != nil {
				tc.edit(r, form)
				r = rebuild(r, form)
			}
			r.AddCookie(cookie)
			if tc.user != "" {
				r.Header.Set("X-User", tc.user)
			}
			res, body := f.do(t, r)
			if res.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.code, body)
			}
			if n, _ := f.mb.CountSuspended(context.Background(), messagebox.SuspendedQuery{}); n != 5 {
				t.Fatalf("%d suspended after a refused write, want 5", n)
			}
			if rs, _ := audit.New(f.g, nil).List(context.Background(), 10); len(rs) != 0 {
				t.Fatalf("refused write audited: %+v", rs)
			}
		})
	}
}

// rebuild makes a request with r's headers and the edited form.
func rebuild(r *http.Request, form url.Values) *http.Request {
	n := httptest.NewRequest(r.Method, r.URL.String(), strings.NewReader(form.Encode()))
	n.Header = r.Header.Clone()
	return n
}

// TestHandler_bulk: resume and terminate act on everything the query
// matches, far past the page shown, and are audited before and after.
func TestHandler_bulk(t *testing.T) {
	for _, tc := range []struct {
		action       string
		query        url.Values
		confirm      int
		wantCount    int
		wantLeft     int // suspended afterwards
		wantRequeued int // SendHost ready afterwards
	}{
		{"resume", url.Values{"error": {"disk"}}, 250, 250, 20, 250},
		{"terminate", url.Values{"error": {"disk"}}, 250, 250, 20, 0},
		{"resume", url.Values{"property": {"urn:t#Customer"}, "value": {"contoso"}}, 270, 270, 0, 250},
		{"resume", url.Values{"property": {"urn:t#Customer"}, "value": {"fabrikam"}}, 0, 0, 270, 0},
		{"terminate", url.Values{}, 270, 270, 0, 0},
		{"resume", url.Values{"host": {"OrchHost"}}, 20, 20, 250, 0},
	} {
		t.Run(fmt.Sprint(tc.action, "?", tc.query.Encode()), func(t *testing.T) {
			f := newFixture(t, console.Options{Authorizer: allowAlice, PageSize: 10})
			f.publish(t, "SendHost", 250)
			f.suspend(t, "SendHost", 250, "disk full")
			f.publish(t, "OrchHost", 20)
			f.suspend(t, "OrchHost", 20, "timeout")
			cookie, token := f.session(t)

			// What the page shows first: the count, not just the page.
			req := httptest.NewRequest("GET", "/api/suspended?"+tc.query.Encode(), nil)
			_, body := f.do(t, req)
			var page struct{ Count, Shown int }
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			if page.Count != tc.confirm || page.Shown > 10 {
				t.Fatalf("page: count %d shown %d, want count %d and at most 10 shown", page.Count, page.Shown, tc.confirm)
			}

			form := url.Values{}
			for k, v := range tc.query {
				form[k] = v
			}
			form.Set("confirm", fmt.Sprint(tc.confirm))
			form.Set("csrf_token", token)
			r := post("/suspended/"+tc.action, form)
			r.AddCookie(cookie)
			r.Header.Set("X-User", "alice")
			res, body := f.do(t, r)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			if loc := res.Header.Get("Location"); !strings.Contains(loc, fmt.Sprintf("n=%d", tc.wantCount)) {
				t.Errorf("redirect to %s, want n=%d", loc, tc.wantCount)
			}
			ctx := context.Background()
			if n, _ := f.mb.CountSuspended(ctx, messagebox.SuspendedQuery{}); n != tc.wantLeft {
				t.Errorf("%d suspended afterwards, want %d", n, tc.wantLeft)
			}
			if q := f.mb.Stats().Hosts["SendHost"]; q.Ready != tc.wantRequeued {
				t.Errorf("SendHost ready %d, want %d", q.Ready, tc.wantRequeued)
			}
			rs, err := audit.New(f.g, nil).List(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 2 || rs[1].Phase != "begin" || rs[0].Phase != "end" || rs[0].Count != tc.wantCount ||
				rs[0].Principal != "alice" || rs[0].Action != tc.action || rs[0].Error != "" {
				t.Fatalf("audit %+v", rs)
			}
		})
	}
}

// TestHandler_apiWrite: a JSON client writes with the token in a header.
func TestHandler_apiWrite(t *testing.T) {
	f := newFixture(t, console.Options{Authorizer: allowAlice})
	f.publish(t, "SendHost", 3)
	f.suspend(t, "SendHost", 3, "disk full")
	cookie, token := f.session(t)
	r := httptest.NewRequest("POST", "/api/suspended/resume", strings.NewReader(url.Values{"confirm": {"3"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-CSRF-Token", token)
	r.Header.Set("X-User", "alice")
	r.AddCookie(cookie)
	res, body := f.do(t, r)
	if res.StatusCode != 200 || !strings.Contains(body, `"count": 3`) {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	_, body = f.do(t, httptest.NewRequest("GET", "/audit", nil))
	if !strings.Contains(body, "alice") || !strings.Contains(body, "resume") {
		t.Fatalf("audit page lacks the write:\n%s", body)
	}
}
