package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/biztier/biztier"

	"github.com/biztier/biztier/mgmt/console"
)

// browser starts a headless chromium for the test. Without one it skips the
// test, unless BIZTIER_REQUIRE_BROWSER is set (.ci/run installs Debian's
// chromium and sets it, so there the test runs or fails).
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("BIZTIER_REQUIRE_BROWSER") != "" {
			t.Fatalf("chromium: %v", err)
		}
		t.Skip("chromium not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions with a deadline, failing the test on error.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// TestBrowser_suspendResume drives the console in a real browser: a
// suspended message is found by a query, a resume without authorization is
// refused, the resume with it puts the message back on its queue, the host
// delivers it, and its flow shows it sent. It ends with a screenshot of the
// overview, written to $BIZTIER_SCREENSHOT_DIR when set.
func TestBrowser_suspendResume(t *testing.T) {
	ctx := browser(t)
	// The operator is whoever carries the test_user=alice cookie.
	authz := console.AuthorizerFunc(func(r *http.Request, a console.Action) (string, error) {
		if c, err := r.Cookie("test_user"); err == nil && c.Value == "alice" {
			return "alice", nil
		}
		return "", console.ErrUnauthenticated
	})
	f := newFixture(t, console.Options{Authorizer: authz})
	srv := httptest.NewServer(f.h)
	defer srv.Close()

	f.publish(t, "OrchHost", 2)
	id := f.publish(t, "SendHost", 1)[0].String()
	f.suspend(t, "SendHost", 1, "remote host refused the connection")

	// Find it by a query typed in the form.
	step(t, ctx, "query",
		chromedp.Navigate(srv.URL+"/suspended?host=OrchHost"),
		chromedp.WaitVisible("#query"),
		chromedp.Clear(`input[name="host"]`),
		chromedp.SetValue(`input[name="error"]`, "refused"),
		chromedp.Submit("#query"),
		chromedp.WaitVisible(`a[href="/messages/`+id+`"]`),
	)
	if n := text(t, ctx, "#count"); n != "1" {
		t.Fatalf("count %q, want 1", n)
	}

	// Without authorization the resume is refused.
	step(t, ctx, "refused resume", chromedp.Click("#resume-all"), chromedp.WaitVisible("#error"))
	if e := text(t, ctx, "#error"); !strings.Contains(e, "not authenticated") {
		t.Fatalf("refusal says %q", e)
	}
	if n, _ := f.mb.CountSuspended(context.Background(), suspendedAll); n != 1 {
		t.Fatalf("%d suspended after a refused resume", n)
	}

	// With it, the bulk resume acts on what was counted.
	step(t, ctx, "resume",
		chromedp.Navigate(srv.URL+"/suspended?error=refused"),
		chromedp.WaitVisible("#resume-all"),
		chromedp.Evaluate[chromedp.Void](`document.cookie = "test_user=alice; path=/"`),
		chromedp.Click("#resume-all"),
		chromedp.WaitVisible("#done"),
	)
	if d := text(t, ctx, "#done"); d != "resume: 1 entries" {
		t.Fatalf("notice %q", d)
	}
	if n := text(t, ctx, "#count"); n != "0" {
		t.Fatalf("count after resume %q, want 0", n)
	}

	// The send host delivers it.
	ds, err := f.mb.Dequeue(context.Background(), "SendHost", 10, time.Minute)
	if err != nil || len(ds) != 1 || ds[0].Message.ID.String() != id {
		t.Fatalf("delivery after resume: %d, %v", len(ds), err)
	}
	if err := f.mb.Complete(context.Background(), ds[0].Lease); err != nil {
		t.Fatal(err)
	}

	// Its flow shows it sent.
	step(t, ctx, "flow",
		chromedp.Navigate(srv.URL+"/flow/"+id),
		chromedp.WaitVisible("#events"),
	)
	if ev := text(t, ctx, "#events"); !strings.Contains(ev, "MessageSent") || !strings.Contains(ev, "MessageReceived") {
		t.Fatalf("flow events:\n%s", ev)
	}

	// The audit page shows who did it.
	step(t, ctx, "audit", chromedp.Navigate(srv.URL+"/audit"), chromedp.WaitVisible("#audit"))
	if a := text(t, ctx, "#audit"); !strings.Contains(a, "alice") {
		t.Fatalf("audit:\n%s", a)
	}

	// The overview, for the README: with some traffic, two failed sends and
	// a backup job that has run, on a console that shows it.
	f.publish(t, "OrchHost", 5)
	f.publish(t, "SendHost", 2)
	f.suspend(t, "SendHost", 2, "remote host refused the connection")
	ship, err := f.g.NewLogShipping(biztier.LogShippingOptions{Backup: biztier.DirShipper(vfs.NewMem(), "backup")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ship.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	h2, err := console.New(console.Options{Group: f.g, Shipping: ship, Authorizer: authz})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	step(t, ctx, "overview", chromedp.Navigate(srv2.URL+"/"), chromedp.WaitVisible("#shipping"))
	if n := text(t, ctx, "#suspended-count"); n != "2 suspended" {
		t.Fatalf("overview shows %q", n)
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100) /* 100: PNG; below, JPEG */)
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("BIZTIER_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, "overview.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("overview screenshot: %s (%d bytes)", filepath.Join(dir, "overview.png"), len(png))
}
