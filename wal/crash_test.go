package wal

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/biztier/biztier/internal/crashtest"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// crashTxnRecord is one store's part of a crash-test transaction: an 8-byte
// header naming the txn, the stores it touches and this store, then padding.
func crashTxnRecord(id crashtest.TxnID, mask uint8, store uint8, pad int) []byte {
	b := make([]byte, 8, 8+pad)
	b[0], b[1] = id.Gen, id.Committer
	binary.LittleEndian.PutUint32(b[2:], id.Seq)
	b[6], b[7] = mask, store
	for i := range pad {
		b = append(b, byte(i*7+int(store)))
	}
	return b
}

// crashTxnPayload builds the commit payload of a txn touching the stores in
// mask (bit s-1 for store s).
func crashTxnPayload(id crashtest.TxnID, mask uint8, rng *rand.Rand) []byte {
	var recs []Record
	for s := uint8(1); s <= 6; s++ {
		if mask&(1<<(s-1)) == 0 {
			continue
		}
		pad := rng.IntN(600)
		if rng.IntN(50) == 0 {
			pad = 4<<10 + rng.IntN(12<<10) // spans blocks and small segments
		}
		recs = append(recs, Record{Store: s, Data: crashTxnRecord(id, mask, s, pad)})
	}
	return EncodeRecords(nil, recs)
}

// randomMask picks 2 or 3 distinct stores of 6.
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

// ackSet records acknowledged transactions and takes the crash clones. A
// clone is taken by the committer whose acknowledgement brings the count to
// the next threshold, while the other committers keep going, so clones land
// at precise but random points of the load. The set the clone must hold is
// snapshotted before CrashClone starts; acks recorded after that may or may
// not be in the clone.
type ackSet struct {
	mem        *vfs.MemFS
	rng        *rand.Rand
	thresholds []int

	mu    sync.Mutex
	acked map[crashtest.TxnID]uint8

	// cloneMu guards rng, next and clones.
	cloneMu sync.Mutex
	next    int
	clones  []crashClone
}

func (a *ackSet) add(id crashtest.TxnID, mask uint8) {
	a.mu.Lock()
	a.acked[id] = mask
	n := len(a.acked)
	a.mu.Unlock()
	a.cloneMu.Lock()
	defer a.cloneMu.Unlock()
	for a.next < len(a.thresholds) && n >= a.thresholds[a.next] {
		a.next++
		a.cloneLocked("ack")
	}
}

func (a *ackSet) cloneLocked(at string) {
	a.mu.Lock()
	mustHave := maps.Clone(a.acked)
	a.mu.Unlock()
	pct := a.rng.IntN(101)
	fs := a.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(a.rng.Uint64(), 0))})
	a.clones = append(a.clones, crashClone{fs: fs, mustHave: mustHave, pct: pct, at: at})
}

// beforeSync is an errorfs injector that never fails: when the count of
// syncs reaches one of syncs (sorted), it takes a crash clone just before
// that sync starts, when a written group is on the file but not yet
// durable, so that clones also catch torn groups.
func (a *ackSet) beforeSync(syncs []int) errorfs.Injector {
	n, next := 0, 0
	return errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind != errorfs.OpFileSyncData && op.Kind != errorfs.OpFileSync {
			return nil
		}
		a.cloneMu.Lock()
		defer a.cloneMu.Unlock()
		n++
		for next < len(syncs) && n >= syncs[next] {
			next++
			a.cloneLocked("sync")
		}
		return nil
	})
}

// crashClone is a file system captured as a crash would leave it, with the
// transactions acknowledged before it was taken.
type crashClone struct {
	fs       *vfs.MemFS
	mustHave map[crashtest.TxnID]uint8
	pct      int
	at       string // "ack" or "sync"
}

func newAckSet(seed uint64, gen uint8, mem *vfs.MemFS, thresholds []int) *ackSet {
	return &ackSet{
		mem:        mem,
		rng:        rand.New(rand.NewPCG(seed, uint64(gen)<<8|0xFF)),
		thresholds: thresholds,
		acked:      make(map[crashtest.TxnID]uint8),
	}
}

// crashLoad runs committers concurrent committers, each committing its share
// of n transactions through commit, while acks takes crash clones each time
// the acknowledged count reaches one of its thresholds.
func crashLoad(t *testing.T, seed uint64, gen uint8, acks *ackSet, n, committers int,
	commit func(ctx context.Context, id crashtest.TxnID, mask uint8, rng *rand.Rand) error) []crashClone {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for c := range committers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(gen)<<8|uint64(c)))
			for s := 1; s <= n/committers; s++ {
				id := crashtest.TxnID{Gen: gen, Committer: uint8(c), Seq: uint32(s)}
				mask := randomMask(rng)
				if err := commit(context.Background(), id, mask, rng); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("commit %v: %w", id, err)
					}
					mu.Unlock()
					return
				}
				acks.add(id, mask)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, firstErr)
	require.Equal(t, len(acks.thresholds), acks.next)
	return acks.clones
}

// randomThresholds picks k ack counts in [1, n], sorted.
func randomThresholds(rng *rand.Rand, k, n int) []int {
	th := make([]int, k)
	for i := range th {
		th[i] = 1 + rng.IntN(n)
	}
	slices.Sort(th)
	return th
}

// checkPrefixes checks that, per (generation, committer), the transactions
// present are exactly seq 1..k for some k: a committer's later transaction
// is never durable without its earlier ones.
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

// checkAcked checks that every transaction acknowledged before the clone is
// present, touching the same stores.
func checkAcked(t *testing.T, mustHave, present map[crashtest.TxnID]uint8) {
	t.Helper()
	for id, mask := range mustHave {
		got, ok := present[id]
		require.True(t, ok, "acknowledged txn %v lost", id)
		require.Equal(t, mask, got, "txn %v", id)
	}
}

// verifyWALLog reads every frame of l and returns the transactions it
// holds, checking that each commit frame is whole: one record per store of
// its mask, all naming the same transaction.
func verifyWALLog(t *testing.T, l *Log) map[crashtest.TxnID]uint8 {
	t.Helper()
	present := make(map[crashtest.TxnID]uint8)
	frames := readAll(t, l, l.FirstLSN())
	want := l.FirstLSN()
	for _, f := range frames {
		require.Equal(t, want, f.LSN)
		want++
		if f.Type != TypeCommit {
			continue
		}
		recs, err := DecodeRecords(f.Payload)
		require.NoError(t, err, "lsn %d", f.LSN)
		require.NotEmpty(t, recs)
		var id crashtest.TxnID
		var mask, seen uint8
		for i, r := range recs {
			require.GreaterOrEqual(t, len(r.Data), 8, "lsn %d", f.LSN)
			rid := crashtest.TxnID{Gen: r.Data[0], Committer: r.Data[1], Seq: binary.LittleEndian.Uint32(r.Data[2:])}
			if i == 0 {
				id, mask = rid, r.Data[6]
			}
			require.Equal(t, id, rid, "lsn %d: records of different txns in one frame", f.LSN)
			require.Equal(t, r.Store, r.Data[7], "lsn %d", f.LSN)
			require.Equal(t, mask, r.Data[6], "lsn %d", f.LSN)
			seen |= 1 << (r.Store - 1)
			require.Equal(t, crashTxnRecord(rid, mask, r.Store, len(r.Data)-8), r.Data, "lsn %d: record bytes", f.LSN)
		}
		require.Equal(t, mask, seen, "lsn %d: txn %v half present", f.LSN, id)
		_, dup := present[id]
		require.False(t, dup, "txn %v twice in the log", id)
		present[id] = mask
	}
	require.Equal(t, l.DurableLSN(), want-1)
	return present
}

// TestCrash_Log runs random multi-store transactions from concurrent
// committers on a crashable MemFS, takes crash clones at random moments
// (keeping a random share of the unsynced data), and checks that each clone
// recovers with every transaction acknowledged before the clone, whole, and
// no committer's transactions with holes. One clone of each generation is
// carried on as the next generation's disk, so recovery also runs over logs
// that were themselves recovered.
func TestCrash_Log(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d (replay with BIZTIER_CRASH_SEED=%d)", seed, seed)
			crashLog(t, seed)
		})
	}
}

func crashLog(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0))
	segSizes := []int64{4 << 10, 16 << 10, 64 << 10, 1 << 20}
	o := Options{SegmentSize: segSizes[rng.IntN(len(segSizes))], Durability: Sync}
	mem := vfs.NewCrashableMem()
	var mustHave map[crashtest.TxnID]uint8
	const gens = 3
	for gen := range uint8(gens) {
		// Apply sees every group once, in LSN order, dense.
		var lastApplied uint64
		o.Apply = func(frames []*Frame) error {
			for _, f := range frames {
				if lastApplied != 0 && f.LSN != lastApplied+1 {
					return fmt.Errorf("apply: lsn %d after %d", f.LSN, lastApplied)
				}
				lastApplied = f.LSN
			}
			return nil
		}
		committers := 1 + rng.IntN(8)
		n := (600 + rng.IntN(600)) / committers * committers
		th := randomThresholds(rng, 3, n)
		acks := newAckSet(seed, gen, mem, th)
		// Three more clones are taken just before random syncs (there is at
		// least one per n/committers txns).
		l := openTest(t, errorfs.Wrap(mem, acks.beforeSync(randomThresholds(rng, 3, n/committers))), o)
		present := verifyWALLog(t, l)
		checkAcked(t, mustHave, present)
		lastApplied = l.AppliedLSN()
		t.Logf("gen %d: segment size %d, %d txns from %d committers, clones at acks %v", gen, o.SegmentSize, n, committers, th)
		clones := crashLoad(t, seed, gen, acks, n, committers, func(ctx context.Context, id crashtest.TxnID, mask uint8, rng *rand.Rand) error {
			_, err := l.Commit(ctx, TypeCommit, crashTxnPayload(id, mask, rng))
			return err
		})
		require.NoError(t, l.Close())
		// A cleanly closed log holds everything acknowledged.
		l = openTest(t, mem, Options{SegmentSize: o.SegmentSize})
		final := verifyWALLog(t, l)
		require.Zero(t, l.Stats().TornTails, "a clean close leaves no torn tail")
		require.NoError(t, l.Close())
		require.GreaterOrEqual(t, len(final), len(present)+n/committers*committers)

		for i, c := range clones {
			l := openTest(t, c.fs, Options{SegmentSize: o.SegmentSize})
			got := verifyWALLog(t, l)
			checkAcked(t, mustHave, got)
			checkAcked(t, c.mustHave, got)
			checkPrefixes(t, got)
			t.Logf("gen %d clone %d (at %s, unsynced kept %d%%): %d acked before the clone, %d present, torn tails %d",
				gen, i, c.at, c.pct, len(c.mustHave), len(got)-len(present), l.Stats().TornTails)
			// The recovered log takes new commits after the recovered end.
			lsn, err := l.Commit(context.Background(), TypeNoop, nil)
			require.NoError(t, err)
			require.Equal(t, l.DurableLSN(), lsn)
			require.NoError(t, l.Close())
		}
		// The next generation runs on one of the clones, as a process
		// restarted after the crash would.
		next := clones[rng.IntN(len(clones))]
		mem = next.fs
		l = openTest(t, mem, Options{SegmentSize: o.SegmentSize})
		mustHave = verifyWALLog(t, l)
		require.NoError(t, l.Close())
	}
}
