package biztier

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/backup"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func TestLogShipping_LagBoundedAndStandbyFollows(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	fs := vfs.NewMem()
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", nil, 16<<10)
	defer func() { require.NoError(t, g.Close()) }()
	bk, dr := DirShipper(fs, "backups"), DirShipper(fs, "dr")
	ls, err := g.NewLogShipping(LogShippingOptions{Backup: bk, DR: dr, Interval: time.Hour})
	require.NoError(t, err)
	defer func() { require.NoError(t, ls.Stop(ctx)) }()

	m := newModel()
	stop := make(chan struct{})
	wait := load(t, g, m, 3, seed, stop)
	var sb *Standby
	runs := 5
	if os.Getenv("BIZTIER_DR_LONG") != "" {
		runs = 50
	}
	for i := range runs {
		waitFrames(t, g, 100)
		before := g.set.Log().DurableLSN()
		st, err := ls.RunOnce(ctx)
		require.NoError(t, err)
		// Lag is bounded by what was committed during the run itself.
		require.Greater(t, st.ShippedLSN, before, "run %d shipped everything committed before it", i)
		require.LessOrEqual(t, st.LagLSN, g.set.Log().DurableLSN()-before)
		// Checkpoints truncate the log, but never past the shipping pin.
		require.NoError(t, g.Checkpoint(ctx))
		if sb == nil {
			sb, err = OpenStandby(ctx, dr, "standby", &RestoreOptions{FS: fs})
			require.NoError(t, err)
		}
		lsn, err := sb.CatchUp(ctx)
		require.NoError(t, err)
		require.Equal(t, st.ShippedLSN, lsn)
	}
	close(stop)
	wait()
	st, err := ls.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), st.Fulls, "one full backup; the rest are log backups on an unbroken chain")
	require.Equal(t, uint64(0), st.LagLSN)
	require.NoError(t, st.LastErr)

	// The standby is not a group until activated.
	_, err = Open("standby", drOptions(fs, nil, 0))
	require.ErrorIs(t, err, ErrNotGroup)

	// Close and reopen the standby, then catch up and fail over.
	require.NoError(t, sb.Close())
	sb, err = OpenStandby(ctx, dr, "standby", &RestoreOptions{FS: fs})
	require.NoError(t, err)
	lsn, err := sb.CatchUp(ctx)
	require.NoError(t, err)
	require.Equal(t, st.ShippedLSN, lsn)
	res, err := sb.Activate(ctx)
	require.NoError(t, err)
	require.Equal(t, lsn, res.LSN)
	require.Equal(t, lsn, res.Mark.LSN, "the standby stops at the newest shipped mark")
	require.NotEqual(t, g.ID(), res.ID)
	got, rg := openRestored(t, fs, "standby")
	defer func() { require.NoError(t, rg.Close()) }()
	require.Equal(t, m.stateAt(lsn), got)
	require.Equal(t, res.ID, rg.ID())
}

func TestLogShipping_StartStop(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", nil, 0)
	defer func() { require.NoError(t, g.Close()) }()
	ls, err := g.NewLogShipping(LogShippingOptions{Backup: DirShipper(fs, "b"), Interval: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, ls.Stop(ctx), "Stop before Start")
	require.NoError(t, ls.Start(ctx))
	require.NoError(t, ls.Start(ctx), "Start twice")
	waitFrames(t, g, 3) // each run writes a mark
	require.NoError(t, ls.Stop(ctx))
	require.NoError(t, ls.Stop(ctx), "Stop twice")
	st := ls.Status()
	require.GreaterOrEqual(t, st.Runs, uint64(1))
	require.Equal(t, uint64(1), st.Fulls)
	_, err = g.NewLogShipping(LogShippingOptions{})
	require.Error(t, err)
}

func TestPruneBackups_DeletesOnlyWhatNoRestoreNeeds(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	clock := newTestClock()
	g := openTestGroup(t, fs, "g", clock, 0)
	defer func() { require.NoError(t, g.Close()) }()
	bk := DirShipper(fs, "backups")
	day := 24 * time.Hour
	take := func(full bool) BackupSet {
		_, err := g.Update(ctx, func(tx *Txn) error {
			return tx.Set(Management, []byte("k"), fmt.Appendf(nil, "%d", g.set.Log().DurableLSN()))
		})
		require.NoError(t, err)
		var s *BackupSet
		if full {
			s, err = g.Backup(ctx, bk, nil)
		} else {
			s, err = g.BackupLog(ctx, bk, nil)
		}
		require.NoError(t, err)
		clock.advance(day)
		return *s
	}
	f1, l1, l2 := take(true), take(false), take(false)
	clock.advance(2 * day)
	f2, l3 := take(true), take(false)
	clock.advance(13 * day)
	f3, l4 := take(true), take(false)
	// Leftovers of crashed backups: one old, one recent.
	for _, name := range []string{
		fmt.Sprintf("%016x-full", clock.Now().Add(-2*time.Hour).UnixNano()),
		fmt.Sprintf("%016x-log", clock.Now().Add(-time.Minute).UnixNano()),
	} {
		w, err := bk.Create(ctx, "sets/"+name+"/log/x.zst")
		require.NoError(t, err)
		require.NoError(t, w.Commit())
	}
	now := clock.Now()

	// A history reaching back past every set deletes only the old leftover.
	gone, err := PruneBackups(ctx, bk, g.ID(), 60*day, now)
	require.NoError(t, err)
	require.Len(t, gone, 1)
	require.True(t, strings.HasSuffix(gone[0], "-full"))

	// 14 days: the newest full before the cutoff is f2; everything before
	// it goes, everything from it on stays.
	gone, err = PruneBackups(ctx, bk, g.ID(), 0, now)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{f1.Name, l1.Name, l2.Name}, gone)
	sets, err := ListBackups(ctx, bk)
	require.NoError(t, err)
	require.Equal(t, sortedNames([]BackupSet{f2, l3, f3, l4}), sortedNames(sets))
	names, err := bk.List(ctx, "sets")
	require.NoError(t, err)
	require.Len(t, names, 5, "the recent incomplete set is kept")

	// A restore to a point inside the history still works; one before it
	// does not.
	_, err = Restore(ctx, bk, "r1", &RestoreOptions{FS: fs, Mark: l3.Mark.Name})
	require.NoError(t, err)
	_, err = Restore(ctx, bk, "r2", &RestoreOptions{FS: fs, Mark: l1.Mark.Name})
	require.ErrorIs(t, err, ErrRestoreTarget)

	// The tiniest history still keeps what restores the latest mark.
	gone, err = PruneBackups(ctx, bk, g.ID(), time.Nanosecond, now)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{f2.Name, l3.Name}, gone)
	res, err := Restore(ctx, bk, "r3", &RestoreOptions{FS: fs})
	require.NoError(t, err)
	require.Equal(t, l4.Last, res.LSN)
	require.Equal(t, l4.Mark.Name, res.Mark.Name)

	// Nothing of another group is touched.
	other, err := backup.Catalog(ctx, storageOf(bk))
	require.NoError(t, err)
	require.Len(t, other, 2)
}

func TestShip_DamagedOrMissingShippedFileIsDetected(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, bk, sets := backupWithChain(t, fs)
	defer func() { require.NoError(t, g.Close()) }()
	dr := DirShipper(fs, "dr")
	shipped, err := g.Ship(ctx, bk, dr)
	require.NoError(t, err)
	require.Len(t, shipped, 3)
	again, err := g.Ship(ctx, bk, dr)
	require.NoError(t, err)
	require.Empty(t, again, "shipping is incremental")

	sb, err := OpenStandby(ctx, dr, "standby", &RestoreOptions{FS: fs})
	require.NoError(t, err)
	defer func() { require.NoError(t, sb.Close()) }()
	require.Equal(t, sets[2].Last, sb.LSN())

	// Two more log backups; in DR, one's file is damaged and one's is lost.
	var more []BackupSet
	for range 2 {
		_, err := g.Update(ctx, func(tx *Txn) error { return tx.Set(Rules, []byte("k"), []byte("v")) })
		require.NoError(t, err)
		s, err := g.BackupLog(ctx, bk, nil)
		require.NoError(t, err)
		more = append(more, *s)
	}
	_, err = g.Ship(ctx, bk, dr)
	require.NoError(t, err)
	logOf := func(set string) string {
		names, err := fs.List("dr/sets/" + set + "/log")
		require.NoError(t, err)
		return "dr/sets/" + set + "/log/" + names[0]
	}
	flipByte(t, fs, logOf(more[0].Name), 30)
	_, err = sb.CatchUp(ctx)
	var fe *BackupFileError
	require.ErrorAs(t, err, &fe)
	require.ErrorIs(t, err, ErrCorrupt)
	require.Equal(t, sets[2].Last, sb.LSN(), "the standby stays where it was")

	// Re-shipping the damaged set repairs it; then a lost file is a gap.
	require.NoError(t, dr.RemoveAll(ctx, "sets/"+more[0].Name))
	_, err = g.Ship(ctx, bk, dr)
	require.NoError(t, err)
	require.NoError(t, fs.Remove(logOf(more[1].Name)))
	_, err = sb.CatchUp(ctx)
	var gap *BackupGapError
	require.ErrorAs(t, err, &gap)
	require.Equal(t, more[1].First, gap.From)
	require.Equal(t, more[1].Last, gap.To)
	require.Equal(t, sets[2].Last, sb.LSN(), "nothing is applied before the whole range is verified")

	// A damaged file at the source is refused, never shipped.
	bad, err := g.BackupLog(ctx, bk, nil)
	require.NoError(t, err)
	names, err := fs.List("backups/sets/" + bad.Name + "/log")
	require.NoError(t, err)
	flipByte(t, fs, "backups/sets/"+bad.Name+"/log/"+names[0], 10)
	_, err = g.Ship(ctx, bk, dr)
	require.ErrorAs(t, err, &fe)
	drSets, err := ListBackups(ctx, dr)
	require.NoError(t, err)
	for _, s := range drSets {
		require.NotEqual(t, bad.Name, s.Name)
	}
}

// TestBackup_FrozenClockSetsDoNotCollide takes backups on a clock that
// never moves: each set still gets its own name, shipping copies every
// one, and a restore from the DR copy reaches exactly what was shipped.
func TestBackup_FrozenClockSetsDoNotCollide(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	frozen := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o := drOptions(fs, nil, 16<<10)
	o.Now = func() time.Time { return frozen }
	g, err := Open("g", o)
	require.NoError(t, err)
	defer func() { require.NoError(t, g.Close()) }()
	bk, dr := DirShipper(fs, "backups"), DirShipper(fs, "dr")
	ls, err := g.NewLogShipping(LogShippingOptions{Backup: bk, DR: dr, Interval: time.Hour})
	require.NoError(t, err)
	defer func() { require.NoError(t, ls.Stop(ctx)) }()
	m := newModel()
	commitSome(t, g, m, 20, "a")
	first, err := g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	commitSome(t, g, m, 20, "b")
	second, err := g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	require.NotEqual(t, first.Name, second.Name, "two full sets started at one instant")
	commitSome(t, g, m, 20, "c")
	st, err := ls.RunOnce(ctx)
	require.NoError(t, err)
	commitSome(t, g, m, 20, "d")
	st, err = ls.RunOnce(ctx)
	require.NoError(t, err)
	sets, err := ListBackups(ctx, bk)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, s := range sets {
		require.False(t, names[s.Name], "set name %s used twice", s.Name)
		names[s.Name] = true
	}
	require.Len(t, sets, 4)
	res, err := Restore(ctx, dr, "r", &RestoreOptions{FS: fs})
	require.NoError(t, err)
	require.Equal(t, st.ShippedLSN, res.LSN, "the DR copy restores to what shipping reports")
	got, rg := openRestored(t, fs, "r")
	require.NoError(t, rg.Close())
	require.Equal(t, m.stateAt(res.LSN), got)
}
