package tracking

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// setOptions lays a group out under root on fs, with small memtables and
// no background checkpointer.
func setOptions(fs vfs.FS, root string) *store.Options {
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
		Durability:         wal.Sync,
	}
}

func openSet(t testing.TB, fs vfs.FS) *store.Set {
	t.Helper()
	set, err := store.Open(setOptions(fs, "g"))
	require.NoError(t, err)
	return set
}

// testEnv is a group's store set with a tracking Store on a test clock.
type testEnv struct {
	fs    vfs.FS
	set   *store.Set
	s     *Store
	clock *testClock
	opts  Options
}

func newEnv(t testing.TB, fs vfs.FS, o *Options) *testEnv {
	t.Helper()
	if fs == nil {
		fs = vfs.NewMem()
	}
	e := &testEnv{fs: fs, clock: newTestClock()}
	if o != nil {
		e.opts = *o
	}
	if e.opts.Clock == nil {
		e.opts.Clock = e.clock.Now
	}
	if e.opts.PurgeInterval == 0 {
		e.opts.PurgeInterval = -1
	}
	if e.opts.FS == nil {
		e.opts.FS = fs
	}
	e.set = openSet(t, fs)
	s, err := Open(dbOf(e.set), &e.opts)
	require.NoError(t, err)
	e.s = s
	t.Cleanup(func() {
		require.NoError(t, e.s.Close())
		require.NoError(t, e.set.Close())
	})
	return e
}

// record commits events in one transaction.
func (e *testEnv) record(t testing.TB, events ...Event) {
	t.Helper()
	tx := e.set.NewTxn()
	require.NoError(t, e.s.Record(tx, events))
	_, err := tx.Commit(context.Background())
	require.NoError(t, err)
}

// allEvents pages through q and returns every event.
func allEvents(t testing.TB, q Querier, mq MessageEventQuery) []MessageEvent {
	t.Helper()
	var out []MessageEvent
	for {
		p, err := q.MessageEvents(context.Background(), mq)
		require.NoError(t, err)
		out = append(out, p.Events...)
		if p.Next == "" {
			return out
		}
		mq.Cursor = p.Next
	}
}

func allInstances(t testing.TB, q Querier, iq InstanceQuery) []Instance {
	t.Helper()
	var out []Instance
	for {
		p, err := q.Instances(context.Background(), iq)
		require.NoError(t, err)
		out = append(out, p.Instances...)
		if p.Next == "" {
			return out
		}
		iq.Cursor = p.Next
	}
}

func instanceIDs(is []Instance) []uuid.UUID {
	out := make([]uuid.UUID, len(is))
	for i, x := range is {
		out[i] = x.ID
	}
	return out
}

func kinds(es []MessageEvent) []EventKind {
	out := make([]EventKind, len(es))
	for i, e := range es {
		out[i] = e.Kind
	}
	return out
}

// id returns a readable fixed UUID for n.
func id(n byte) uuid.UUID {
	var u uuid.UUID
	u[0], u[15] = 0xAA, n
	return u
}

// testDB is a store set's tracking database as Open takes it.
type testDB struct{ set *store.Set }

func (d testDB) Reader() pebble.Reader         { return d.set.DB(store.Tracking).Reader() }
func (d testDB) NewSnapshot() *pebble.Snapshot { return d.set.DB(store.Tracking).NewSnapshot() }
func (d testDB) Metrics() *pebble.Metrics      { return d.set.DB(store.Tracking).Metrics() }
func (d testDB) Begin() Txn                    { return d.set.NewTxn() }

// dbOf is set's tracking database.
func dbOf(set *store.Set) Database { return testDB{set} }
