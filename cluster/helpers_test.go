package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// testTTL is the witness lease in tests: short, so failovers take
// fractions of a second.
const testTTL = time.Second

// testNode is a node with the filesystem it lives on, so a test can crash
// it and reopen it on what survived.
type testNode struct {
	*Node
	id  string
	fs  *vfs.MemFS
	dir string
}

func nodeOptions(id string, w Witness, fs vfs.FS, mode Mode) *Options {
	return &Options{
		ID:          id,
		Witness:     w,
		Mode:        mode,
		SyncTimeout: 2 * time.Second,
		Heartbeat:   50 * time.Millisecond,
		Group: &biztier.Options{
			FS:                 fs,
			Durability:         biztier.Sync,
			MemTableSize:       4 << 20,
			CheckpointInterval: -1,
			Logger:             store.PanicLogger{},
		},
	}
}

func openTestNode(t testing.TB, w Witness, id string, fs *vfs.MemFS, mode Mode, tweak func(*Options)) *testNode {
	t.Helper()
	if fs == nil {
		fs = vfs.NewCrashableMem()
	}
	o := nodeOptions(id, w, fs, mode)
	if tweak != nil {
		tweak(o)
	}
	n, err := Open("node", o)
	require.NoError(t, err)
	tn := &testNode{Node: n, id: id, fs: fs, dir: "node"}
	t.Cleanup(func() { _ = n.Close() })
	return tn
}

// crash kills the node as a process crash would (no resignation: its lease
// must run out; the witness stops hearing from it) and returns the
// filesystem as the crash left it, with unsynced data dropped.
func (tn *testNode) crash(w *LocalWitness) *vfs.MemFS {
	if w != nil {
		w.Isolate(tn.id, true)
	}
	tn.crashed.Store(true)
	_ = tn.ln.Close()
	n := tn.Node
	n.mu.Lock()
	p := n.prim
	n.mu.Unlock()
	if p != nil {
		p.fence("crash")
	}
	clone := tn.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	_ = tn.Close()
	if w != nil {
		w.Isolate(tn.id, false)
	}
	return clone
}

// pauseNode stops the node as SIGSTOP would stop its process, as far as a
// test in one process can: every goroutine of the node that reaches a
// pause point (between a lease check and the answer it guards, or in the
// loop watching the lease) blocks there until it is resumed. The caller
// cuts the node off from the witness separately (a stopped process renews
// nothing). resume(where...) releases the named points first and the rest
// only once called with none: a resumed process runs its goroutines in any
// order, so a test can let a reader run before the lease watcher.
// Everything is released at the test's end at the latest.
func (tn *testNode) pauseNode(t testing.TB) (resume func(where ...string)) {
	var mu sync.Mutex
	gates := map[string]chan struct{}{}
	all := make(chan struct{})
	gate := func(where string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if gates[where] == nil {
			gates[where] = make(chan struct{})
		}
		return gates[where]
	}
	f := func(where string) {
		select {
		case <-gate(where):
		case <-all:
		}
	}
	tn.pause.Store(&f)
	var once sync.Once
	resume = func(where ...string) {
		for _, w := range where {
			ch := gate(w)
			mu.Lock()
			select {
			case <-ch:
			default:
				close(ch)
			}
			mu.Unlock()
		}
		if len(where) == 0 {
			once.Do(func() {
				tn.pause.Store(nil)
				close(all)
			})
		}
	}
	t.Cleanup(func() { resume() })
	return resume
}

func waitActive(t testing.TB, d time.Duration, nodes ...*testNode) *testNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	ns := make([]*Node, len(nodes))
	for i, n := range nodes {
		ns[i] = n.Node
	}
	a, err := WaitActive(ctx, ns...)
	require.NoError(t, err, "no node became active")
	for _, n := range nodes {
		if n.Node == a {
			return n
		}
	}
	panic("unreachable")
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			if os.Getenv("BIZTIER_DUMP") != "" {
				buf := make([]byte, 8<<20)
				path := fmt.Sprintf("%s/biztier-stacks-%d.txt", os.TempDir(), time.Now().UnixNano())
				_ = os.WriteFile(path, buf[:runtime.Stack(buf, true)], 0o644)
				what += " (goroutines: " + path + ")"
			}
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitInSync waits until the active lists its passive in the sync record.
func waitInSync(t testing.TB, active *testNode, others ...*testNode) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := active.Status()
		if st.Role == Active && st.SyncState == "sync" {
			return
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out waiting for passive in sync:\n%s: %+v", active.id, st)
			for _, o := range others {
				msg += fmt.Sprintf("\n%s: %+v", o.id, o.Status())
			}
			if os.Getenv("BIZTIER_DUMP") != "" {
				buf := make([]byte, 8<<20)
				path := fmt.Sprintf("%s/biztier-stacks-%d.txt", os.TempDir(), time.Now().UnixNano())
				_ = os.WriteFile(path, buf[:runtime.Stack(buf, true)], 0o644)
				msg += "\ngoroutines: " + path
			}
			t.Fatal(msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitCaughtUp waits until b has applied everything a has durably.
func waitCaughtUp(t testing.TB, a, b *testNode) {
	t.Helper()
	// The active's tracking decoder commits behind the MessageBox's
	// operations: let it finish first, so nothing commits after the wait.
	if a.Role() == Active {
		if tr, err := a.group().Tracking(); err == nil {
			require.NoError(t, tr.WaitCaughtUp(context.Background()))
		}
	}
	waitFor(t, 10*time.Second, "passive caught up", func() bool {
		d := a.wlog().DurableLSN()
		return a.wlog().AppliedLSN() == d && b.wlog().AppliedLSN() == d && b.wlog().DurableLSN() == d
	})
}

// requireSameDigest checks that two quiescent nodes hold the same data.
func requireSameDigest(t testing.TB, a, b *testNode) {
	t.Helper()
	la, da, err := clusterhooks.Of(a.group()).Digest()
	require.NoError(t, err)
	lb, db, err := clusterhooks.Of(b.group()).Digest()
	require.NoError(t, err)
	require.Equal(t, la, lb, "applied lsn differs")
	require.Equal(t, da, db, "digest differs at lsn %d", la)
}

// ledger records the outcome of every transfer a workload commits, for the
// no-lost-acknowledged-commit checker.
type ledger struct {
	mu      sync.Mutex
	acked   map[string]uint64 // key -> value acknowledged
	unknown map[string]bool   // keys with a commit of unknown outcome
}

func newLedger() *ledger {
	return &ledger{acked: map[string]uint64{}, unknown: map[string]bool{}}
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func u64v(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// write commits key=v in two databases in one transaction.
func write(ctx context.Context, n *Node, key string, v uint64) (uint64, error) {
	return n.Update(ctx, func(tx *biztier.Tx) error {
		if err := tx.Set(biztier.MessageBox, []byte(key), u64(v)); err != nil {
			return err
		}
		return tx.Set(biztier.Tracking, []byte(key), u64(v))
	})
}

// record notes a commit's outcome.
func (l *ledger) record(key string, v uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.acked[key] = v
		delete(l.unknown, key)
	} else {
		l.unknown[key] = true
	}
}

// check verifies that g holds every acknowledged value (or, for keys with a
// later commit of unknown outcome, that value or a later one), the same in
// both databases.
func (l *ledger) check(g *biztier.Group) (lost int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range l.acked {
		mb, ok1, err1 := g.Get(biztier.MessageBox, []byte(k))
		tr, ok2, err2 := g.Get(biztier.Tracking, []byte(k))
		if err := errors.Join(err1, err2); err != nil {
			return lost, err
		}
		if !ok1 || !ok2 {
			lost++
			continue
		}
		a, b := binary.BigEndian.Uint64(mb), binary.BigEndian.Uint64(tr)
		if a != b {
			return lost, fmt.Errorf("key %s: messagebox has %d, tracking %d: a transaction was split", k, a, b)
		}
		if a < v || (a > v && !l.unknown[k]) {
			lost++
		}
	}
	return lost, nil
}

// load runs writers committing increasing values to their own keys until
// stop is closed, recording outcomes. Each writer retries on the active it
// finds.
func load(nodes []*testNode, writers int, l *ledger, stop <-chan struct{}) (wait func() int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("w%02d", w)
			var v uint64
			i := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := nodes[i%len(nodes)].Node
				if n.Role() != Active {
					i++
					time.Sleep(time.Millisecond)
					continue
				}
				v++
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := write(ctx, n, key, v)
				cancel()
				l.record(key, v, err)
				if err == nil {
					mu.Lock()
					total++
					mu.Unlock()
				}
			}
		}()
	}
	return func() int {
		wg.Wait()
		return total
	}
}
