package biztier

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// TestBackup_InjectedStorageErrors fails each filesystem operation of a
// full and a log backup in turn: every failure comes back as an error,
// nothing half-written is ever listed, and the backups stay restorable.
func TestBackup_InjectedStorageErrors(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g := openTestGroup(t, fs, "g", nil, 8<<10)
	defer func() { require.NoError(t, g.Close()) }()
	m := newModel()
	commitSome(t, g, m, 50, "a")
	bkFS := vfs.NewMem()
	clean := DirShipper(bkFS, "b")
	backupOnce := func(full bool, st Shipper) error {
		var err error
		if full {
			_, err = g.Backup(ctx, st, nil)
		} else {
			_, err = g.BackupLog(ctx, st, nil)
		}
		return err
	}
	complete := 0
	for _, full := range []bool{true, false} {
		// Count the operations of one backup, then fail each in turn.
		var ops atomic.Int32
		counting := errorfs.Wrap(bkFS, errorfs.InjectorFunc(func(errorfs.Op) error { ops.Add(1); return nil }))
		require.NoError(t, backupOnce(full, DirShipper(counting, "b")))
		complete++
		n := ops.Load()
		t.Logf("full=%v: %d filesystem operations", full, n)
		// Every operation with BIZTIER_DR_LONG=1; about 20 otherwise.
		step := max(1, n/20)
		if os.Getenv("BIZTIER_DR_LONG") != "" {
			step = 1
		}
		for i := int32(0); i < n; i += step {
			err := backupOnce(full, DirShipper(errorfs.Wrap(bkFS, errorfs.OnIndex(i)), "b"))
			if err == nil {
				complete++ // the fault hit an operation whose failure is harmless
			} else {
				require.ErrorIs(t, err, errorfs.ErrInjected, "fault at op %d", i)
			}
			sets, err := ListBackups(ctx, clean)
			require.NoError(t, err)
			require.Len(t, sets, complete, "fault at op %d: nothing half-written is listed", i)
		}
		commitSome(t, g, m, 20, fmt.Sprint(full))
	}
	sets, err := ListBackups(ctx, clean)
	require.NoError(t, err)
	res, err := Restore(ctx, clean, "r", &RestoreOptions{FS: fs})
	require.NoError(t, err)
	last := sets[len(sets)-1]
	require.Equal(t, last.Last, res.LSN)
	got, rg := openRestored(t, fs, "r")
	require.NoError(t, rg.Close())
	require.Equal(t, m.stateAt(last.Last), got)
}

// TestStandby_ReseedsWhenItsChainIsGone: when retention has deleted the
// sets a standby needs, it rebuilds itself from the newest full backup.
func TestStandby_ReseedsWhenItsChainIsGone(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := newTestClock()
	g := openTestGroup(t, fs, "g", clock, 0)
	defer func() { require.NoError(t, g.Close()) }()
	m := newModel()
	bk := DirShipper(fs, "b")
	commitSome(t, g, m, 30, "a")
	_, err := g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	sb, err := OpenStandby(ctx, bk, "standby", &RestoreOptions{FS: fs})
	require.NoError(t, err)
	defer func() { require.NoError(t, sb.Close()) }()

	commitSome(t, g, m, 30, "b")
	_, err = g.BackupLog(ctx, bk, nil)
	require.NoError(t, err)
	commitSome(t, g, m, 30, "c")
	full2, err := g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	commitSome(t, g, m, 30, "d")
	last, err := g.BackupLog(ctx, bk, nil)
	require.NoError(t, err)
	clock.advance(BackupHistory)
	gone, err := PruneBackups(ctx, bk, g.ID(), 0, clock.Now())
	require.NoError(t, err)
	require.Len(t, gone, 2, "the first full and log sets are gone")

	lsn, err := sb.CatchUp(ctx)
	require.NoError(t, err)
	require.Equal(t, last.Last, lsn)
	require.Greater(t, last.Last, full2.Last)
	res, err := sb.Activate(ctx)
	require.NoError(t, err)
	got, rg := openRestored(t, fs, "standby")
	require.NoError(t, rg.Close())
	require.Equal(t, m.stateAt(res.LSN), got)
}
