package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConsoleExample runs the example on port 0 and reads the console and
// /metrics while messages flow; a write without the operator's password is
// refused.
func TestConsoleExample(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{addr: "127.0.0.1:0", dir: t.TempDir(), rate: 500, fail: 5, password: "secret"}, io.Discard, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("example ended: %v", err)
	}
	get := func(path string) string {
		t.Helper()
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		return string(b)
	}
	// Wait (on the group's own figures, not a sleep of fixed length) until
	// messages have been published, delivered and suspended.
	var ov struct {
		MessageBox struct {
			Published, Completed uint64
			Suspended            int
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := json.Unmarshal([]byte(get("/api/overview")), &ov); err != nil {
			t.Fatal(err)
		}
		m := ov.MessageBox
		if m.Published >= 50 && m.Completed >= 20 && m.Suspended >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no flow after 30s: %+v", m)
		}
		time.Sleep(50 * time.Millisecond) // polling a live server: nothing to wait on
	}
	m := get("/metrics")
	for _, w := range []string{"biztier_messagebox_published_messages_total", `biztier_messagebox_host_queue_entries{host="BillingHost",state="ready"}`, "biztier_wal_fsyncs_total", "biztier_backup_runs_total"} {
		if !strings.Contains(m, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	if !strings.Contains(get("/suspended"), "refused the connection") {
		t.Error("suspended page lacks the failed sends")
	}
	res, err := http.Post("http://"+addr+"/api/suspended/terminate", "application/x-www-form-urlencoded", strings.NewReader("confirm=1"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous write: %d, want 403", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("example: %v", err)
	}
}
