package biztier

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// crashStep is the distance between crash points: a sample in normal
// runs, every point with BIZTIER_DR_LONG=1.
func crashStep(rng *rand.Rand) int {
	if os.Getenv("BIZTIER_DR_LONG") != "" {
		return 1
	}
	return 5 + rng.IntN(10)
}

// crashPoint clones a crashable filesystem at the k-th progress report.
type crashPoint struct {
	fs    *vfs.MemFS
	rng   *rand.Rand
	k, n  int
	clone *vfs.MemFS
}

func (c *crashPoint) progress(BackupProgress) {
	c.n++
	if c.n == c.k {
		c.clone = c.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: c.rng.IntN(101), RNG: c.rng})
	}
}

// commitSome writes n commits recorded in m.
func commitSome(t testing.TB, g *Group, m *model, n int, tag string) {
	t.Helper()
	for i := range n {
		ops := []op{
			{db: MessageBox, key: fmt.Sprintf("%s-%d", tag, i%17), value: fmt.Sprintf("%s-%d", tag, i)},
			{db: Tracking, key: fmt.Sprintf("%s-%d", tag, i%5), value: fmt.Sprintf("t%d", i)},
		}
		lsn, err := g.Update(context.Background(), func(tx *Txn) error {
			for _, o := range ops {
				if err := tx.Set(o.db, []byte(o.key), []byte(o.value)); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		m.record(lsn, ops)
	}
}

// TestBackup_CrashLeavesNothingTrusted crashes the machine (everything not
// synced may be lost) at each point of a full and of a log backup. After
// the crash, the half-written set is never listed or used: the backups
// still restore to the last complete set's mark, and the group, reopened,
// takes new backups.
func TestBackup_CrashLeavesNothingTrusted(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := context.Background()
	for _, kind := range []string{"full", "log"} {
		for k := 1; k <= 40; k += crashStep(rng) {
			t.Run(fmt.Sprintf("%s/k=%d", kind, k), func(t *testing.T) {
				fs := vfs.NewCrashableMem()
				mkdirSynced(t, fs, "g")
				g := openTestGroup(t, fs, "g", nil, 8<<10)
				m := newModel()
				bk := DirShipper(fs, "backups")
				commitSome(t, g, m, 60, "a")
				base, err := g.Backup(ctx, bk, nil)
				require.NoError(t, err)
				commitSome(t, g, m, 60, "b")
				cp := &crashPoint{fs: fs, rng: rng, k: k}
				opts := &BackupOptions{Progress: cp.progress}
				if kind == "full" {
					_, err = g.Backup(ctx, bk, opts)
				} else {
					_, err = g.BackupLog(ctx, bk, opts)
				}
				require.NoError(t, err)
				require.NoError(t, g.Close())
				if cp.clone == nil {
					t.Skipf("the backup made only %d progress reports", cp.n)
				}
				crashed := cp.clone
				cbk := DirShipper(crashed, "backups")
				sets, err := ListBackups(ctx, cbk)
				require.NoError(t, err)
				// The set being written is listed only if the crash came
				// after its manifest (the last progress report); then it is
				// whole.
				require.NotEmpty(t, sets)
				require.LessOrEqual(t, len(sets), 2)
				require.Equal(t, base.Name, sets[0].Name)
				latest := sets[len(sets)-1]
				res, err := Restore(ctx, cbk, "r", &RestoreOptions{FS: crashed})
				require.NoError(t, err)
				require.Equal(t, latest.Last, res.LSN)
				got, rg := openRestored(t, crashed, "r")
				require.NoError(t, rg.Close())
				require.Equal(t, m.stateAt(latest.Last), got)

				// The group comes back and backs up again over the leftovers.
				g2 := openTestGroup(t, crashed, "g", nil, 8<<10)
				defer func() { require.NoError(t, g2.Close()) }()
				next, err := g2.BackupLog(ctx, cbk, nil)
				require.NoError(t, err)
				res, err = Restore(ctx, cbk, "r-next", &RestoreOptions{FS: crashed})
				require.NoError(t, err)
				require.Equal(t, next.Last, res.LSN)
				got, rg = openRestored(t, crashed, "r-next")
				require.NoError(t, rg.Close())
				// Everything acknowledged before the crash was synced (Sync
				// durability), so the state is the model's at the new mark.
				require.Equal(t, m.stateAt(next.Last), got)
			})
		}
	}
}

// TestRestore_CrashLeavesNothingTrusted crashes at each point of a
// restore: the directory left behind is never opened as a group, and the
// next restore into it starts over and succeeds.
func TestRestore_CrashLeavesNothingTrusted(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	fs := vfs.NewCrashableMem()
	g := openTestGroup(t, fs, "g", nil, 8<<10)
	m := newModel()
	bk := DirShipper(fs, "backups")
	commitSome(t, g, m, 80, "a")
	_, err := g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	commitSome(t, g, m, 80, "b")
	last, err := g.BackupLog(ctx, bk, nil)
	require.NoError(t, err)
	require.NoError(t, g.Close())
	want := m.stateAt(last.Last)

	for k := 1; k <= 60; k += crashStep(rng) {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			cp := &crashPoint{fs: fs, rng: rng, k: k}
			dir := fmt.Sprintf("r-%d", k)
			_, err := Restore(ctx, bk, dir, &RestoreOptions{FS: fs, Progress: cp.progress})
			require.NoError(t, err)
			if cp.clone == nil {
				t.Skipf("the restore made only %d progress reports", cp.n)
			}
			crashed := cp.clone
			_, err = Open(dir, drOptions(crashed, nil, 0))
			require.ErrorIs(t, err, ErrNotGroup, "a half-restored directory is not a group")
			res, err := Restore(ctx, DirShipper(crashed, "backups"), dir, &RestoreOptions{FS: crashed})
			require.NoError(t, err)
			require.Equal(t, last.Last, res.LSN)
			got, rg := openRestored(t, crashed, dir)
			require.NoError(t, rg.Close())
			require.Equal(t, want, got)
		})
	}
}
