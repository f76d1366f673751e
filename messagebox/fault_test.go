package messagebox

import (
	"errors"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestStore_LogFaults injects one error into the group log's file
// operations at index i, for i = 0, 1, 2, ... until the workload completes
// without reaching it. Wherever the fault lands, the operation that meets
// it returns an error, every later write returns an error (the store is
// failed, ErrFailed), and a crash-and-reopen finds every acknowledged
// publish and no acknowledged complete, with no body outliving its
// references.
func TestStore_LogFaults(t *testing.T) {
	faults := 0
	for i := int32(0); ; i++ {
		require.Less(t, i, int32(2000), "workload never completed")
		if !logFaultRun(t, i) {
			t.Logf("workload completed without a fault at index %d after %d faulted runs", i, faults)
			require.Positive(t, faults)
			return
		}
		faults++
	}
}

// logFaultRun runs the workload with a fault at index and checks the
// outcome; it reports whether the fault was injected.
func logFaultRun(t *testing.T, index int32) bool {
	mem := vfs.NewCrashableMem()
	counter := &errorfs.Counter{Injector: errorfs.ErrInjected.If(errorfs.And(errorfs.PathMatch("g/wal/*"), errorfs.OnIndex(index)))}
	fs := errorfs.Wrap(mem, counter)
	clock := NewManualClock(epoch)
	published := map[uuid.UUID]bool{} // acknowledged: true while not completed
	func() {
		set, err := store.Open(setOptions(fs, "g", wal.Sync))
		if err != nil {
			return
		}
		defer func() { _ = set.Close() }()
		s, err := Open(dbOf(set), &Options{Clock: clock})
		if err != nil {
			return
		}
		defer s.Close()
		failed := false
		step := func(err error) bool {
			if err != nil {
				require.Positive(t, counter.Load(), "error without a fault: %v", err)
				failed = true
			}
			return err == nil
		}
		if !step(s.CreateHost(ctx, "h")) {
			return
		}
		if _, err := s.Subscribe(ctx, orderSub("h", "x")); !step(err) {
			return
		}
		for i := 0; i < 12 && !failed; i++ {
			id, _, err := s.Publish(ctx, msg("body", Promoted(typeProp, String("x"))))
			if step(err) {
				published[id] = true
			}
			if i%3 != 2 || failed {
				continue
			}
			ds, err := s.Dequeue(ctx, "h", 2, time.Minute)
			if !step(err) {
				break
			}
			if err := s.Complete(ctx, ds[0].Lease); step(err) {
				published[ds[0].Message.ID] = false
			}
			if len(ds) > 1 && !failed {
				step(s.Abandon(ctx, ds[1].Lease, 0, "retry"))
			}
		}
		if failed {
			// The store refuses writes from now on.
			_, _, err := s.Publish(ctx, msg("late", Promoted(typeProp, String("x"))))
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrFailed) || errors.Is(err, wal.ErrFailed), "%v", err)
		}
	}()
	injected := counter.Load() > 0

	// Crash: keep only what was synced, and reopen without faults.
	clone := mem.CrashClone(vfs.CrashCloneCfg{})
	set, err := store.Open(setOptions(clone, "g", wal.Sync))
	require.NoError(t, err, "fault at %d", index)
	defer func() { require.NoError(t, set.Close()) }()
	s, err := Open(dbOf(set), &Options{Clock: clock})
	require.NoError(t, err)
	defer s.Close()
	checkConsistent(t, s)
	for id, live := range published {
		_, err := s.GetMessage(ctx, id)
		if live {
			require.NoError(t, err, "fault at %d: acknowledged message %s lost", index, id)
		} else {
			require.ErrorIs(t, err, ErrNotFound, "fault at %d: completed message %s back", index, id)
		}
	}
	return injected
}
