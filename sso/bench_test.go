package sso_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// BenchmarkStore_GetCredentials measures Windows-initiated lookups with the
// cached secret, on a real disk, each one decrypting a record and
// committing its audit record through the group log before it returns
// (fail-closed audit). Lookups run from 8 goroutines per CPU, so commits
// share fsyncs.
//
//	go test ./sso -run '^$' -bench 'Store_GetCredentials' -benchtime 5s
func BenchmarkStore_GetCredentials(b *testing.B) {
	for _, d := range []struct {
		name string
		d    biztier.Durability
	}{{"sync", biztier.Sync}, {"nosync", biztier.NoSync}} {
		b.Run("durability="+d.name, func(b *testing.B) {
			dir := b.TempDir()
			g := openGroupDurability(b, vfs.Default, filepath.Join(dir, "group"), d.d)
			defer g.Close()
			s, err := g.SSO(b.Context(), nil)
			if err != nil {
				b.Fatal(err)
			}
			mustCreate(b, s, sso.Application{Name: "ERP", Type: sso.Individual, Fields: []sso.Field{{Name: "Password", Masked: true}}})
			const users = 1000
			if err := sso.BulkMappings(s, "ERP", users); err != nil {
				b.Fatal(err)
			}
			var next atomic.Uint64
			b.ReportAllocs()
			b.SetParallelism(8)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) % users
					c, err := s.GetCredentials(as(sso.Identity{User: fmt.Sprintf("u%06d", i)}), "ERP")
					if err != nil || c.Fields[0].Len() != 9 {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
		})
	}
}

// BenchmarkStore_Regenerate measures a regenerate over 100,000 credentials
// on a real disk with Sync durability: each op is one full pass (decrypt
// with the old secret, encrypt with the new, 1,000 records per commit).
//
//	go test ./sso -run '^$' -bench 'Store_Regenerate' -benchtime 3x
func BenchmarkStore_Regenerate(b *testing.B) {
	if testing.Short() {
		b.Skip("100,000 credentials")
	}
	const n = 100_000
	dir := b.TempDir()
	g := openGroupDurability(b, vfs.Default, filepath.Join(dir, "group"), biztier.Sync)
	defer g.Close()
	s, err := g.SSO(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	mustCreate(b, s, sso.Application{Name: "ERP", Type: sso.Individual, Fields: []sso.Field{{Name: "Password", Masked: true}}})
	if err := sso.BulkMappings(s, "ERP", n); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := s.Regenerate(as(admin)); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(el.Seconds()/float64(b.N), "s/regenerate")
	b.ReportMetric(float64(n)*float64(b.N)/el.Seconds(), "records/s")
	c, err := s.GetCredentials(as(sso.Identity{User: "u099999"}), "ERP")
	if err != nil || c.Fields[0].Reveal() != "pw-099999" {
		b.Fatalf("after regenerate: %v", err)
	}
}
