package biztier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// testClock is a deterministic clock: each call is one microsecond after
// the last, so every frame has its own time.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time { return time.Unix(0, c.ns.Add(int64(time.Microsecond))) }

// advance jumps the clock forward.
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func drOptions(fs vfs.FS, clock *testClock, segment int64) *Options {
	o := &Options{FS: fs, Logger: store.PanicLogger{}, MemTableSize: 1 << 20, CheckpointInterval: -1, SegmentSize: segment}
	if clock != nil {
		o.Now = clock.Now
	}
	return o
}

func openTestGroup(t testing.TB, fs vfs.FS, dir string, clock *testClock, segment int64) *Group {
	t.Helper()
	g, err := Open(dir, drOptions(fs, clock, segment))
	require.NoError(t, err)
	return g
}

// userState reads every database's extension keyspace: "db/key" -> value.
func userState(t testing.TB, g *Group) map[string]string {
	t.Helper()
	lower, upper := keys.PrefixBounds(keys.AppendTable(nil, keys.TableUser))
	snaps := g.set.Snapshot(store.All...)
	out := map[string]string{}
	for id, s := range snaps {
		it, err := s.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
		require.NoError(t, err)
		for it.First(); it.Valid(); it.Next() {
			out[id.String()+"/"+string(it.Key()[1:])] = string(it.Value())
		}
		require.NoError(t, it.Error())
		require.NoError(t, it.Close())
		require.NoError(t, s.Close())
	}
	return out
}

// openRestored opens a restored group, reads its state and closes it.
func openRestored(t testing.TB, fs vfs.FS, dir string) (map[string]string, *Group) {
	t.Helper()
	g, err := Open(dir, drOptions(fs, nil, 0))
	require.NoError(t, err)
	st := userState(t, g)
	return st, g
}

// op is one key's write in a commit of the model.
type op struct {
	db    Database
	key   string
	value string // "" deletes
}

// model records every acknowledged commit by LSN, so the state at any LSN
// can be rebuilt.
type model struct {
	mu      sync.Mutex
	commits map[uint64][]op
}

func newModel() *model { return &model{commits: map[uint64][]op{}} }

func (m *model) record(lsn uint64, ops []op) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commits[lsn] = ops
}

// stateAt is the extension keyspace after every commit at or below lsn.
func (m *model) stateAt(lsn uint64) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	lsns := make([]uint64, 0, len(m.commits))
	for l := range m.commits {
		if l <= lsn {
			lsns = append(lsns, l)
		}
	}
	slices.Sort(lsns)
	out := map[string]string{}
	for _, l := range lsns {
		for _, o := range m.commits[l] {
			k := o.db.String() + "/" + o.key
			if o.value == "" {
				delete(out, k)
			} else {
				out[k] = o.value
			}
		}
	}
	return out
}

// load runs writers committing random multi-database transactions until
// stop is closed, recording them in m.
func load(t testing.TB, g *Group, m *model, writers int, seed uint64, stop <-chan struct{}) (wait func()) {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := 1 + rng.IntN(3)
				ops := make([]op, 0, n)
				for range n {
					o := op{db: Database(store.All[rng.IntN(len(store.All))]), key: fmt.Sprintf("w%d-k%02d", w, rng.IntN(40))}
					if rng.IntN(5) > 0 {
						o.value = fmt.Sprintf("v%d-%d-%x", w, i, rng.Uint32())
					}
					ops = append(ops, o)
				}
				lsn, err := g.Update(context.Background(), func(tx *Txn) error {
					for _, o := range ops {
						if o.value == "" {
							if err := tx.Delete(o.db, []byte(o.key)); err != nil {
								return err
							}
						} else if err := tx.Set(o.db, []byte(o.key), []byte(o.value)); err != nil {
							return err
						}
					}
					return nil
				})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("load: %v", err)
					return
				}
				m.record(lsn, ops)
			}
		}()
	}
	return wg.Wait
}

// waitFrames blocks until the log has grown by n frames.
func waitFrames(t testing.TB, g *Group, n uint64) {
	t.Helper()
	start := g.set.Log().DurableLSN()
	r, err := g.set.Log().NewReader(start + 1)
	require.NoError(t, err)
	defer r.Close()
	for range n {
		_, err := r.Next(context.Background())
		require.NoError(t, err)
	}
}

func TestGroup_MarksListedAndKeptAcrossTruncation(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", newTestClock(), 4<<10)
	defer func() { require.NoError(t, g.Close()) }()
	m1, err := g.Mark(ctx, "first")
	require.NoError(t, err)
	for i := range 200 {
		_, err := g.Update(ctx, func(tx *Txn) error {
			return tx.Set(MessageBox, fmt.Appendf(nil, "k%d", i), make([]byte, 100))
		})
		require.NoError(t, err)
	}
	m2, err := g.Mark(ctx, "second")
	require.NoError(t, err)
	require.NoError(t, g.Checkpoint(ctx))
	require.Greater(t, g.Stats().FirstLSN, m1, "the checkpoint truncated the first mark's frame")
	marks := g.Marks()
	require.Len(t, marks, 2)
	require.Equal(t, "first", marks[0].Name)
	require.Equal(t, m1, marks[0].LSN)
	require.Equal(t, m2, marks[1].LSN)
	require.True(t, marks[0].Time.Before(marks[1].Time))
	_, err = g.Mark(ctx, "")
	require.Error(t, err)
}

func TestGroup_MarksSurviveReopenAndCrash(t *testing.T) {
	fs := vfs.NewCrashableMem()
	ctx := context.Background()
	mkdirSynced(t, fs, "g")
	g := openTestGroup(t, fs, "g", nil, 0)
	_, err := g.Mark(ctx, "a")
	require.NoError(t, err)
	// A mark whose commit reached the log, but not the list, before a crash.
	l := g.set.Log()
	require.NoError(t, g.marks.Begin("b", l.DurableLSN()+1))
	lsnB, err := l.Mark(ctx, "b")
	require.NoError(t, err)
	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, g.Close())

	g = openTestGroup(t, crashed, "g", nil, 0)
	defer func() { require.NoError(t, g.Close()) }()
	names := []string{}
	for _, m := range g.Marks() {
		names = append(names, m.Name)
	}
	require.Equal(t, []string{"a", "b"}, names)
	require.Equal(t, lsnB, g.Marks()[1].LSN)
}

func TestMarkList_PrunesOldButKeepsNewest(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	clock := newTestClock()
	g := openTestGroup(t, fs, "g", clock, 0)
	defer func() { require.NoError(t, g.Close()) }()
	for i := range 3 {
		_, err := g.Mark(ctx, fmt.Sprintf("old-%d", i))
		require.NoError(t, err)
	}
	clock.advance(MarkHistory + time.Hour)
	_, err := g.Mark(ctx, "new")
	require.NoError(t, err)
	require.Len(t, g.Marks(), 1)
	require.Equal(t, "new", g.Marks()[0].Name)
}

func TestBackup_UnderLoadRestoresExactStateAtMark(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	fs := vfs.NewMem()
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", nil, 16<<10)
	bk := DirShipper(fs, "backups")
	m := newModel()
	stop := make(chan struct{})
	wait := load(t, g, m, 4, seed, stop)

	waitFrames(t, g, 300)
	var progress []BackupProgress
	full, err := g.Backup(ctx, bk, &BackupOptions{Progress: func(p BackupProgress) { progress = append(progress, p) }})
	require.NoError(t, err)
	waitFrames(t, g, 300)
	log1, err := g.BackupLog(ctx, bk, &BackupOptions{MarkName: "after-log-1"})
	require.NoError(t, err)
	waitFrames(t, g, 200)
	log2, err := g.BackupLog(ctx, bk, nil)
	require.NoError(t, err)
	close(stop)
	wait()

	require.True(t, full.Full)
	require.False(t, log1.Full)
	require.Equal(t, full.Last+1, log1.First)
	require.Equal(t, log1.Last+1, log2.First)
	require.NotEmpty(t, progress)
	last := progress[len(progress)-1]
	require.Equal(t, last.Total, last.Done)
	require.Equal(t, full.RawBytes, last.Done)
	for i := 1; i < len(progress); i++ {
		require.GreaterOrEqual(t, progress[i].Done, progress[i-1].Done)
	}
	sets, err := ListBackups(ctx, bk)
	require.NoError(t, err)
	require.Len(t, sets, 3)

	for i, target := range []struct {
		mark string
		lsn  uint64
	}{{full.Mark.Name, full.Last}, {"after-log-1", log1.Last}, {"", log2.Last}} {
		dir := fmt.Sprintf("restored-%d", i)
		res, err := Restore(ctx, bk, dir, &RestoreOptions{FS: fs, Mark: target.mark})
		require.NoError(t, err)
		require.Equal(t, target.lsn, res.LSN)
		require.Equal(t, g.ID(), res.From)
		require.NotEqual(t, g.ID(), res.ID)
		got, rg := openRestored(t, fs, dir)
		require.Equal(t, m.stateAt(target.lsn), got, "restore to %q", target.mark)
		require.Equal(t, res.ID, rg.ID(), "the restored group has the new identity")
		require.Equal(t, target.lsn, rg.Stats().LSN)
		rm := rg.Marks()
		require.NotEmpty(t, rm)
		require.Equal(t, target.lsn, rm[len(rm)-1].LSN, "the restored group lists the marks up to its own")
		// The restored group works: it commits after the restored LSN.
		lsn, err := rg.Update(ctx, func(tx *Txn) error { return tx.Set(BAM, []byte("after"), []byte("restore")) })
		require.NoError(t, err)
		require.Equal(t, target.lsn+1, lsn)
		require.NoError(t, rg.Close())
	}
	require.NoError(t, g.Close())
}

func TestRestore_ToLSNAndTime(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", newTestClock(), 8<<10)
	defer func() { require.NoError(t, g.Close()) }()
	bk := DirShipper(fs, "backups")
	m := newModel()
	commit := func(n int) {
		stop := make(chan struct{})
		close(stop)
		for i := range n {
			ops := []op{{db: MessageBox, key: fmt.Sprintf("k%d", i%30), value: fmt.Sprintf("v%d", g.set.Log().DurableLSN())}, {db: Rules, key: "last", value: fmt.Sprint(i)}}
			lsn, err := g.Update(ctx, func(tx *Txn) error {
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
	commit(100)
	full, err := g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	commit(100)
	_, err = g.BackupLog(ctx, bk, nil)
	require.NoError(t, err)
	commit(100)
	last, err := g.BackupLog(ctx, bk, nil)
	require.NoError(t, err)

	// Frame times, read back from the log.
	times := map[uint64]time.Time{}
	r, err := g.set.Log().NewReader(g.Stats().FirstLSN)
	require.NoError(t, err)
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		times[f.LSN] = time.Unix(0, f.Time)
	}
	require.NoError(t, r.Close())

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 6 {
		lsn := full.Last + uint64(rng.IntN(int(last.Last-full.Last)))
		dir := fmt.Sprintf("lsn-%d", i)
		res, err := Restore(ctx, bk, dir, &RestoreOptions{FS: fs, LSN: lsn})
		require.NoError(t, err)
		require.Equal(t, lsn, res.LSN)
		got, rg := openRestored(t, fs, dir)
		require.Equal(t, m.stateAt(lsn), got, "restore to lsn %d", lsn)
		require.NoError(t, rg.Close())

		// A time between two frames restores the earlier one.
		at := times[lsn].Add(500 * time.Nanosecond)
		dir = fmt.Sprintf("time-%d", i)
		res, err = Restore(ctx, bk, dir, &RestoreOptions{FS: fs, Time: at})
		require.NoError(t, err)
		require.Equal(t, lsn, res.LSN)
		require.Equal(t, times[lsn], res.Time)
		got, rg = openRestored(t, fs, dir)
		require.Equal(t, m.stateAt(lsn), got, "restore to time of lsn %d", lsn)
		require.NoError(t, rg.Close())
	}

	// Just before a log backup's mark: the frame before it.
	res, err := Restore(ctx, bk, "before-mark", &RestoreOptions{FS: fs, Mark: last.Mark.Name, BeforeMark: true})
	require.NoError(t, err)
	require.Equal(t, last.Last-1, res.LSN)
	got, rg := openRestored(t, fs, "before-mark")
	require.NoError(t, rg.Close())
	require.Equal(t, m.stateAt(last.Last-1), got)
	// Just before a full backup's own mark: its checkpoints are older.
	res, err = Restore(ctx, bk, "before-full", &RestoreOptions{FS: fs, Mark: full.Mark.Name, BeforeMark: true})
	require.NoError(t, err)
	require.Equal(t, full.Last-1, res.LSN)

	_, err = Restore(ctx, bk, "too-late", &RestoreOptions{FS: fs, LSN: last.Last + 1})
	require.ErrorIs(t, err, ErrRestoreTarget)
	_, err = Restore(ctx, bk, "too-late", &RestoreOptions{FS: fs, Time: times[last.Last].Add(time.Hour)})
	require.ErrorIs(t, err, ErrRestoreTarget)
	_, err = Restore(ctx, bk, "no-mark", &RestoreOptions{FS: fs, Mark: "no such mark"})
	require.ErrorIs(t, err, ErrRestoreTarget)
	_, err = Restore(ctx, bk, "lsn-0", &RestoreOptions{FS: fs})
	require.ErrorIs(t, err, ErrRestoreDirNotEmpty)
}

// bank moves money between accounts in the MessageBox and in Tracking, in
// one transaction each: the total is an invariant across the two stores.
type bank struct {
	mu       sync.Mutex
	g        *Group
	accounts int
}

const bankTotal = 1000 * 20

func (b *bank) open(ctx context.Context) error {
	_, err := b.g.Update(ctx, func(tx *Txn) error {
		for i := range b.accounts {
			for _, db := range []Database{MessageBox, Tracking} {
				if err := tx.Set(db, fmt.Appendf(nil, "acct-%02d", i), []byte(fmt.Sprint(bankTotal/(2*b.accounts)))); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return err
}

func (b *bank) transfer(ctx context.Context, rng *rand.Rand) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	from, to := rng.IntN(b.accounts), rng.IntN(b.accounts)
	dbFrom, dbTo := MessageBox, Tracking
	if rng.IntN(2) == 0 {
		dbFrom, dbTo = Tracking, MessageBox
	}
	read := func(db Database, i int) (int, error) {
		v, ok, err := b.g.Get(db, fmt.Appendf(nil, "acct-%02d", i))
		if err != nil || !ok {
			return 0, fmt.Errorf("read %s acct %d: ok=%v %w", db, i, ok, err)
		}
		var n int
		_, err = fmt.Sscan(string(v), &n)
		return n, err
	}
	a, err := read(dbFrom, from)
	if err != nil {
		return err
	}
	c, err := read(dbTo, to)
	if err != nil {
		return err
	}
	amount := rng.IntN(50)
	_, err = b.g.Update(ctx, func(tx *Txn) error {
		if err := tx.Set(dbFrom, fmt.Appendf(nil, "acct-%02d", from), []byte(fmt.Sprint(a-amount))); err != nil {
			return err
		}
		return tx.Set(dbTo, fmt.Appendf(nil, "acct-%02d", to), []byte(fmt.Sprint(c+amount)))
	})
	return err
}

func bankSum(t testing.TB, st map[string]string) int {
	t.Helper()
	sum, n := 0, 0
	for k, v := range st {
		if len(k) > 5 && (k[:len("messagebox/acct")] == "messagebox/acct" || (len(k) > len("tracking/acct") && k[:len("tracking/acct")] == "tracking/acct")) {
			var x int
			_, err := fmt.Sscan(v, &x)
			require.NoError(t, err)
			sum += x
			n++
		}
	}
	require.Equal(t, 40, n, "every account is present")
	return sum
}

func TestRestore_CrossStoreInvariantHolds(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	fs := vfs.NewMem()
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", newTestClock(), 16<<10)
	defer func() { require.NoError(t, g.Close()) }()
	bk := DirShipper(fs, "backups")
	b := &bank{g: g, accounts: 20}
	require.NoError(t, b.open(ctx))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := b.transfer(ctx, rng); err != nil {
					t.Errorf("transfer: %v", err)
					return
				}
			}
		}()
	}
	waitFrames(t, g, 200)
	_, err := g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	for range 3 {
		waitFrames(t, g, 150)
		_, err := g.BackupLog(ctx, bk, nil)
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	require.Equal(t, bankTotal, bankSum(t, userState(t, g)))

	sets, err := ListBackups(ctx, bk)
	require.NoError(t, err)
	first, lastLSN := sets[0].Last, sets[len(sets)-1].Last
	rng := rand.New(rand.NewPCG(seed, 99))
	var targets []RestoreOptions
	for _, s := range sets {
		targets = append(targets, RestoreOptions{Mark: s.Mark.Name})
	}
	for range 4 {
		targets = append(targets, RestoreOptions{LSN: first + uint64(rng.IntN(int(lastLSN-first+1)))})
	}
	targets = append(targets, RestoreOptions{Time: sets[1].Mark.Time.Add(-3 * time.Microsecond)})
	for i, o := range targets {
		o.FS = fs
		dir := fmt.Sprintf("r-%d", i)
		_, err := Restore(ctx, bk, dir, &o)
		require.NoError(t, err, "target %+v", o)
		st, rg := openRestored(t, fs, dir)
		require.Equal(t, bankTotal, bankSum(t, st), "target %+v", o)
		require.NoError(t, rg.Close())
	}
}

// backupWithChain makes a full and two log backups of a quiet group.
func backupWithChain(t *testing.T, fs vfs.FS) (*Group, Shipper, []BackupSet) {
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", newTestClock(), 0)
	bk := DirShipper(fs, "backups")
	var sets []BackupSet
	for i := range 3 {
		for j := range 50 {
			_, err := g.Update(ctx, func(tx *Txn) error {
				return tx.Set(SSO, fmt.Appendf(nil, "k%d-%d", i, j), []byte("v"))
			})
			require.NoError(t, err)
		}
		var s *BackupSet
		var err error
		if i == 0 {
			s, err = g.Backup(ctx, bk, nil)
		} else {
			s, err = g.BackupLog(ctx, bk, nil)
		}
		require.NoError(t, err)
		sets = append(sets, *s)
	}
	return g, bk, sets
}

func TestRestore_DetectsMissingAndDamagedFiles(t *testing.T) {
	ctx := context.Background()
	logFile := func(t *testing.T, fs vfs.FS, set string) string {
		names, err := fs.List("backups/sets/" + set + "/log")
		require.NoError(t, err)
		require.NotEmpty(t, names)
		return "backups/sets/" + set + "/log/" + names[0]
	}
	t.Run("missing log file", func(t *testing.T) {
		fs := vfs.NewMem()
		g, bk, sets := backupWithChain(t, fs)
		defer g.Close()
		require.NoError(t, fs.Remove(logFile(t, fs, sets[1].Name)))
		_, err := Restore(ctx, bk, "r", &RestoreOptions{FS: fs})
		var gap *BackupGapError
		require.ErrorAs(t, err, &gap)
		require.ErrorIs(t, err, ErrCorruption)
		require.Equal(t, sets[1].First, gap.From)
		require.Equal(t, sets[1].Last, gap.To)
		// Nothing was restored, so the directory is not a group.
		_, err = fs.Stat("r/" + identityFile)
		require.ErrorIs(t, err, os.ErrNotExist)
		// An earlier point needs only the full set.
		_, err = Restore(ctx, bk, "r2", &RestoreOptions{FS: fs, Mark: sets[0].Mark.Name})
		require.NoError(t, err)
	})
	t.Run("missing set", func(t *testing.T) {
		fs := vfs.NewMem()
		g, bk, sets := backupWithChain(t, fs)
		defer g.Close()
		require.NoError(t, fs.RemoveAll("backups/sets/"+sets[1].Name))
		_, err := Restore(ctx, bk, "r", &RestoreOptions{FS: fs})
		var gap *BackupGapError
		require.ErrorAs(t, err, &gap)
		require.Equal(t, sets[1].First, gap.From)
		require.Equal(t, sets[1].Last, gap.To)
	})
	t.Run("damaged log file", func(t *testing.T) {
		fs := vfs.NewMem()
		g, bk, sets := backupWithChain(t, fs)
		defer g.Close()
		name := logFile(t, fs, sets[2].Name)
		flipByte(t, fs, name, 20)
		_, err := Restore(ctx, bk, "r", &RestoreOptions{FS: fs})
		var fe *BackupFileError
		require.ErrorAs(t, err, &fe)
		require.ErrorIs(t, err, ErrCorruption)
		require.Contains(t, name, fe.File)
	})
	t.Run("damaged store file", func(t *testing.T) {
		fs := vfs.NewMem()
		g, bk, sets := backupWithChain(t, fs)
		defer g.Close()
		dir := "backups/sets/" + sets[0].Name + "/stores/sso"
		names, err := fs.List(dir)
		require.NoError(t, err)
		var biggest string
		var size int64
		for _, n := range names {
			st, err := fs.Stat(dir + "/" + n)
			require.NoError(t, err)
			if st.Size() > size {
				biggest, size = n, st.Size()
			}
		}
		flipByte(t, fs, dir+"/"+biggest, size/2)
		_, err = Restore(ctx, bk, "r", &RestoreOptions{FS: fs})
		var fe *BackupFileError
		require.ErrorAs(t, err, &fe)
		require.ErrorIs(t, err, ErrCorruption)
	})
}

// flipByte corrupts one byte of a file in place.
func flipByte(t *testing.T, fs vfs.FS, name string, off int64) {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	data[off] ^= 0xFF
	w, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
}

func TestBackupLog_NeedsFullAndUnbrokenChain(t *testing.T) {
	fs := vfs.NewMem()
	ctx := context.Background()
	g := openTestGroup(t, fs, "g", nil, 4<<10)
	defer func() { require.NoError(t, g.Close()) }()
	bk := DirShipper(fs, "backups")
	_, err := g.BackupLog(ctx, bk, nil)
	require.ErrorIs(t, err, ErrNoBackup)
	_, err = g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	for i := range 200 {
		_, err := g.Update(ctx, func(tx *Txn) error { return tx.Set(BAM, fmt.Appendf(nil, "k%d", i), make([]byte, 100)) })
		require.NoError(t, err)
	}
	require.NoError(t, g.Checkpoint(ctx)) // nothing pins the chain: it is truncated
	_, err = g.BackupLog(ctx, bk, nil)
	require.ErrorIs(t, err, ErrBackupChainBroken)
}

func sortedNames(sets []BackupSet) []string {
	out := make([]string, len(sets))
	for i, s := range sets {
		out[i] = s.Name
	}
	sort.Strings(out)
	return out
}

// mkdirSynced creates dir with its entry synced: Open does not sync the
// parent of a group directory it creates.
func mkdirSynced(t testing.TB, fs vfs.FS, dir string) {
	t.Helper()
	require.NoError(t, fs.MkdirAll(dir, 0o755))
	d, err := fs.OpenDir(fs.PathDir(dir))
	require.NoError(t, err)
	require.NoError(t, d.Sync())
	require.NoError(t, d.Close())
}
