package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/biztier/biztier/mgmt/console"
)

func TestHandler_pages(t *testing.T) {
	f := newFixture(t, console.Options{})
	ids := f.publish(t, "SendHost", 3)
	f.suspend(t, "SendHost", 1, "disk full")
	msg := ids[0].String()
	for _, tc := range []struct {
		path string
		code int
		want []string // substrings of the body
	}{
		{"/", 200, []string{"Group " + f.g.ID().String(), `id="spool">3<`}},
		{"/api/overview", 200, []string{`"messages": 3`, `"suspended": 1`}},
		{"/hosts", 200, []string{"SendHost", "OrchHost"}},
		{"/api/hosts", 200, []string{`"name": "SendHost"`, `"Ready": 2`}},
		{"/suspended", 200, []string{`id="count">1<`, "disk full", msg}},
		{"/suspended?host=OrchHost", 200, []string{`id="count">0<`}},
		{"/api/suspended?error=disk", 200, []string{`"count": 1`, `"resumable": 1`}},
		{"/api/suspended?error=nothing-like-it", 200, []string{`"count": 0`}},
		{"/api/suspended?kind=bogus", 400, []string{"kind"}},
		{"/api/suspended?after=yesterday", 400, []string{"after"}},
		{"/messages/" + msg, 200, []string{"&lt;Order n=&#39;&#39;/&gt;", "urn:t#Customer", "contoso"}},
		{"/api/messages/" + msg, 200, []string{`"isBody": true`, `"text": "\u003cOrder`}},
		{"/api/messages/not-a-uuid", 400, nil},
		{"/api/messages/00000000-0000-0000-0000-000000000001", 404, nil},
		{"/subscriptions", 200, []string{"SendHostPort", "OrchHostPort"}},
		{"/subscriptions?message=" + msg, 200, []string{`<span class="ok">yes</span>`}},
		{"/flow/" + msg, 200, []string{"MessageReceived", "MessageRouted"}},
		{"/api/flow/" + msg, 200, []string{`"kind": "MessageReceived"`}},
		{"/rules", 200, []string{"Policies"}},
		{"/bam", 404, []string{"not configured"}},
		{"/api/sso", 404, []string{"not configured"}},
		{"/audit", 200, []string{"no writes yet"}},
		{"/nowhere", 404, nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := f.do(t, httptest.NewRequest("GET", tc.path, nil))
			if res.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.code, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			if strings.HasPrefix(tc.path, "/api/") && tc.code == 200 && !json.Valid([]byte(body)) {
				t.Errorf("invalid JSON: %s", body)
			}
		})
	}
}

// The explanation says which subscription matched and which did not.
func TestHandler_explain(t *testing.T) {
	f := newFixture(t, console.Options{})
	id := f.publish(t, "OrchHost", 1)[0]
	_, body := f.do(t, httptest.NewRequest("GET", "/api/subscriptions?message="+id.String(), nil))
	var v struct {
		Subscriptions []struct {
			Name    string
			Matched *bool
			Reason  string
		}
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range v.Subscriptions {
		if s.Matched == nil {
			t.Fatalf("%s not explained", s.Name)
		}
		got[s.Name] = *s.Matched
		if !*s.Matched && s.Reason == "" {
			t.Errorf("%s did not match and gives no reason", s.Name)
		}
	}
	if !got["OrchHostPort"] || got["SendHostPort"] || len(got) != 2 {
		t.Fatalf("matches %v", got)
	}
}

func TestHandler_securityHeaders(t *testing.T) {
	f := newFixture(t, console.Options{})
	res, _ := f.do(t, httptest.NewRequest("GET", "/", nil))
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		session = c
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v", session)
	}
}
