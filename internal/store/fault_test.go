package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/biztier/biztier/internal/crashtest"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// isInjected reports whether err carries an error injected by errorfs.
// (errors.Is(err, errorfs.ErrInjected) does not hold: the injected value
// carries its predicate.)
func isInjected(err error) bool {
	var le errorfs.LabelledError
	return errors.As(err, &le)
}

// faultIndices returns where the fault loops start and how far they step:
// every index normally; under the race detector, which makes each Open of
// six Pebble DBs several times slower, every third one from a random start
// (logged).
func faultIndices(t *testing.T) (start, stride int32) {
	if !crashtest.RaceEnabled {
		return 0, 1
	}
	start = int32(time.Now().UnixNano() % 3)
	t.Logf("race detector on: fault indices %d, %d+3, ...", start, start)
	return start, 3
}

// under is an errorfs predicate matching operations on path prefix and
// below it.
type under string

func (p under) String() string { return fmt.Sprintf("(Under %q)", string(p)) }
func (p under) Evaluate(op errorfs.Op) bool {
	return op.Path == string(p) || strings.HasPrefix(op.Path, string(p)+"/")
}

// notFatalToPebble is an errorfs predicate matching every operation except
// the ones Pebble treats as fatal by design: writes to its MANIFEST and the
// marker files that point at it, and syncs of a store's directory (a marker
// move). Pebble reports those through Logger.Fatalf from whichever of its
// goroutines hit them (pebble's own TestErrors expects "fatal: MANIFEST
// ..."), often a flush goroutine, so no store code can turn them into a
// returned error and a test cannot recover the panic. Every operation on
// the log's directory matches.
type notFatalToPebble struct{ walDir string }

func (p notFatalToPebble) String() string { return "(NotFatalToPebble)" }
func (p notFatalToPebble) Evaluate(op errorfs.Op) bool {
	if under(p.walDir).Evaluate(op) {
		return true
	}
	if op.Kind.ReadOrWrite() == errorfs.OpIsRead {
		return true
	}
	base := op.Path[strings.LastIndex(op.Path, "/")+1:]
	if strings.Contains(base, "MANIFEST") || strings.HasPrefix(base, "marker.") || base == "CURRENT" {
		return false
	}
	switch op.Kind {
	case errorfs.OpOpenDir, errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		return strings.Contains(base, ".") // a file, not a directory
	}
	return true
}

// crashedSet returns a crashable MemFS holding a set that committed n
// crash-workload transactions (generation 0, one committer), checkpointed
// once in the middle and then crashed, so that opening it replays the log
// into stores that also have flushed data. It returns the transactions.
func crashedSet(t *testing.T, n int, segSize int64) (*vfs.MemFS, map[crashtest.TxnID]uint8) {
	t.Helper()
	mem := vfs.NewCrashableMem()
	o := testOptions(mem, "g")
	o.SegmentSize = segSize
	s := openSet(t, o)
	rng := rand.New(rand.NewPCG(1, 2))
	acked := map[crashtest.TxnID]uint8{}
	for q := 1; q <= n; q++ {
		id := crashtest.TxnID{Gen: 0, Committer: 0, Seq: uint32(q)}
		mask := randomMask(rng)
		require.NoError(t, commitCrashTxn(context.Background(), s, id, mask, rng))
		acked[id] = mask
		if q == n/2 {
			require.NoError(t, s.Checkpoint(context.Background()))
		}
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, s.Close())
	return crashed, acked
}

// TestSet_FaultInjectionLog injects one error at the i-th operation on the
// log's directory, for i = 0, 1, ... until the workload completes without
// reaching it. The workload opens a crashed set (recovering and replaying
// the log), commits transactions across stores from concurrent committers,
// checkpoints (truncating the log) and closes. Wherever the error lands:
//   - Open returns an error that carries it, and the stores are closed;
//   - a commit is acknowledged or fails with an error wrapping
//     wal.ErrFailed, never both; after the first failure the set refuses
//     every commit until reopened;
//   - reopening the underlying file system, and a crash clone of it, finds
//     every acknowledged transaction in every store it touched and no
//     transaction half applied.
func TestSet_FaultInjectionLog(t *testing.T) {
	base, before := crashedSet(t, 30, 4<<10)
	opensFailed, commitsFailed := 0, 0
	start, stride := faultIndices(t)
	for i := start; ; i += stride {
		require.Less(t, i, int32(3000), "workload never completed")
		mem := base.CrashClone(vfs.CrashCloneCfg{})
		counter := &errorfs.Counter{Injector: errorfs.ErrInjected.If(errorfs.And(under("g/wal"), errorfs.OnIndex(i)))}
		o := testOptions(errorfs.Wrap(mem, counter), "g")
		o.SegmentSize = 4 << 10
		acked := maps.Clone(before)

		s, err := Open(o)
		if err != nil {
			require.Positive(t, counter.Load(), "Open failed without a fault: %v", err)
			require.True(t, isInjected(err), "Open error does not carry the fault: %v", err)
			opensFailed++
		} else {
			if faultSetWorkload(t, s, acked, counter) {
				commitsFailed++
			}
			if err := s.Close(); err != nil {
				require.Positive(t, counter.Load(), "Close failed without a fault: %v", err)
			}
		}
		for _, fs := range []vfs.FS{mem, mem.CrashClone(vfs.CrashCloneCfg{})} {
			s := openSet(t, testOptions(fs, "g"))
			present := verifyCrashSet(t, s)
			checkAcked(t, acked, present)
			require.NoError(t, s.Close())
		}
		if counter.Load() == 0 {
			t.Logf("workload completed without a fault at index %d; faults failed Open %d times and commits %d times",
				i, opensFailed, commitsFailed)
			require.Positive(t, opensFailed)
			require.Positive(t, commitsFailed)
			return
		}
	}
}

// faultSetWorkload runs three committers of generation 1 and a checkpoint
// in the middle. It adds acknowledged transactions to acked and reports
// whether any commit failed.
func faultSetWorkload(t *testing.T, s *Set, acked map[crashtest.TxnID]uint8, counter *errorfs.Counter) bool {
	t.Helper()
	var (
		mu       sync.Mutex
		failures []error
		wg       sync.WaitGroup
	)
	for c := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 3))
			for q := 1; q <= 6; q++ {
				id := crashtest.TxnID{Gen: 1, Committer: uint8(c), Seq: uint32(q)}
				mask := randomMask(rng)
				err := commitCrashTxn(context.Background(), s, id, mask, rng)
				mu.Lock()
				if err == nil {
					acked[id] = mask
					mu.Unlock()
					if c == 0 && q == 3 {
						if err := s.Checkpoint(context.Background()); err != nil {
							mu.Lock()
							require.True(t, isInjected(err), "checkpoint: %v", err)
							mu.Unlock()
						}
					}
					continue
				}
				failures = append(failures, err)
				mu.Unlock()
				// Refused until reopened.
				err = commitCrashTxn(context.Background(), s, crashtest.TxnID{Gen: 1, Committer: uint8(c), Seq: uint32(q + 1)}, mask, rng)
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
				return
			}
		}()
	}
	wg.Wait()
	for _, err := range failures {
		require.Positive(t, counter.Load(), "commit failed without a fault: %v", err)
		require.ErrorIs(t, err, wal.ErrFailed)
		require.True(t, isInjected(err), "commit error does not carry the fault: %v", err)
	}
	return len(failures) > 0
}

// TestSet_FaultInjectionOpen injects one error at the i-th file operation
// of any kind, the stores' included (but not those Pebble treats as
// fatal: see notFatalToPebble), made while Open runs on a crashed set (opening six Pebble
// DBs, recovering the log and replaying it), for i = 0, 1, ... until Open
// completes without reaching it. Open must return an
// error carrying the fault, never panic, and leave nothing behind that
// stops a clean reopen, which must find every transaction.
func TestSet_FaultInjectionOpen(t *testing.T) {
	base, acked := crashedSet(t, 30, 4<<10)
	failed := 0
	start, stride := faultIndices(t)
	for i := start; ; i += stride {
		require.Less(t, i, int32(10000), "Open never completed")
		mem := base.CrashClone(vfs.CrashCloneCfg{})
		toggle := &errorfs.Toggle{Injector: errorfs.ErrInjected.If(errorfs.And(notFatalToPebble{walDir: "g/wal"}, errorfs.OnIndex(i)))}
		counter := &errorfs.Counter{Injector: toggle}
		o := testOptions(errorfs.Wrap(mem, counter), "g")
		o.SegmentSize = 4 << 10
		toggle.On()
		s, err := openNoPanic(o)
		toggle.Off()
		if err != nil {
			require.Positive(t, counter.Load(), "Open failed without a fault: %v", err)
			require.True(t, isInjected(err), "Open error does not carry the fault: %v", err)
			failed++
		} else {
			require.NoError(t, s.Close())
		}
		s = openSet(t, testOptions(mem, "g"))
		present := verifyCrashSet(t, s)
		checkAcked(t, acked, present)
		require.NoError(t, s.Close())
		if counter.Load() == 0 {
			t.Logf("Open completed without a fault at index %d; %d faults failed it", i, failed)
			require.Positive(t, failed)
			return
		}
	}
}

// openNoPanic is Open, turning a panic (PanicLogger's Fatalf included) into
// a test failure that names it.
func openNoPanic(o *Options) (s *Set, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Open panicked: %v", r)
		}
	}()
	return Open(o)
}
