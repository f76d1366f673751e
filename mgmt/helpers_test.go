package mgmt_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox/predicate"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// setOptions lays a store set out under root on fs, as internal/store's
// own tests do.
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
	}
}

// fakeSubs is an in-memory stand-in for the MessageBox: it writes each
// subscription into the MessageBox store's subscription table inside the
// caller's Txn, so a commit carries both sides, and counts queued messages
// per subscription as tests set them.
type fakeSubs struct {
	set *store.Set

	mu sync.Mutex
	// queued is guarded by mu.
	queued map[uuid.UUID]int
}

var _ mgmt.Subscriptions = (*fakeSubs)(nil)

func newFakeSubs(set *store.Set) *fakeSubs {
	return &fakeSubs{set: set, queued: map[uuid.UUID]int{}}
}

func fakeKey(id uuid.UUID) []byte {
	return keys.AppendUUID(keys.AppendTable(nil, keys.TableSubscriptions), id)
}

// fakeValue is how the fake stores a subscription: its fields, then the
// filter as a binding-file filter document, so the fake can route.
func fakeValue(sub mgmt.Subscription) []byte {
	return fmt.Appendf(nil, "%s|%s|%s|%d|%t|%s", sub.Name, sub.Target, sub.Host, sub.Priority, sub.Active, mgmt.FormatFilter(sub.Filter))
}

// route returns the targets of the committed subscriptions that match
// props, as the MessageBox would deliver (active) or suspend (inactive).
func route(t testing.TB, set *store.Set, props map[string]string) (delivered, suspended []string) {
	t.Helper()
	for _, v := range storedSubs(t, set) {
		parts := strings.SplitN(v, "|", 6)
		require.Len(t, parts, 6)
		f, err := mgmt.ParseFilter(parts[5])
		require.NoError(t, err)
		if !f.Matches(stringContext(props)) {
			continue
		}
		if parts[4] == "true" {
			delivered = append(delivered, parts[1])
		} else {
			suspended = append(suspended, parts[1])
		}
	}
	slices.Sort(delivered)
	slices.Sort(suspended)
	return delivered, suspended
}

// mb is the MessageBox's part of tx.
func (f *fakeSubs) mb(tx mgmt.GroupTx) *pebble.Batch {
	b, err := tx.Batch(f.set.DB(store.MessageBox).Reader())
	if err != nil {
		panic(err)
	}
	return b
}

func (f *fakeSubs) Subscribe(tx mgmt.GroupTx, sub mgmt.Subscription) error {
	return f.mb(tx).Set(fakeKey(sub.ID), fakeValue(sub), nil)
}

func (f *fakeSubs) Unsubscribe(tx mgmt.GroupTx, id uuid.UUID) error {
	return f.mb(tx).Delete(fakeKey(id), nil)
}

func (f *fakeSubs) Queued(id uuid.UUID) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queued[id], nil
}

func (f *fakeSubs) setQueued(id uuid.UUID, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued[id] = n
}

// stored returns what the MessageBox side holds, by subscription ID.
func (f *fakeSubs) stored(t testing.TB) map[uuid.UUID]string {
	t.Helper()
	return storedSubs(t, f.set)
}

func storedSubs(t require.TestingT, set *store.Set) map[uuid.UUID]string {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	lower := keys.AppendTable(nil, keys.TableSubscriptions)
	it, err := set.DB(store.MessageBox).NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: keys.PrefixSuccessor(lower)})
	require.NoError(t, err)
	out := map[uuid.UUID]string{}
	for it.First(); it.Valid(); it.Next() {
		id, _, err := keys.DecodeUUID(it.Key()[1:])
		require.NoError(t, err)
		out[id] = string(it.Value())
	}
	require.NoError(t, it.Error())
	require.NoError(t, it.Close())
	return out
}

// env is a Store on a fresh in-memory set.
type env struct {
	fs   vfs.FS
	set  *store.Set
	subs *fakeSubs
	s    *mgmt.Store
}

func openEnv(t testing.TB, fs vfs.FS) *env {
	t.Helper()
	set, err := store.Open(setOptions(fs, "g"))
	require.NoError(t, err)
	subs := newFakeSubs(set)
	s, err := mgmt.Open(dbOf(set), subs, &mgmt.Options{Now: fixedNow})
	require.NoError(t, err)
	e := &env{fs: fs, set: set, subs: subs, s: s}
	t.Cleanup(func() {
		_ = s.Close()
		_ = set.Close()
	})
	return e
}

// fixedNow stamps exports, so that two exports compare equal.
func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func newEnv(t testing.TB) *env { return openEnv(t, vfs.NewMem()) }

// snapshot is every artifact and subscription of a Store, for equality
// checks.
type snapshot struct {
	Apps          []*mgmt.Application
	Hosts         []*mgmt.Host
	Instances     []*mgmt.HostInstance
	Adapters      []*mgmt.Adapter
	Assemblies    []*mgmt.Assembly
	ReceivePorts  []*mgmt.ReceivePort
	SendPorts     []*mgmt.SendPort
	Groups        []*mgmt.SendPortGroup
	Orchs         []*mgmt.Orchestration
	Parties       []*mgmt.Party
	Subscriptions []mgmt.Subscription
}

func snap(s *mgmt.Store) snapshot {
	return snapshot{
		Apps: s.Applications(), Hosts: s.Hosts(), Instances: s.HostInstances(""), Adapters: s.Adapters(),
		Assemblies: s.Assemblies(""), ReceivePorts: s.ReceivePorts(""), SendPorts: s.SendPorts(""),
		Groups: s.SendPortGroups(""), Orchs: s.Orchestrations(""), Parties: s.Parties(),
		Subscriptions: s.AllSubscriptions(),
	}
}

func importString(t testing.TB, s *mgmt.Store, doc string) (*mgmt.ImportResult, error) {
	t.Helper()
	return s.Import(context.Background(), bytes.NewReader([]byte(doc)), nil)
}

func export(t testing.TB, s *mgmt.Store, app string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, s.Export(context.Background(), &b, app))
	return b.String()
}

func reopenSet(t testing.TB, e *env) *store.Set {
	t.Helper()
	set, err := store.Open(setOptions(e.fs, "g"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	return set
}

// stringContext turns text properties into a promoted context of strings.
func stringContext(props map[string]string) []predicate.Property {
	var context []predicate.Property
	for k, v := range props {
		context = append(context, predicate.Property{Name: k, Value: predicate.String(v), Promoted: true})
	}
	return context
}

// testDB is a store set's Management database as mgmt.Open takes it.
type testDB struct{ set *store.Set }

func (d testDB) Reader() pebble.Reader { return d.set.DB(store.Management).Reader() }
func (d testDB) Begin() mgmt.GroupTxn  { return d.set.NewTxn() }

// dbOf is set's Management database.
func dbOf(set *store.Set) mgmt.Database { return testDB{set} }
