package sso_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestRegenerate_crashEveryOp crashes a regenerate before every file
// system operation it makes (log writes and syncs, key file writes,
// renames and directory syncs, Pebble's own files), keeping what was synced
// and, per seed, a random share of what was not. Every crash must reopen
// with every credential readable, and a second Regenerate must finish.
//
// BIZTIER_CRASH_SEEDS=<n> runs more seeds; BIZTIER_CRASH_SEED=<s> replays one.
func TestRegenerate_crashEveryOp(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, seed))
			pct := []int{0, 50, 100}[rng.IntN(3)]
			mem := vfs.NewCrashableMem()
			var (
				mu     sync.Mutex
				armed  bool
				clones []*vfs.MemFS
			)
			fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
				mu.Lock()
				defer mu.Unlock()
				if armed {
					clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct,
						RNG: rand.New(rand.NewPCG(seed, uint64(len(clones))))}))
				}
				return nil
			}))
			const keyPath = "/keys/group.sso-key"
			g := openGroupDurability(t, fs, "/group", biztier.Sync)
			s, err := g.SSO(t.Context(), &sso.Options{Keys: keyFile(fs, keyPath), RegenerateBatch: 3})
			if err != nil {
				t.Fatal(err)
			}
			want := seedMany(t, s, 4)
			mu.Lock()
			armed = true
			mu.Unlock()
			if err := s.Regenerate(as(admin)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			armed = false
			mu.Unlock()
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d crash points, %d%% of unsynced data kept", len(clones), pct)
			if len(clones) < 20 {
				t.Fatalf("only %d file system operations in a regenerate", len(clones))
			}
			for i, c := range clones {
				g, err := biztier.Open("/group", &biztier.Options{FS: c, Durability: biztier.Sync,
					MemTableSize: 4 << 20, CheckpointInterval: -1, DisableTracking: true})
				if err != nil {
					t.Fatalf("crash %d: open group: %v", i, err)
				}
				s, err := g.SSO(t.Context(), &sso.Options{Keys: keyFile(c, keyPath)})
				if err != nil {
					g.Close()
					t.Fatalf("crash %d: open sso: %v", i, err)
				}
				checkAll(t, s, want)
				if err := s.Regenerate(as(admin)); err != nil {
					g.Close()
					t.Fatalf("crash %d: finish: %v", i, err)
				}
				checkAll(t, s, want)
				if err := g.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
