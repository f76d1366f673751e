package biztier_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func memOptions(fs vfs.FS) *biztier.Options {
	return &biztier.Options{FS: fs, Logger: store.PanicLogger{}, MemTableSize: 4 << 20, CheckpointInterval: -1}
}

func TestGroup_CrossDatabaseCommitSurvivesReopen(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	g, err := biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	id := g.ID()
	for i := range 20 {
		_, err := g.Update(ctx, func(tx *biztier.Tx) error {
			if err := tx.Set(biztier.MessageBox, fmt.Appendf(nil, "msg-%d", i), []byte("body")); err != nil {
				return err
			}
			return tx.Set(biztier.Tracking, fmt.Appendf(nil, "evt-%d", i), []byte("received"))
		})
		require.NoError(t, err)
	}
	require.Equal(t, uint64(20), g.Stats().LSN)
	require.NoError(t, g.Close())

	g, err = biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	defer g.Close()
	require.Equal(t, id, g.ID(), "identity is kept across opens")
	v, ok, err := g.Get(biztier.Tracking, []byte("evt-19"))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "received", string(v))
}

func TestGroup_UpdateErrorWritesNothing(t *testing.T) {
	g, err := biztier.OpenInMemory()
	require.NoError(t, err)
	defer g.Close()
	boom := errors.New("boom")
	_, err = g.Update(context.Background(), func(tx *biztier.Tx) error {
		require.NoError(t, tx.Set(biztier.SSO, []byte("k"), []byte("v")))
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, ok, err := g.Get(biztier.SSO, []byte("k"))
	require.NoError(t, err)
	require.False(t, ok)
}

func TestGroup_OpenErrors(t *testing.T) {
	t.Run("locked", func(t *testing.T) {
		fs := vfs.NewMem()
		g, err := biztier.Open("g", memOptions(fs))
		require.NoError(t, err)
		defer g.Close()
		_, err = biztier.Open("g", memOptions(fs))
		require.ErrorIs(t, err, biztier.ErrLocked)
	})
	t.Run("not a group", func(t *testing.T) {
		fs := vfs.NewMem()
		require.NoError(t, fs.MkdirAll("g", 0o755))
		f, err := fs.Create("g/holiday.jpg", vfs.WriteCategoryUnspecified)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		_, err = biztier.Open("g", memOptions(fs))
		require.ErrorIs(t, err, biztier.ErrNotGroup)
	})
	t.Run("newer format", func(t *testing.T) {
		fs := vfs.NewMem()
		g, err := biztier.Open("g", memOptions(fs))
		require.NoError(t, err)
		require.NoError(t, g.Close())
		f, err := fs.Create("g/BIZTIER", vfs.WriteCategoryUnspecified)
		require.NoError(t, err)
		_, err = f.Write([]byte("biztier group\nformat 99\nid 6ba7b810-9dad-11d1-80b4-00c04fd430c8\n"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		_, err = biztier.Open("g", memOptions(fs))
		require.ErrorIs(t, err, biztier.ErrFormatTooNew)
	})
}

func TestGroup_CallsAfterClose(t *testing.T) {
	g, err := biztier.OpenInMemory()
	require.NoError(t, err)
	require.NoError(t, g.Close())
	require.NoError(t, g.Close(), "Close twice is fine")
	_, err = g.Update(context.Background(), func(tx *biztier.Tx) error { return tx.Set(biztier.BAM, []byte("k"), nil) })
	require.ErrorIs(t, err, biztier.ErrClosed)
	_, err = g.Mark(context.Background(), "m")
	require.ErrorIs(t, err, biztier.ErrClosed)
	_, _, err = g.Get(biztier.BAM, []byte("k"))
	require.ErrorIs(t, err, biztier.ErrClosed)
}

func TestGroup_CorruptLogFailsOpen(t *testing.T) {
	fs := vfs.NewMem()
	o := memOptions(fs)
	g, err := biztier.Open("g", o)
	require.NoError(t, err)
	for i := range 10 {
		_, err := g.Update(context.Background(), func(tx *biztier.Tx) error {
			return tx.Set(biztier.Rules, fmt.Appendf(nil, "k%d", i), []byte("v"))
		})
		require.NoError(t, err)
	}
	// Copy the log aside before Close truncates it, then put it back with
	// one byte flipped in the middle, under stores that never saw it.
	names, err := fs.List("g/wal")
	require.NoError(t, err)
	var seg string
	for _, n := range names {
		if len(n) == 20 {
			seg = "g/wal/" + n
		}
	}
	require.NoError(t, clusterhooks.Of(g).Log().Close())
	data := readFile(t, fs, seg)
	require.NoError(t, g.Close())
	fs2 := vfs.NewMem()
	require.NoError(t, fs2.MkdirAll("g/wal", 0o755))
	writeFile(t, fs2, "g/BIZTIER", readFile(t, fs, "g/BIZTIER"))
	data[32+48+5] ^= 0x40
	writeFile(t, fs2, seg, data)
	_, err = biztier.Open("g", memOptions(fs2))
	require.ErrorIs(t, err, biztier.ErrCorrupt)
}

func readFile(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	b := make([]byte, st.Size())
	_, err = f.ReadAt(b, 0)
	require.NoError(t, err)
	return b
}

func writeFile(t *testing.T, fs vfs.FS, path string, data []byte) {
	t.Helper()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// TestGroup_LostOrSwappedStoreDirIsRefused removes or swaps a database's
// directory once the log has been truncated past its start: Open must
// fail and name the database, never serve an empty or foreign one.
func TestGroup_LostOrSwappedStoreDirIsRefused(t *testing.T) {
	setup := func(t *testing.T) vfs.FS {
		fs := vfs.NewMem()
		o := memOptions(fs)
		o.SegmentSize = 4 << 10
		g, err := biztier.Open("g", o)
		require.NoError(t, err)
		for i := range 200 {
			_, err := g.Update(context.Background(), func(tx *biztier.Tx) error {
				return tx.Set(biztier.Tracking, fmt.Appendf(nil, "k%d", i), make([]byte, 100))
			})
			require.NoError(t, err)
		}
		require.NoError(t, g.Checkpoint(context.Background()))
		require.Greater(t, g.Stats().FirstLSN, uint64(1), "the log must have moved past its start")
		require.NoError(t, g.Close())
		return fs
	}
	t.Run("lost", func(t *testing.T) {
		fs := setup(t)
		names, err := fs.List("g/tracking")
		require.NoError(t, err)
		for _, n := range names {
			require.NoError(t, fs.Remove(fs.PathJoin("g/tracking", n)))
		}
		require.NoError(t, fs.Remove("g/tracking"))
		_, err = biztier.Open("g", memOptions(fs))
		require.ErrorIs(t, err, biztier.ErrStoreMismatch)
		require.Contains(t, err.Error(), "tracking database")
	})
	t.Run("swapped", func(t *testing.T) {
		fs := setup(t)
		require.NoError(t, fs.Rename("g/tracking", "g/tmp"))
		require.NoError(t, fs.Rename("g/mgmt", "g/tracking"))
		require.NoError(t, fs.Rename("g/tmp", "g/mgmt"))
		_, err := biztier.Open("g", memOptions(fs))
		require.ErrorIs(t, err, biztier.ErrWrongDatabase)
		require.Contains(t, err.Error(), "mgmt database")
	})
}

// TestGroup_NewPathSurvivesCrash opens a group whose directory and the
// directories above it are new, commits with Sync and crashes: the whole
// path, and the commit, must come back.
func TestGroup_NewPathSurvivesCrash(t *testing.T) {
	fs := vfs.NewCrashableMem()
	o := &biztier.Options{FS: fs, Logger: store.PanicLogger{}, MemTableSize: 4 << 20, CheckpointInterval: -1}
	g, err := biztier.Open("/data/groups/g", o)
	require.NoError(t, err)
	_, err = g.Update(context.Background(), func(tx *biztier.Tx) error {
		return tx.Set(biztier.MessageBox, []byte("k"), []byte("v"))
	})
	require.NoError(t, err)
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, g.Close())
	o.FS = crashed
	g, err = biztier.Open("/data/groups/g", o)
	require.NoError(t, err)
	defer g.Close()
	v, ok, err := g.Get(biztier.MessageBox, []byte("k"))
	require.NoError(t, err)
	require.True(t, ok, "the acknowledged commit is gone with its directory")
	require.Equal(t, "v", string(v))
}

// TestGroup_OneClock sets one manual clock on the group: the MessageBox's
// leases, Tracking's event times and Management's export stamp all run on
// it, so a test moves the whole group through time without sleeping.
func TestGroup_OneClock(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2030, 6, 1, 9, 0, 0, 0, time.UTC)
	clock := messagebox.NewManualClock(start)
	g, err := biztier.Open("g", &biztier.Options{FS: vfs.NewMem(), Durability: biztier.NoSync, CheckpointInterval: -1, Clock: clock})
	require.NoError(t, err)
	defer g.Close()
	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "h"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Name: "s", Host: "h",
		Predicate: messagebox.Or(messagebox.And(messagebox.Exists("ns#k")))})
	require.NoError(t, err)
	id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("x"), messagebox.Promoted("ns#k", messagebox.String("v"))))
	require.NoError(t, err)
	ds, err := mb.Dequeue(ctx, "h", 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, start.Add(time.Minute), ds[0].Lease.Expires, "leases run on the group's clock")
	again, err := mb.Dequeue(ctx, "h", 1, time.Minute)
	require.NoError(t, err)
	require.Empty(t, again)
	clock.Advance(2 * time.Minute)
	again, err = mb.Dequeue(ctx, "h", 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 1, "the lease ran out on the group's clock")

	tr, err := g.Tracking()
	require.NoError(t, err)
	page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{MessageID: id, OldestFirst: true})
	require.NoError(t, err)
	require.NotEmpty(t, page.Events)
	require.True(t, page.Events[0].At.Equal(start), "tracking uses the group's clock: %v", page.Events[0].At)
}
