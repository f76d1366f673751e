package messagebox

import (
	"context"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// setOptions lays a group out under root on fs.
func setOptions(fs vfs.FS, root string, durability wal.Durability) *store.Options {
	dirs := make(map[store.ID]string, len(store.All))
	for _, id := range store.All {
		dirs[id] = fs.PathJoin(root, id.String())
	}
	return &store.Options{
		FS:                 fs,
		WALDir:             fs.PathJoin(root, "wal"),
		Dirs:               dirs,
		Logger:             store.PanicLogger{},
		MemTableSize:       4 << 20,
		CacheSize:          8 << 20,
		CheckpointInterval: -1,
		Durability:         durability,
	}
}

// env is a store on a set, with the clock that drives it.
type env struct {
	t     testing.TB
	fs    vfs.FS
	set   *store.Set
	s     *Store
	clock *ManualClock
	opts  Options
}

func newEnv(t testing.TB, opts *Options) *env {
	t.Helper()
	e := openEnv(t, vfs.NewMem(), NewManualClock(epoch), opts)
	t.Cleanup(e.close)
	return e
}

func openEnv(t testing.TB, fs vfs.FS, clock *ManualClock, opts *Options) *env {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Clock = clock
	set, err := store.Open(setOptions(fs, "g", wal.Sync))
	require.NoError(t, err)
	s, err := Open(dbOf(set), &o)
	require.NoError(t, err)
	return &env{t: t, fs: fs, set: set, s: s, clock: clock, opts: o}
}

func (e *env) close() {
	if e.s == nil {
		return
	}
	checkConsistent(e.t, e.s)
	require.NoError(e.t, e.s.Close())
	require.NoError(e.t, e.set.Close())
	e.s, e.set = nil, nil
}

// reopen closes and reopens the set and the store.
func (e *env) reopen() {
	e.t.Helper()
	e.close()
	*e = *openEnv(e.t, e.fs, e.clock, &e.opts)
}

// checkConsistent verifies the store's invariants: every stored message is
// referenced by as many entries as its in-memory count says, and no body
// or fragment outlives its last reference.
func checkConsistent(t interface {
	require.TestingT
	Helper()
}, s *Store) {
	t.Helper()
	refs := map[[16]byte]int32{}
	count := func(k, v []byte) error {
		var r entryRec
		var err error
		if k[0] == byte(0x14) {
			r, err = decodeEntry(v)
		} else {
			r, err = decodeSuspended(v)
		}
		require.NoError(t, err)
		refs[r.msg]++
		return nil
	}
	require.NoError(t, s.scan([]byte{0x14}, count))
	require.NoError(t, s.scan([]byte{0x15}, count))
	msgs := map[[16]byte]bool{}
	require.NoError(t, s.scan([]byte{0x10}, func(k, v []byte) error {
		var id [16]byte
		copy(id[:], k[1:])
		msgs[id] = true
		require.Positive(t, refs[id], "message %x stored with no entry", id)
		return nil
	}))
	require.NoError(t, s.scan([]byte{0x12}, func(k, v []byte) error {
		var id [16]byte
		copy(id[:], k[1:17])
		require.True(t, msgs[id], "fragment of deleted message %x", id)
		return nil
	}))
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.mu.msgs, len(refs))
	for id, n := range refs {
		require.True(t, msgs[id], "entry for missing message %x", id)
		ms := s.mu.msgs[id]
		require.NotNil(t, ms)
		require.Equal(t, n, ms.refs)
	}
}

var ctx = context.Background()

func (e *env) host(name string) {
	e.t.Helper()
	require.NoError(e.t, e.s.CreateHost(ctx, name))
}

func (e *env) subscribe(sub Subscription) Subscription {
	e.t.Helper()
	out, err := e.s.Subscribe(ctx, sub)
	require.NoError(e.t, err)
	return out
}

func (e *env) publish(m *Message) []EntryID {
	e.t.Helper()
	_, ids, err := e.s.Publish(ctx, m)
	require.NoError(e.t, err)
	return ids
}

func (e *env) dequeue(host string, n int) []*Delivery {
	e.t.Helper()
	d, err := e.s.Dequeue(ctx, host, n, time.Minute)
	require.NoError(e.t, err)
	return d
}

func msg(body string, props ...Property) *Message { return NewMessage([]byte(body), props...) }

// testDB is a store set's MessageBox as Open takes it.
type testDB struct{ set *store.Set }

func (d testDB) Reader() pebble.Reader { return d.set.DB(store.MessageBox).Reader() }
func (d testDB) Begin() Txn            { return d.set.NewTxn() }

// dbOf is set's MessageBox database.
func dbOf(set *store.Set) Database { return testDB{set} }
