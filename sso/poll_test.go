package sso_test

import (
	"testing"
	"time"

	"github.com/biztier/biztier/sso"
)

// TestStore_readerNoticesRegenerate: a second SSO server of the system
// (a reader with its own cache) notices a regenerate committed through
// the log on its next lookup, and within the poll interval without one.
func TestStore_readerNoticesRegenerate(t *testing.T) {
	clk := newClock()
	e := newEnv(t, &sso.Options{Now: clk.Now})
	want := seedMany(t, e.s, 3)
	reader, err := sso.OpenOn(t.Context(), e.s, &sso.Options{Keys: e.keys, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	if g := reader.Status().Generation; g != 1 {
		t.Fatalf("reader at generation %d before it looked", g)
	}
	// The next lookup meets a record of generation 2 and rereads.
	checkAll(t, reader, want)
	if g := reader.Status().Generation; g != 2 {
		t.Fatalf("reader at generation %d after a lookup", g)
	}
	// Another regenerate; no lookup, but the poll interval passes.
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	clk.Add(29 * time.Second)
	if _, err := reader.Applications(as(admin)); err != nil {
		t.Fatal(err)
	}
	if g := reader.Status().Generation; g != 2 {
		t.Fatalf("reader polled early: generation %d", g)
	}
	clk.Add(2 * time.Second)
	if _, err := reader.Applications(as(admin)); err != nil {
		t.Fatal(err)
	}
	if g := reader.Status().Generation; g != 3 {
		t.Fatalf("reader did not poll after 30 s: generation %d", g)
	}
}
