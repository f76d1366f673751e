package console_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/biztier/biztier/mgmt/console"
)

// TestHandler_logger: a write logs one info line with who and how many; a
// refused write one warning; reads nothing.
func TestHandler_logger(t *testing.T) {
	var buf bytes.Buffer
	f := newFixture(t, console.Options{Authorizer: allowAlice, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	f.publish(t, "SendHost", 4)
	f.suspend(t, "SendHost", 4, "disk full")
	f.do(t, httptest.NewRequest("GET", "/suspended", nil))
	if buf.Len() != 0 {
		t.Fatalf("a read logged: %s", buf.String())
	}
	cookie, token := f.session(t)
	for _, user := range []string{"mallory", "alice"} {
		r := post("/suspended/resume", url.Values{"confirm": {"4"}, "csrf_token": {token}})
		r.AddCookie(cookie)
		r.Header.Set("X-User", user)
		f.do(t, r)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, want := range [][]string{
		{"level=WARN", "console write failed", "status=403"},
		{"level=INFO", "console write", "principal=alice", "count=4"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %q: %s", i, w, lines[i])
			}
		}
	}
}
