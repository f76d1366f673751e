package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/mgmt/audit"
)

func TestLog_appendList(t *testing.T) {
	dir := t.TempDir()
	g, err := biztier.Open(dir, &biztier.Options{Durability: biztier.NoSync})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	l := audit.New(g, &audit.Options{Now: func() time.Time { return at }})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Append(ctx, audit.Record{Principal: "op", Action: "resume", Phase: "end", Count: i}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	// The trail is in the group: it is there after a reopen.
	g, err = biztier.Open(dir, &biztier.Options{Durability: biztier.NoSync})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	l = audit.New(g, nil)
	for _, tc := range []struct{ limit, want int }{{5, 5}, {0, 20}, {100, 20}} {
		t.Run(fmt.Sprint("limit=", tc.limit), func(t *testing.T) {
			rs, err := l.List(ctx, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != tc.want {
				t.Fatalf("%d records, want %d", len(rs), tc.want)
			}
			counts := map[int]bool{}
			for i, r := range rs {
				if want := uint64(20 - i); r.Seq != want {
					t.Errorf("record %d has seq %d, want %d (newest first)", i, r.Seq, want)
				}
				if !r.At.Equal(at) || r.Principal != "op" {
					t.Errorf("record %d = %+v", i, r)
				}
				counts[r.Count] = true
			}
			if len(counts) != len(rs) {
				t.Errorf("records overwrote each other: %d distinct of %d", len(counts), len(rs))
			}
		})
	}
}

func TestLog_corruptNext(t *testing.T) {
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	if _, err := g.Update(ctx, func(tx *biztier.Tx) error {
		return tx.Set(biztier.Management, []byte("biztier.audit/next"), []byte{1})
	}); err != nil {
		t.Fatal(err)
	}
	l := audit.New(g, nil)
	if _, err := l.Append(ctx, audit.Record{}); !errors.Is(err, biztier.ErrCorruption) {
		t.Fatalf("Append over a damaged counter: %v", err)
	}
	if _, err := l.List(ctx, 1); !errors.Is(err, audit.ErrCorruption) {
		t.Fatalf("List over a damaged counter: %v", err)
	}
}
