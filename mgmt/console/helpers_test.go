package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt/console"
)

// fixture is a group with two hosts and a console over it.
type fixture struct {
	g  *biztier.Group
	mb *messagebox.Store
	h  *console.Handler
}

// allowAlice lets "alice" (the X-User header) write; anyone else is refused.
var allowAlice = console.AuthorizerFunc(func(r *http.Request, a console.Action) (string, error) {
	switch r.Header.Get("X-User") {
	case "alice":
		return "alice", nil
	case "":
		return "", console.ErrUnauthenticated
	}
	return "", console.ErrForbidden
})

func newFixture(t testing.TB, opts console.Options) *fixture {
	t.Helper()
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, host := range []string{"SendHost", "OrchHost"} {
		if err := mb.CreateHost(ctx, host); err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Subscribe(ctx, messagebox.Subscription{
			Name: host + "Port", Host: host,
			Predicate: messagebox.Or(messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String("urn:t#"+host)))),
		}); err != nil {
			t.Fatal(err)
		}
	}
	opts.Group = g
	h, err := console.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{g: g, mb: mb, h: h}
}

// publish publishes n messages for host and returns their IDs.
func (f *fixture) publish(t testing.TB, host string, n int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for i := range n {
		id, _, err := f.mb.Publish(context.Background(), messagebox.NewMessage([]byte("<Order n='"+strings.Repeat("9", i%3)+"'/>"),
			messagebox.Promoted("BTS.MessageType", messagebox.String("urn:t#"+host)),
			messagebox.Written("urn:t#Customer", messagebox.String("contoso"))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// suspend dequeues up to n entries of host and suspends them with reason.
func (f *fixture) suspend(t testing.TB, host string, n int, reason string) {
	t.Helper()
	ctx := context.Background()
	ds, err := f.mb.Dequeue(ctx, host, n, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if err := f.mb.Suspend(ctx, d.Lease, reason); err != nil {
			t.Fatal(err)
		}
	}
}

// do runs one request through the handler.
func (f *fixture) do(t testing.TB, r *http.Request) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// session asks the console for a session cookie and its token.
func (f *fixture) session(t testing.TB) (*http.Cookie, string) {
	t.Helper()
	res, body := f.do(t, httptest.NewRequest("GET", "/api/csrf", nil))
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	cs := res.Cookies()
	if len(cs) != 1 || v.Token == "" {
		t.Fatalf("csrf: cookies %v, token %q", cs, v.Token)
	}
	return cs[0], v.Token
}

// post builds a same-origin form POST.
func post(path string, form url.Values) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return r
}

// suspendedAll selects every suspended entry.
var suspendedAll = messagebox.SuspendedQuery{}
