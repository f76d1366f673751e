package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRouter drops orders in the input folder and finds each in the folder
// its total routes it to, in a first run and in a second on the same group
// (which imports and starts the bindings again).
func TestRouter(t *testing.T) {
	dir := t.TempDir()
	route(t, dir, map[string]int{"PO-1.xml": 250, "PO-2.xml": 40, "PO-3.xml": 100, "PO-4.xml": 101})
	route(t, dir, map[string]int{"PO-5.xml": 7})
}

func route(t *testing.T, dir string, totals map[string]int) {
	if err := os.MkdirAll(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, total := range totals {
		body := fmt.Sprintf(`<Order xmlns="urn:shop"><Total>%d</Total></Order>`, total)
		if err := os.WriteFile(filepath.Join(dir, "in", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, dir) }()
	deadline := time.Now().Add(20 * time.Second)
	for name, total := range totals {
		want := "small"
		if total > 100 {
			want = "big"
		}
		// The output folder is the only signal a file router gives.
		for {
			if _, err := os.Stat(filepath.Join(dir, want, name)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s (total %d) never reached %s/", name, total, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "in")); len(left) != 0 {
		t.Fatalf("input folder holds %d files", len(left))
	}
}
