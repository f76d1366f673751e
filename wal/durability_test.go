package wal

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/biztier/biztier/internal/crashtest"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// syncCloner is an errorfs injector that never fails: just before each
// sync of a segment file it takes a crash clone of mem, keeping a random
// share of the unsynced data, and notes the LSN acknowledged so far. A clone
// so taken holds a group written but not yet durable: a power cut during
// that fsync.
type syncCloner struct {
	mem   *vfs.MemFS
	acked *atomic.Uint64

	// mu guards rng and clones.
	mu     sync.Mutex
	rng    *rand.Rand
	clones []syncClone
}

type syncClone struct {
	fs    *vfs.MemFS
	acked uint64
	pct   int
}

func (c *syncCloner) MaybeError(op errorfs.Op) error {
	if (op.Kind != errorfs.OpFileSyncData && op.Kind != errorfs.OpFileSync) || !strings.HasSuffix(op.Path, segSuffix) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	acked := c.acked.Load()
	pct := c.rng.IntN(101)
	fs := c.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(c.rng.Uint64(), 1))})
	c.clones = append(c.clones, syncClone{fs: fs, acked: acked, pct: pct})
	return nil
}

func (c *syncCloner) String() string { return "syncCloner" }

// TestCrash_FollowerPowerCutDuringSync appends a leader's frames to a
// follower in groups and cuts the power (a crash clone) just before each of
// the follower's own fsyncs. Every clone must open, hold every frame Append
// had acknowledged, and hold exactly the leader's frames (same LSN and
// checksum) up to its end: the follower recovers by the same rule as the
// leader, from what its own file had synced.
func TestCrash_FollowerPowerCutDuringSync(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			leader := openTest(t, vfs.NewMem(), Options{})
			var want []*Frame
			// One frame per group on the leader, so each frame's old-format
			// watermark named the frame before it.
			for i := range 400 {
				lsn, err := leader.Commit(context.Background(), TypeCommit, crashPayload(rng, i))
				require.NoError(t, err)
				require.Equal(t, uint64(i+1), lsn)
			}
			want = readAll(t, leader, 1)
			require.NoError(t, leader.Close())

			mem := vfs.NewCrashableMem()
			var acked atomic.Uint64
			cloner := &syncCloner{mem: mem, acked: &acked, rng: rand.New(rand.NewPCG(seed, 1))}
			f := openTest(t, errorfs.Wrap(mem, cloner), Options{SegmentSize: 16 << 10})
			f.SetFollower(errTestFence)
			require.NoError(t, f.TruncateAfter(context.Background(), 0))
			for next := 0; next < len(want); {
				n := min(len(want)-next, 1+rng.IntN(40))
				batch := make([]*Frame, n)
				for i := range batch {
					fr := *want[next+i]
					batch[i] = &fr
				}
				require.NoError(t, f.Append(context.Background(), batch))
				next += n
				acked.Store(uint64(next))
			}
			require.NoError(t, f.Close())
			t.Logf("seed %d: %d power cuts", seed, len(cloner.clones))
			require.Greater(t, len(cloner.clones), 20)
			for i, c := range cloner.clones {
				l, err := Open("wal", &Options{FS: c.fs, SegmentSize: 16 << 10})
				require.NoError(t, err, "power cut %d (unsynced kept %d%%, %d acknowledged)", i, c.pct, c.acked)
				got := readAll(t, l, 1)
				require.GreaterOrEqual(t, len(got), int(c.acked), "power cut %d: acknowledged frames lost", i)
				for j, fr := range got {
					require.Equal(t, want[j].LSN, fr.LSN)
					require.Equal(t, want[j].CRC, fr.CRC, "power cut %d: lsn %d", i, fr.LSN)
				}
				require.NoError(t, l.Close())
			}
		})
	}
}

// crashPayload is a commit payload of random size, now and then spanning
// MemFS's 4 KiB crash blocks.
func crashPayload(rng *rand.Rand, i int) []byte {
	n := 20 + rng.IntN(1500)
	if rng.IntN(20) == 0 {
		n = 4<<10 + rng.IntN(8<<10)
	}
	b := []byte(fmt.Sprintf("frame-%06d-", i))
	for len(b) < n {
		b = append(b, byte(len(b)*7+i))
	}
	return b
}

// frameOffset returns the offset of frame lsn in segment bytes b, walking
// its entries (frames and sync marks).
func frameOffset(t testing.TB, b []byte, lsn uint64) int {
	t.Helper()
	for off := segHeaderSize; off < len(b); {
		if _, err := decodeMark(b[off:]); err == nil {
			off += markSize
			continue
		}
		fr, n, err := DecodeFrame(b[off:], 1<<30)
		if err != nil {
			return -1
		}
		if fr.LSN == lsn {
			return off
		}
		off += n
	}
	return -1
}

// flipInFrame flips a bit in the payload of the frame at lsn in fs's log.
func flipInFrame(t *testing.T, fs vfs.FS, lsn uint64) {
	t.Helper()
	for _, path := range segmentFiles(t, fs) {
		found := false
		rewrite(t, fs, path, func(b []byte) []byte {
			if off := frameOffset(t, b, lsn); off >= 0 {
				b[off+frameHeaderSize] ^= 0x04
				found = true
			}
			return b
		})
		if found {
			return
		}
	}
	t.Fatalf("frame %d not found", lsn)
}

// TestRecovery_BitFlipAfterCleanClose: after a clean Close, damage to any
// acknowledged frame, even the last one, is corruption that Open reports,
// on a leader's log and on a follower's alike, never a torn tail cut
// silently.
func TestRecovery_BitFlipAfterCleanClose(t *testing.T) {
	leaderFS := vfs.NewMem()
	leader := openTest(t, leaderFS, Options{})
	commitFrames(t, leader, 10)
	frames := readAll(t, leader, 1)
	require.NoError(t, leader.Close())

	followerFS := vfs.NewMem()
	f := openTest(t, followerFS, Options{})
	f.SetFollower(errTestFence)
	require.NoError(t, f.TruncateAfter(context.Background(), 0))
	require.NoError(t, f.Append(context.Background(), frames))
	require.NoError(t, f.Close())

	for name, fs := range map[string]vfs.FS{"leader": leaderFS, "follower": followerFS} {
		for _, lsn := range []uint64{1, 5, 10} {
			t.Run(fmt.Sprintf("%s/lsn=%d", name, lsn), func(t *testing.T) {
				damaged := vfs.NewMem()
				copyFS(t, fs, damaged)
				flipInFrame(t, damaged, lsn)
				_, err := Open("wal", &Options{FS: damaged})
				require.ErrorIs(t, err, ErrCorrupt)
			})
		}
	}
}

// copyFS copies the log directory "wal" of src into dst.
func copyFS(t *testing.T, src, dst vfs.FS) {
	t.Helper()
	require.NoError(t, dst.MkdirAll("wal", 0o755))
	names, err := src.List("wal")
	require.NoError(t, err)
	for _, n := range names {
		if n == "LOCK" {
			continue
		}
		require.NoError(t, vfs.CopyAcrossFS(src, "wal/"+n, dst, "wal/"+n))
	}
}

// TestCrash_NoSync commits under NoSync, calling Sync now and then, and
// crashes at random points. Every crash must leave a log that opens and
// holds every commit acknowledged before the last Sync that returned, and a
// dense prefix of what was committed: a NoSync crash loses only recent
// commits.
func TestCrash_NoSync(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0))
			mem := vfs.NewCrashableMem()
			l := openTest(t, mem, Options{Durability: NoSync, SegmentSize: 32 << 10})
			type crash struct {
				fs     *vfs.MemFS
				synced uint64
				pct    int
			}
			var (
				crashes []crash
				synced  uint64
				payload = map[uint64][]byte{}
			)
			for i := range 600 {
				p := crashPayload(rng, i)
				lsn, err := l.Commit(context.Background(), TypeCommit, p)
				require.NoError(t, err)
				payload[lsn] = p
				if rng.IntN(40) == 0 {
					require.NoError(t, l.Sync(context.Background()))
					synced = lsn
				}
				if rng.IntN(12) == 0 {
					pct := rng.IntN(101)
					fs := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(rng.Uint64(), 2))})
					crashes = append(crashes, crash{fs: fs, synced: synced, pct: pct})
				}
			}
			require.NoError(t, l.Close())
			t.Logf("seed %d: %d crashes", seed, len(crashes))
			for i, c := range crashes {
				l, err := Open("wal", &Options{FS: c.fs, SegmentSize: 32 << 10})
				require.NoError(t, err, "crash %d (unsynced kept %d%%)", i, c.pct)
				got := readAll(t, l, 1)
				n := 0
				for _, fr := range got {
					if fr.Type == TypeCommit {
						require.Equal(t, payload[fr.LSN], fr.Payload, "crash %d: lsn %d", i, fr.LSN)
						n++
					}
				}
				require.GreaterOrEqual(t, uint64(len(got)), c.synced, "crash %d: commits before the last Sync lost", i)
				require.NoError(t, l.Close())
			}
		})
	}
}

// TestLog_ConcurrentClose: two Close calls at once are safe; each returns
// once the log is closed, and the log reopens with every commit.
func TestLog_ConcurrentClose(t *testing.T) {
	for i := range 20 {
		fs := vfs.NewMem()
		l := openTest(t, fs, Options{})
		commitFrames(t, l, 5)
		start := make(chan struct{})
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				<-start
				errs <- l.Close()
			}()
		}
		close(start)
		require.NoError(t, <-errs, "round %d", i)
		require.NoError(t, <-errs, "round %d", i)
		l = openTest(t, fs, Options{})
		require.GreaterOrEqual(t, l.DurableLSN(), uint64(5))
		require.NoError(t, l.Close())
	}
}

// TestLog_CloseNeverRetriesFailedSync: once an fdatasync of the log has
// failed, nothing syncs the log again, Close included: after a failed
// fsync the kernel may have dropped the pages, and a retry could report
// success for data that never reached the disk.
func TestLog_CloseNeverRetriesFailedSync(t *testing.T) {
	for _, tc := range []struct {
		name       string
		durability Durability
		commitFail bool // a commit's sync fails, else Close's own
	}{
		{"sync/commit", Sync, true},
		{"sync/close", Sync, false},
		{"nosync/close", NoSync, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var syncs, failAt atomic.Int64
			failAt.Store(-1)
			fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
				if op.Kind != errorfs.OpFileSync && op.Kind != errorfs.OpFileSyncData {
					return nil
				}
				if n := syncs.Add(1); n == failAt.Load() {
					return errorfs.ErrInjected
				}
				return nil
			}))
			l := openTest(t, fs, Options{Durability: tc.durability})
			commitFrames(t, l, 3)
			failAt.Store(syncs.Load() + 1)
			if tc.commitFail {
				_, err := l.Commit(context.Background(), TypeCommit, []byte("fails"))
				require.ErrorIs(t, err, ErrFailed)
			}
			err := l.Close()
			if !tc.commitFail {
				require.True(t, isInjected(err), "Close: %v", err)
			}
			require.Equal(t, failAt.Load(), syncs.Load(), "a sync was retried after the failed one")
		})
	}
}

// TestLog_CloseMarkIsLast closes a log while committers keep committing:
// whatever was acknowledged is covered by Close's final mark, so that a bit
// flip in the last acknowledged frame is reported as corruption on reopen,
// never cut as a torn tail.
func TestLog_CloseMarkIsLast(t *testing.T) {
	for round := range 10 {
		fs := vfs.NewMem()
		l := openTest(t, fs, Options{})
		var (
			wg      sync.WaitGroup
			highest atomic.Uint64
			started = make(chan struct{}, 4)
		)
		for c := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					lsn, err := l.Commit(context.Background(), TypeCommit, payload(c*100000+i))
					if err != nil {
						require.ErrorIs(t, err, ErrClosed)
						return
					}
					for {
						h := highest.Load()
						if lsn <= h || highest.CompareAndSwap(h, lsn) {
							break
						}
					}
					if i == 10 {
						started <- struct{}{}
					}
				}
			}()
		}
		for range 4 {
			<-started
		}
		require.NoError(t, l.Close())
		wg.Wait()
		last := highest.Load()
		damaged := vfs.NewMem()
		copyFS(t, fs, damaged)
		flipInFrame(t, damaged, last)
		_, err := Open("wal", &Options{FS: damaged})
		require.ErrorIs(t, err, ErrCorrupt, "round %d: acknowledged lsn %d damaged after a clean Close", round, last)
	}
}

// TestOpen_RefusesFormat1: a log written in format 1 (frames carrying the
// writer's durable LSN) is refused with ErrVersion, not taken for damage.
func TestOpen_RefusesFormat1(t *testing.T) {
	fs := vfs.NewMem()
	require.NoError(t, fs.MkdirAll("wal", 0o755))
	h := encodeSegHeader(1)
	binary.LittleEndian.PutUint32(h[8:], 1)
	binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], crcTable))
	writeFile(t, fs, "wal/"+segmentName(1), h)
	_, err := Open("wal", &Options{FS: fs})
	require.ErrorIs(t, err, ErrVersion)
	require.NotErrorIs(t, err, ErrCorrupt)

	f := Frame{Type: TypeCommit, LSN: 1, Epoch: 1, Payload: []byte("x")}
	b := EncodeFrame(nil, &f)
	b[2] = 1
	_, _, err = DecodeFrame(b, 1<<20)
	require.ErrorIs(t, err, ErrVersion)
}
