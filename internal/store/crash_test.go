package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/biztier/biztier/internal/crashtest"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// Keys of the crash workload. A transaction writes txKey in each store of
// its mask (2 or 3 of the 6), with the mask and padding as the value, and
// moves its committer's lastKey in each of those stores to its seq.
func txKey(id crashtest.TxnID) []byte {
	return fmt.Appendf(nil, "tx/%d/%02d/%08d", id.Gen, id.Committer, id.Seq)
}

func lastKey(gen, committer uint8) []byte { return fmt.Appendf(nil, "last/%d/%02d", gen, committer) }

func txValue(id crashtest.TxnID, mask uint8, store ID, pad int) []byte {
	v := make([]byte, 1, 1+pad)
	v[0] = mask
	for i := range pad {
		v = append(v, byte(i*7+int(store)+int(id.Seq)))
	}
	return v
}

func parseTxKey(k []byte) (crashtest.TxnID, bool) {
	var gen, c, seq uint32
	if _, err := fmt.Sscanf(string(k), "tx/%d/%d/%d", &gen, &c, &seq); err != nil {
		return crashtest.TxnID{}, false
	}
	return crashtest.TxnID{Gen: uint8(gen), Committer: uint8(c), Seq: seq}, true
}

// randomMask picks 2 or 3 distinct stores of 6 (bit id-1 for store id).
func randomMask(rng *rand.Rand) uint8 {
	var mask uint8
	for n := 2 + rng.IntN(2); n > 0; {
		bit := uint8(1) << rng.IntN(6)
		if mask&bit == 0 {
			mask |= bit
			n--
		}
	}
	return mask
}

func maskIDs(mask uint8) []ID {
	var ids []ID
	for _, id := range All {
		if mask&(1<<(id-1)) != 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// commitCrashTxn commits one transaction of the crash workload.
func commitCrashTxn(ctx context.Context, s *Set, id crashtest.TxnID, mask uint8, rng *rand.Rand) error {
	tx := s.NewTxn()
	defer tx.Abort()
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], uint64(id.Seq))
	for _, sid := range maskIDs(mask) {
		pad := rng.IntN(400)
		if rng.IntN(40) == 0 {
			pad = 8<<10 + rng.IntN(24<<10)
		}
		b := tx.BatchOf(sid)
		if err := b.Set(txKey(id), txValue(id, mask, sid, pad), nil); err != nil {
			return err
		}
		if err := b.Set(lastKey(id.Gen, id.Committer), seq[:], nil); err != nil {
			return err
		}
	}
	_, err := tx.Commit(ctx)
	return err
}

// crashClone is a file system captured as a crash would leave it, with the
// transactions acknowledged before it was taken.
type crashClone struct {
	fs       *vfs.MemFS
	mustHave map[crashtest.TxnID]uint8
	pct      int
	at       string
}

// crashRun records acknowledgements and takes crash clones: when the ack
// count reaches the next of cloneAt (taken by the committer whose ack got
// there, while the others keep going), and just before the log's sync
// number reaches the next of syncAt (when a written group is not yet
// durable). The set a clone must hold is snapshotted before CrashClone
// starts; acks recorded after that may or may not be in the clone. When the
// ack count reaches the next of ckptAt, a checkpoint is started in the
// background.
type crashRun struct {
	mem     *vfs.MemFS
	rng     *rand.Rand
	cloneAt []int
	syncAt  []int
	ckptAt  []int
	ckpt    chan struct{}

	mu    sync.Mutex
	acked map[crashtest.TxnID]uint8

	// cloneMu guards rng, the next* counters, syncs and clones.
	cloneMu                     sync.Mutex
	nextClone, nextSync, nextCk int
	syncs                       int
	clones                      []crashClone
}

func (r *crashRun) add(id crashtest.TxnID, mask uint8) {
	r.mu.Lock()
	r.acked[id] = mask
	n := len(r.acked)
	r.mu.Unlock()
	r.cloneMu.Lock()
	defer r.cloneMu.Unlock()
	for r.nextClone < len(r.cloneAt) && n >= r.cloneAt[r.nextClone] {
		r.nextClone++
		r.cloneLocked("ack")
	}
	for r.nextCk < len(r.ckptAt) && n >= r.ckptAt[r.nextCk] {
		r.nextCk++
		select {
		case r.ckpt <- struct{}{}:
		default:
		}
	}
}

func (r *crashRun) cloneLocked(at string) {
	r.mu.Lock()
	mustHave := maps.Clone(r.acked)
	r.mu.Unlock()
	pct := r.rng.IntN(101)
	fs := r.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(r.rng.Uint64(), 0))})
	r.clones = append(r.clones, crashClone{fs: fs, mustHave: mustHave, pct: pct, at: at})
}

// beforeLogSync is an errorfs injector that never fails; it takes the
// clones at syncAt.
func (r *crashRun) beforeLogSync(walDir string) errorfs.Injector {
	return errorfs.InjectorFunc(func(op errorfs.Op) error {
		if (op.Kind != errorfs.OpFileSyncData && op.Kind != errorfs.OpFileSync) || !strings.HasPrefix(op.Path, walDir+"/") {
			return nil
		}
		r.cloneMu.Lock()
		defer r.cloneMu.Unlock()
		r.syncs++
		for r.nextSync < len(r.syncAt) && r.syncs >= r.syncAt[r.nextSync] {
			r.nextSync++
			r.cloneLocked("sync")
		}
		return nil
	})
}

// randomThresholds picks k counts in [1, n], sorted.
func randomThresholds(rng *rand.Rand, k, n int) []int {
	th := make([]int, k)
	for i := range th {
		th[i] = 1 + rng.IntN(max(n, 1))
	}
	slices.Sort(th)
	return th
}

// verifyCrashSet reads every store of s and returns the transactions
// present. It checks that each is whole (present in exactly the stores of
// its mask, with the bytes written), that each committer's transactions
// form a prefix with no hole, and that each store's last key for a committer
// names the highest of its transactions the store holds: every store is an
// exact prefix of the log.
func verifyCrashSet(t *testing.T, s *Set) map[crashtest.TxnID]uint8 {
	t.Helper()
	present := map[crashtest.TxnID]uint8{}
	seen := map[crashtest.TxnID]uint8{}
	type gc = [2]uint8
	for _, sid := range All {
		bit := uint8(1) << (sid - 1)
		maxSeq := map[gc]uint32{}
		it, err := s.DB(sid).NewIter(&pebble.IterOptions{LowerBound: []byte("tx/"), UpperBound: []byte("tx0")})
		require.NoError(t, err)
		for valid := it.First(); valid; valid = it.Next() {
			id, ok := parseTxKey(it.Key())
			require.True(t, ok, "%s: bad key %q", sid, it.Key())
			v := it.Value()
			require.NotEmpty(t, v)
			mask := v[0]
			require.NotZero(t, mask&bit, "%s holds %v, which does not touch it", sid, id)
			require.True(t, bytes.Equal(txValue(id, mask, sid, len(v)-1), v), "%s: %v value damaged", sid, id)
			if m, ok := present[id]; ok {
				require.Equal(t, m, mask, "%v: stores disagree on its mask", id)
			}
			present[id] = mask
			seen[id] |= bit
			k := gc{id.Gen, id.Committer}
			maxSeq[k] = max(maxSeq[k], id.Seq)
		}
		require.NoError(t, it.Close())

		it, err = s.DB(sid).NewIter(&pebble.IterOptions{LowerBound: []byte("last/"), UpperBound: []byte("last0")})
		require.NoError(t, err)
		lasts := map[gc]uint32{}
		for valid := it.First(); valid; valid = it.Next() {
			var gen, c uint32
			_, err := fmt.Sscanf(string(it.Key()), "last/%d/%d", &gen, &c)
			require.NoError(t, err)
			require.Len(t, it.Value(), 8)
			lasts[gc{uint8(gen), uint8(c)}] = uint32(binary.BigEndian.Uint64(it.Value()))
		}
		require.NoError(t, it.Close())
		require.Equal(t, maxSeq, lasts, "%s: last keys do not match the txns it holds (not a log prefix)", sid)
	}
	for id, mask := range present {
		require.Equal(t, mask, seen[id], "txn %v half applied: in stores %06b of %06b", id, seen[id], mask)
	}
	checkPrefixes(t, present)
	return present
}

func checkPrefixes(t *testing.T, present map[crashtest.TxnID]uint8) {
	t.Helper()
	maxSeq := map[[2]uint8]uint32{}
	count := map[[2]uint8]uint32{}
	for id := range present {
		k := [2]uint8{id.Gen, id.Committer}
		maxSeq[k] = max(maxSeq[k], id.Seq)
		count[k]++
	}
	for k, m := range maxSeq {
		require.Equal(t, m, count[k], "gen %d committer %d: %d txns present but the highest seq is %d (a hole)", k[0], k[1], count[k], m)
	}
}

func checkAcked(t *testing.T, mustHave, present map[crashtest.TxnID]uint8) {
	t.Helper()
	for id, mask := range mustHave {
		got, ok := present[id]
		require.True(t, ok, "acknowledged txn %v lost", id)
		require.Equal(t, mask, got, "txn %v", id)
	}
}

// TestCrash_Set runs random transactions across 2-3 of the six stores from
// concurrent committers, with checkpoints (flush and log truncation) at
// random points, on a crashable MemFS. Crash clones are taken at random
// acknowledgement counts and just before random log syncs, keeping a random
// share of unsynced data (Pebble's files included). Each clone must reopen
// with every transaction acknowledged before the clone present in every
// store it touched, no transaction half applied, and every store an exact
// prefix of the log. One clone per generation becomes the next
// generation's disk.
func TestCrash_Set(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d (replay with BIZTIER_CRASH_SEED=%d)", seed, seed)
			crashSet(t, seed)
		})
	}
}

func crashSet(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0))
	segSizes := []int64{32 << 10, 128 << 10, 1 << 20}
	segSize := segSizes[rng.IntN(len(segSizes))]
	options := func(fs vfs.FS) *Options {
		o := testOptions(fs, "g")
		o.SegmentSize = segSize
		return o
	}
	mem := vfs.NewCrashableMem()
	var mustHave map[crashtest.TxnID]uint8
	const gens = 2
	for gen := range uint8(gens) {
		committers := 1 + rng.IntN(8)
		n := (600 + rng.IntN(600)) / committers * committers
		run := &crashRun{
			mem:     mem,
			rng:     rand.New(rand.NewPCG(seed, uint64(gen)<<8|0xFF)),
			cloneAt: randomThresholds(rng, 3, n),
			syncAt:  randomThresholds(rng, 2, n/committers),
			ckptAt:  randomThresholds(rng, 1+rng.IntN(4), n),
			ckpt:    make(chan struct{}, 8),
			acked:   map[crashtest.TxnID]uint8{},
		}
		s := openSet(t, options(errorfs.Wrap(mem, run.beforeLogSync("g/wal"))))
		present := verifyCrashSet(t, s)
		checkAcked(t, mustHave, present)
		t.Logf("gen %d: segment size %d, %d txns from %d committers, clones at acks %v and syncs %v, checkpoints at %v",
			gen, segSize, n, committers, run.cloneAt, run.syncAt, run.ckptAt)

		ckptDone := make(chan error, 1)
		go func() {
			var err error
			for range run.ckpt {
				if err == nil {
					err = s.Checkpoint(context.Background())
				}
			}
			ckptDone <- err
		}()
		var (
			wg       sync.WaitGroup
			errMu    sync.Mutex
			firstErr error
		)
		for c := range committers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				crng := rand.New(rand.NewPCG(seed, uint64(gen)<<8|uint64(c)))
				for q := 1; q <= n/committers; q++ {
					id := crashtest.TxnID{Gen: gen, Committer: uint8(c), Seq: uint32(q)}
					mask := randomMask(crng)
					if err := commitCrashTxn(context.Background(), s, id, mask, crng); err != nil {
						errMu.Lock()
						firstErr = cmp.Or(firstErr, fmt.Errorf("commit %v: %w", id, err))
						errMu.Unlock()
						return
					}
					run.add(id, mask)
				}
			}()
		}
		wg.Wait()
		close(run.ckpt)
		require.NoError(t, firstErr)
		require.NoError(t, <-ckptDone)
		st := s.Stats()
		require.NoError(t, s.Close())
		t.Logf("gen %d: %d checkpoints, %d segments truncated, %d frames in %d groups",
			gen, st.Checkpoints, st.Log.SegmentsTruncated, st.Log.Frames, st.Log.Groups)

		// A cleanly closed set holds everything acknowledged.
		s = openSet(t, options(mem))
		final := verifyCrashSet(t, s)
		require.NoError(t, s.Close())
		require.Len(t, final, len(present)+n)

		for i, c := range run.clones {
			s := openSet(t, options(c.fs))
			got := verifyCrashSet(t, s)
			checkAcked(t, mustHave, got)
			checkAcked(t, c.mustHave, got)
			t.Logf("gen %d clone %d (at %s, unsynced kept %d%%): %d acked before the clone, %d present, replayed %d frames, torn tails %d",
				gen, i, c.at, c.pct, len(c.mustHave), len(got)-len(present), s.Stats().ReplayFrames, s.Stats().Log.TornTails)
			require.NoError(t, s.Close())
		}
		next := run.clones[rng.IntN(len(run.clones))]
		mem = next.fs
		s = openSet(t, options(mem))
		mustHave = verifyCrashSet(t, s)
		require.NoError(t, s.Close())
	}
}
