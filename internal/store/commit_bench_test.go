package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The commit benchmarks compare the group log (one fsync per group of
// frames, Pebble's WAL off) with raw Pebble using its own WAL, on a real
// disk (b.TempDir()) with Sync durability on both sides and a 64 MiB
// memtable on both sides.
//
// This machine's fsync rate drifts several-fold within minutes, so a
// baseline measured before or after ours would say more about the disk than
// about the code. Each benchmark therefore measures both systems itself, in
// alternating rounds within the one run: a round has one system make a
// share of the commits with all committers, then the other make the same
// number; which goes first alternates from round to round. There are up
// to 32 rounds per system, each of at least 8 commits per committer (so
// that a round's ramp-up and drain weigh little). Each system's rate is its
// commits over the time spent in its own rounds, so both are measured over
// the same stretch of wall time and a drift hits both alike; the ratio is
// the median of the per-round ratios, which a disk stall landing in one
// system's round does not move. The iteration count b.N is the number of
// commits each system makes, and ns/op is the wall time of one commit of
// each (it mixes both systems and is not the figure to read); read the
// reported metrics:
//
//	biztier-commits/s, pebble-commits/s   durable commits per second
//	ratio                                 median over rounds of biztier's rate over pebble's in the paired round
//	ratio-total                           biztier-commits/s over pebble-commits/s (whole run; stalls weigh more)
//	biztier-MB/s, pebble-MB/s             user bytes committed per second
//	biztier-p50-µs ... pebble-p99-µs      commit latency quantiles (exact)
//	biztier-fsyncs/commit                 log fsyncs per commit (wal Stats)
//	biztier-frames/fsync                  frames each log fsync carried
//	pebble-fsyncs/commit                  WAL syncs per commit (counted by a vfs wrapper on both sides)
//	biztier-fsync-µs, pebble-fsync-µs     mean latency of one log / WAL sync (timed by that wrapper)
//	gomaxprocs                            runtime.GOMAXPROCS(0)
//
// Goals: single ratio >= 0.9 at every concurrency; cross ratio >= 1.5 at 1
// committer and >= 1.0 at 8 and 64. The memtables are 64 MiB, so runs
// shorter than about 10 s never see a flush; the design notes ask for 20 s
// or more:
//
//	go test -run '^$' -bench 'Commit$' -benchtime 10s ./internal/store/
//	go test -run '^$' -bench 'Commit$' -benchtime 20s -count 10 ./internal/store/ | tee new.txt   # for benchstat
//
// BenchmarkCommitReplay (same file, same -bench Commit pattern) measures
// recovery replay; see its doc.

const (
	benchBody  = 2 << 10 // the message body of a transaction
	benchExtra = 200     // the cross-store transaction's second record
)

// BenchmarkCommit measures durable commits of 2 KiB transactions through
// the Set against raw Pebble Set with pebble.Sync of the same bytes, at 1,
// 8 and 64 concurrent committers.
//
//   - kind=single: each commit writes one 2 KiB value to the MessageBox;
//     the baseline commits the same key and value to one Pebble DB.
//   - kind=cross: each commit writes 2 KiB to the MessageBox and 200 bytes
//     to Tracking atomically; the baseline commits the 2 KiB to one Pebble
//     DB and then the 200 bytes to another, each with Sync (what one would
//     do without a shared log, and without atomicity).
//
// See the comment at the top of this file for how the two are alternated
// and what each metric means.
//
//	go test -run '^$' -bench 'Commit$' -benchtime 10s ./internal/store/
func BenchmarkCommit(b *testing.B) {
	for _, kind := range []string{"single", "cross"} {
		for _, committers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("kind=%s/committers=%d", kind, committers), func(b *testing.B) {
				benchCommit(b, kind == "cross", committers)
			})
		}
	}
}

// timedFS counts and times the syncs of files whose names end in suffix
// (the log's segments, Pebble's WAL files). Both systems run on it.
type timedFS struct {
	vfs.FS
	suffix string
	n      atomic.Uint64
	ns     atomic.Int64
}

func (fs *timedFS) wrap(f vfs.File, name string, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, fs.suffix) {
		return f, err
	}
	return &timedFile{File: f, fs: fs}, nil
}

func (fs *timedFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(f, name, err)
}

func (fs *timedFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(f, newname, err)
}

func (fs *timedFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(f, name, err)
}

func (fs *timedFS) record(start time.Time) {
	fs.n.Add(1)
	fs.ns.Add(int64(time.Since(start)))
}

// meanMicros is the mean sync latency since the counts n0, ns0.
func (fs *timedFS) meanMicros(n0 uint64, ns0 int64) float64 {
	n := fs.n.Load() - n0
	if n == 0 {
		return 0
	}
	return float64(fs.ns.Load()-ns0) / float64(n) / 1e3
}

type timedFile struct {
	vfs.File
	fs *timedFS
}

func (f *timedFile) Sync() error {
	defer f.fs.record(time.Now())
	return f.File.Sync()
}

func (f *timedFile) SyncData() error {
	defer f.fs.record(time.Now())
	return f.File.SyncData()
}

func (f *timedFile) SyncTo(length int64) (bool, error) {
	defer f.fs.record(time.Now())
	return f.File.SyncTo(length)
}

// benchSystem is one side of the comparison: commit makes commit number i
// (unique across the run) durable.
type benchSystem struct {
	name   string
	commit func(i uint64) error
	// elapsed, commits and lat accumulate over the system's rounds; rates
	// has each round's commits per second.
	elapsed time.Duration
	commits uint64
	lat     []time.Duration
	rates   []float64
}

// round makes n commits with c committers, numbered from *next.
func (s *benchSystem) round(b *testing.B, c, n int, next *uint64) {
	var (
		wg     sync.WaitGroup
		taken  atomic.Int64
		mu     sync.Mutex
		errOne error
	)
	lats := make([][]time.Duration, c)
	base := *next
	start := time.Now()
	for g := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := taken.Add(1) - 1
				if k >= int64(n) {
					return
				}
				t0 := time.Now()
				if err := s.commit(base + uint64(k)); err != nil {
					mu.Lock()
					errOne = err
					mu.Unlock()
					return
				}
				lats[g] = append(lats[g], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	s.elapsed += d
	s.rates = append(s.rates, float64(n)/d.Seconds())
	if errOne != nil {
		b.Fatalf("%s: %v", s.name, errOne)
	}
	*next += uint64(n)
	s.commits += uint64(n)
	for _, l := range lats {
		s.lat = append(s.lat, l...)
	}
}

func (s *benchSystem) report(b *testing.B, bytesPerCommit int) float64 {
	rate := float64(s.commits) / s.elapsed.Seconds()
	b.ReportMetric(rate, s.name+"-commits/s")
	b.ReportMetric(rate*float64(bytesPerCommit)/1e6, s.name+"-MB/s")
	slices.Sort(s.lat)
	q := func(p float64) float64 {
		return float64(s.lat[min(len(s.lat)-1, int(p*float64(len(s.lat))))].Microseconds())
	}
	b.ReportMetric(q(0.50), s.name+"-p50-µs")
	b.ReportMetric(q(0.99), s.name+"-p99-µs")
	return rate
}

// benchKey is the key of commit i: unique, in roughly ascending order per
// committer, as message IDs would be.
func benchKey(i uint64) []byte {
	k := make([]byte, 0, 16)
	k = append(k, "msg/"...)
	return binary.BigEndian.AppendUint64(k, i)
}

func benchCommit(b *testing.B, cross bool, committers int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	values := make([]byte, 1<<20+benchBody)
	for i := range values {
		values[i] = byte(rng.Uint32())
	}
	body := func(i uint64) []byte { o := int(i*4099) % (1 << 20); return values[o : o+benchBody] }
	extra := func(i uint64) []byte { o := int(i*131) % (1 << 20); return values[o : o+benchExtra] }
	bytesPerCommit := benchBody + 16
	if cross {
		bytesPerCommit += benchExtra + 16
	}

	// Ours: the Set on the group log.
	ourSyncs := &timedFS{FS: vfs.Default, suffix: ".log"}
	root := b.TempDir()
	o := testOptions(ourSyncs, root)
	o.MemTableSize = 64 << 20
	o.CacheSize = 64 << 20
	o.CheckpointInterval = 0 // the default: the checkpointer runs as it would in production
	o.Durability = wal.Sync
	o.Logger = nil
	set, err := Open(o)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := set.Close(); err != nil {
			b.Error(err)
		}
	}()
	ours := &benchSystem{name: "biztier", commit: func(i uint64) error {
		tx := set.NewTxn()
		if err := tx.BatchOf(MessageBox).Set(benchKey(i), body(i), nil); err != nil {
			return err
		}
		if cross {
			if err := tx.BatchOf(Tracking).Set(benchKey(i), extra(i), nil); err != nil {
				return err
			}
		}
		_, err := tx.Commit(ctx)
		return err
	}}

	// The baseline: raw Pebble with its own WAL, one DB per store.
	theirSyncs := &timedFS{FS: vfs.Default, suffix: ".log"}
	pfs := theirSyncs
	openRaw := func(name string) *pebble.DB {
		db, err := pebble.Open(pfs.PathJoin(b.TempDir(), name), &pebble.Options{
			FS:                 pfs,
			MemTableSize:       64 << 20,
			FormatMajorVersion: pebbleFormat,
			Logger:             quietLogger{},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := db.Close(); err != nil {
				b.Error(err)
			}
		})
		return db
	}
	rawA := openRaw("messagebox")
	var rawB *pebble.DB
	if cross {
		rawB = openRaw("tracking")
	}
	theirs := &benchSystem{name: "pebble", commit: func(i uint64) error {
		if err := rawA.Set(benchKey(i), body(i), pebble.Sync); err != nil {
			return err
		}
		if cross {
			return rawB.Set(benchKey(i), extra(i), pebble.Sync)
		}
		return nil
	}}

	// Warm up both (file creation, first memtable), untimed.
	var next uint64 = 1 << 40
	ours.round(b, committers, 2*committers, &next)
	theirs.round(b, committers, 2*committers, &next)
	*ours, *theirs = benchSystem{name: ours.name, commit: ours.commit}, benchSystem{name: theirs.name, commit: theirs.commit}
	st0 := set.Stats().Log
	ourSyncs0, theirSyncs0 := ourSyncs.n.Load(), theirSyncs.n.Load()
	ourNs0, theirNs0 := ourSyncs.ns.Load(), theirSyncs.ns.Load()

	// Rounds: up to 32 per system, so that each system's time is spread
	// over the whole run; each round at least 8 commits per committer, so
	// that the committers' start and end of a round weigh little.
	per := max(b.N/32, 8*committers)
	b.ReportAllocs()
	b.ResetTimer()
	next = 0
	for done, r := 0, 0; done < b.N; r++ {
		n := min(per, b.N-done)
		if r%2 == 0 {
			ours.round(b, committers, n, &next)
			theirs.round(b, committers, n, &next)
		} else {
			theirs.round(b, committers, n, &next)
			ours.round(b, committers, n, &next)
		}
		done += n
	}
	b.StopTimer()

	st := set.Stats().Log
	ourRate := ours.report(b, bytesPerCommit)
	theirRate := theirs.report(b, bytesPerCommit)
	// Round r of each system ran next to the other's round r: the median of
	// their ratios is robust to the disk's stalls (a 100 ms stall is a
	// quarter of a round), which land in one system's round at random.
	paired := make([]float64, len(ours.rates))
	for r := range paired {
		paired[r] = ours.rates[r] / theirs.rates[r]
	}
	slices.Sort(paired)
	b.ReportMetric(paired[len(paired)/2], "ratio")
	b.ReportMetric(ourRate/theirRate, "ratio-total")
	fsyncs := float64(st.Fsyncs - st0.Fsyncs)
	b.ReportMetric(fsyncs/float64(ours.commits), "biztier-fsyncs/commit")
	b.ReportMetric(float64(st.Frames-st0.Frames)/max(fsyncs, 1), "biztier-frames/fsync")
	b.ReportMetric(float64(theirSyncs.n.Load()-theirSyncs0)/float64(theirs.commits), "pebble-fsyncs/commit")
	b.ReportMetric(ourSyncs.meanMicros(ourSyncs0, ourNs0), "biztier-fsync-µs")
	b.ReportMetric(theirSyncs.meanMicros(theirSyncs0, theirNs0), "pebble-fsync-µs")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
	if got := ourSyncs.n.Load() - ourSyncs0; got < st.Fsyncs-st0.Fsyncs {
		b.Errorf("the vfs counted %d log syncs, the log %d", got, st.Fsyncs-st0.Fsyncs)
	}
}

// BenchmarkCommitReplay measures recovery: Open of a Set whose stores are
// empty over a log of BIZTIER_REPLAY_MB MiB (default 256; the goal is
// stated for 1024) of cross-store transactions (2 KiB to the MessageBox,
// 200 bytes to Tracking), so that Open replays the whole log. The log is
// written once, untimed, straight through the wal package; each iteration
// starts from empty stores. Reported:
//
//	replay-MB/s   log bytes replayed per second of replay (Set.Stats ReplayBytes/ReplayTime); goal >= 200
//	open-MB/s     log bytes per second of the whole Open (recovery's scan of the log included)
//
// The log is read from the page cache (it was just written), as after a
// process crash; after a machine crash the first read comes from the disk.
// Two logs: live, where every message is still stored at the end (the
// tables Open must write bound it by the disk's write rate), and flow,
// where each message is completed 1,024 commits after its publish, as in
// a MessageBox at work (see writeReplayLog).
//
//	go test -run '^$' -bench 'CommitReplay' -benchtime 3x ./internal/store/
//	BIZTIER_REPLAY_MB=1024 go test -run '^$' -bench 'CommitReplay' -benchtime 1x -timeout 30m ./internal/store/
func BenchmarkCommitReplay(b *testing.B) {
	if testing.Short() {
		b.Skip("writes a large log")
	}
	mb := 256
	if s := os.Getenv("BIZTIER_REPLAY_MB"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("BIZTIER_REPLAY_MB: %v", err)
		}
		mb = v
	}
	for _, flow := range []bool{false, true} {
		name := "live"
		if flow {
			name = "flow"
		}
		b.Run(name, func(b *testing.B) { benchReplay(b, int64(mb)<<20, flow) })
	}
}

func benchReplay(b *testing.B, size int64, flow bool) {
	root := b.TempDir()
	fs := vfs.Default
	o := testOptions(fs, root)
	o.MemTableSize = 64 << 20
	o.CacheSize = 64 << 20
	o.Logger = nil
	logBytes := writeReplayLog(b, o, size, flow)

	b.ResetTimer()
	var replayBytes uint64
	var replayTime, openTime time.Duration
	for b.Loop() {
		b.StopTimer()
		for _, id := range All {
			if err := fs.RemoveAll(o.Dirs[id]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		s, err := Open(o)
		if err != nil {
			b.Fatal(err)
		}
		openTime += time.Since(start)
		b.StopTimer()
		st := s.Stats()
		replayBytes += st.ReplayBytes
		replayTime += st.ReplayTime
		if st.ReplayBytes < uint64(logBytes)*9/10 {
			b.Fatalf("replayed %d bytes of a %d-byte log", st.ReplayBytes, logBytes)
		}
		// Leave without the final checkpoint, which would truncate the log.
		s.closed.Store(true)
		s.cancel()
		s.wg.Wait()
		err = errors.Join(s.log.Close(), s.closeDBs())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(replayBytes)/1e6/replayTime.Seconds(), "replay-MB/s")
	b.ReportMetric(float64(replayBytes)/1e6/openTime.Seconds(), "open-MB/s")
	b.ReportMetric(float64(logBytes)/(1<<20), "log-MiB")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
}

// flowLag is how many commits after its publish a flow log's message is
// completed.
const flowLag = 1024

// writeReplayLog writes size bytes of commit frames to o's log directory,
// through the wal package alone (so no store has applied them), and returns
// the log's size.
//
// With flow set, each commit also deletes the message of the commit
// flowLag before it, as a MessageBox at work completes what it published:
// most of such a log is gone again by its end. Without it every message
// stays, the worst case, which writes the whole log out as tables.
func writeReplayLog(b *testing.B, o *Options, size int64, flow bool) int64 {
	mem, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: quietLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer mem.Close()
	l, err := wal.Open(o.WALDir, &wal.Options{FS: o.FS, Durability: wal.NoSync})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	value := make([]byte, benchBody)
	var payload []byte
	for i := uint64(0); l.Stats().BytesWritten < uint64(size); i++ {
		for j := range value {
			value[j] = byte(rng.Uint32())
		}
		mb, tr := mem.NewBatch(), mem.NewBatch()
		_ = mb.Set(benchKey(i), value, nil)
		if flow && i >= flowLag {
			_ = mb.Delete(benchKey(i-flowLag), nil)
		}
		_ = tr.Set(benchKey(i), value[:benchExtra], nil)
		payload = wal.EncodeRecords(payload[:0], []wal.Record{
			{Store: uint8(MessageBox), Data: mb.Repr()},
			{Store: uint8(Tracking), Data: tr.Repr()},
		})
		_ = mb.Close()
		_ = tr.Close()
		if _, err := l.Commit(context.Background(), wal.TypeCommit, payload); err != nil {
			b.Fatal(err)
		}
	}
	n := int64(l.Stats().BytesWritten)
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	return n
}
