package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// testOptions lays a set out under root on fs.
func testOptions(fs vfs.FS, root string) *Options {
	dirs := make(map[ID]string, len(All))
	for _, id := range All {
		dirs[id] = fs.PathJoin(root, id.String())
	}
	return &Options{
		FS:                 fs,
		WALDir:             fs.PathJoin(root, "wal"),
		Dirs:               dirs,
		Logger:             PanicLogger{},
		MemTableSize:       4 << 20,
		CacheSize:          8 << 20,
		CheckpointInterval: -1,
	}
}

func openSet(t testing.TB, o *Options) *Set {
	t.Helper()
	s, err := Open(o)
	require.NoError(t, err)
	return s
}

func get(t testing.TB, db *DB, key string) (string, bool) {
	t.Helper()
	v, c, err := db.Get([]byte(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return "", false
	}
	require.NoError(t, err)
	defer c.Close()
	return string(v), true
}

func TestSet_CommitAcrossStoresAndReopen(t *testing.T) {
	fs := vfs.NewMem()
	o := testOptions(fs, "g")
	s := openSet(t, o)
	ctx := context.Background()
	for i := range 100 {
		tx := s.NewTxn()
		require.NoError(t, tx.BatchOf(MessageBox).Set([]byte(fmt.Sprintf("m%03d", i)), []byte("body"), nil))
		require.NoError(t, tx.BatchOf(Tracking).Set([]byte(fmt.Sprintf("t%03d", i)), []byte("event"), nil))
		lsn, err := tx.Commit(ctx)
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), lsn)
		// Read-your-writes once Commit returns.
		_, ok := get(t, s.DB(Tracking), fmt.Sprintf("t%03d", i))
		require.True(t, ok)
	}
	require.Equal(t, uint64(100), s.DB(MessageBox).AppliedLSN())
	require.Equal(t, uint64(0), s.DB(SSO).AppliedLSN())
	require.NoError(t, s.Close())

	s = openSet(t, o)
	defer s.Close()
	v, ok := get(t, s.DB(MessageBox), "m042")
	require.True(t, ok)
	require.Equal(t, "body", v)
	// Close checkpointed: every store is current, and the reopen replayed nothing.
	require.Equal(t, uint64(0), s.Stats().ReplayFrames)
	require.GreaterOrEqual(t, s.DB(SSO).AppliedLSN(), uint64(100))
}

func TestSet_ReplayAfterCrash(t *testing.T) {
	mem := vfs.NewCrashableMem()
	o := testOptions(mem, "g")
	s := openSet(t, o)
	ctx := context.Background()
	for i := range 50 {
		tx := s.NewTxn()
		require.NoError(t, tx.BatchOf(Management).Set([]byte(fmt.Sprintf("k%03d", i)), []byte("v"), nil))
		_, err := tx.Commit(ctx)
		require.NoError(t, err)
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, s.Close())
	o2 := testOptions(crashed, "g")
	s2 := openSet(t, o2)
	defer s2.Close()
	require.Equal(t, uint64(50), s2.Stats().ReplayFrames)
	for i := range 50 {
		_, ok := get(t, s2.DB(Management), fmt.Sprintf("k%03d", i))
		require.True(t, ok, "key %d lost", i)
	}
}

func TestSet_CheckpointTruncatesLogButNotPins(t *testing.T) {
	fs := vfs.NewMem()
	o := testOptions(fs, "g")
	o.SegmentSize = 4 << 10
	s := openSet(t, o)
	defer s.Close()
	ctx := context.Background()
	val := make([]byte, 500)
	for i := range 100 {
		tx := s.NewTxn()
		require.NoError(t, tx.BatchOf(MessageBox).Set([]byte(fmt.Sprintf("m%03d", i)), val, nil))
		_, err := tx.Commit(ctx)
		require.NoError(t, err)
	}
	pin, err := s.Log().Pin("backup", 40)
	require.NoError(t, err)
	require.NoError(t, s.Checkpoint(ctx))
	first := s.Log().FirstLSN()
	require.LessOrEqual(t, first, uint64(40))
	require.Greater(t, first, uint64(1))
	pin.Release()
	require.NoError(t, s.Checkpoint(ctx))
	require.Greater(t, s.Log().FirstLSN(), uint64(90))
	// Idle stores were raised to the checkpoint LSN so they don't hold the log.
	require.Equal(t, uint64(100), s.DB(Rules).AppliedLSN())
}

func TestTxn_RefusesSingleDelete(t *testing.T) {
	s := openSet(t, testOptions(vfs.NewMem(), "g"))
	defer s.Close()
	tx := s.NewTxn()
	require.NoError(t, tx.BatchOf(SSO).SingleDelete([]byte("k"), nil))
	_, err := tx.Commit(context.Background())
	require.ErrorIs(t, err, ErrForbiddenRecord)
	require.Equal(t, uint64(0), s.Log().DurableLSN())
}

func TestTxn_NotVisibleBeforeCommit(t *testing.T) {
	s := openSet(t, testOptions(vfs.NewMem(), "g"))
	defer s.Close()
	tx := s.NewTxn()
	require.NoError(t, tx.BatchOf(BAM).Set([]byte("k"), []byte("v"), nil))
	_, ok := get(t, s.DB(BAM), "k")
	require.False(t, ok)
	tx.Abort()
	_, ok = get(t, s.DB(BAM), "k")
	require.False(t, ok)
}

func TestSet_CommitAfterClose(t *testing.T) {
	s := openSet(t, testOptions(vfs.NewMem(), "g"))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	tx := s.NewTxn()
	_, err := tx.Commit(context.Background())
	require.ErrorIs(t, err, ErrClosed)
}

func TestSet_MiddleCorruptionFailsOpen(t *testing.T) {
	fs := vfs.NewMem()
	o := testOptions(fs, "g")
	s := openSet(t, o)
	for i := range 10 {
		tx := s.NewTxn()
		require.NoError(t, tx.BatchOf(MessageBox).Set([]byte(fmt.Sprintf("m%d", i)), []byte("v"), nil))
		_, err := tx.Commit(context.Background())
		require.NoError(t, err)
	}
	require.NoError(t, s.Log().Close()) // leave the log un-truncated
	names, err := fs.List("g/wal")
	require.NoError(t, err)
	var seg string
	for _, n := range names {
		if len(n) == 20 {
			seg = fs.PathJoin("g/wal", n)
		}
	}
	f, err := fs.OpenReadWrite(seg, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xFF}, 32+48+10)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s.closeDBs()
	_, err = Open(o)
	require.ErrorIs(t, err, wal.ErrCorrupt)
}

func TestTxn_OnCommitRunsOnlyAfterCommit(t *testing.T) {
	s := openSet(t, testOptions(vfs.NewMem(), "g"))
	defer s.Close()
	ran := 0
	tx := s.NewTxn()
	require.NoError(t, tx.BatchOf(MessageBox).Set([]byte("k"), []byte("v"), nil))
	tx.OnCommit(func() {
		_, ok := get(t, s.DB(MessageBox), "k")
		require.True(t, ok, "OnCommit must see the committed write")
		ran++
	})
	_, err := tx.Commit(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, ran)

	tx = s.NewTxn()
	require.NoError(t, tx.BatchOf(MessageBox).SingleDelete([]byte("k"), nil))
	tx.OnCommit(func() { ran++ })
	_, err = tx.Commit(context.Background())
	require.Error(t, err)
	require.Equal(t, 1, ran, "a failed commit runs no OnCommit")
}
