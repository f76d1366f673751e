package tracking

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestStore_ArchiveFaults injects an error into the i-th archive file
// operation, for every i until a purge pass gets through: each fault must
// come back from Purge, and no record may be lost; then a pass without
// faults finishes.
func TestStore_ArchiveFaults(t *testing.T) {
	ctx := context.Background()
	for i := int32(0); ; i++ {
		mem := vfs.NewMem()
		inj := errorfs.ErrInjected.If(errorfs.OnIndex(i))
		e := newEnv(t, mem, &Options{LiveWindow: time.Hour, ArchiveDir: "arch", PurgeBatchRows: 4,
			FS: errorfs.Wrap(mem, inj)})
		var ids []uuid.UUID
		for n := range 6 {
			ids = append(ids, id(byte(n+1)))
			e.record(t,
				Event{Kind: InstanceStarted, InstanceID: ids[n]},
				Event{Kind: MessageSent, InstanceID: ids[n], MessageID: id(byte(100 + n))},
				Event{Kind: InstanceCompleted, InstanceID: ids[n]},
			)
		}
		e.clock.Advance(2 * time.Hour)
		_, err := e.s.Purge(ctx)
		if err == nil {
			require.Greater(t, i, int32(3), "some faults must have been hit")
			return
		}
		var le errorfs.LabelledError
		require.True(t, errors.As(err, &le), "index %d: %v", i, err)

		a, err := OpenArchive("arch", &ArchiveOptions{FS: mem})
		require.NoError(t, err)
		got := append(instanceIDs(allInstances(t, e.s, InstanceQuery{})), instanceIDs(allInstances(t, a, InstanceQuery{}))...)
		require.ElementsMatch(t, ids, dedupe(got), "index %d: an instance was lost", i)
		require.NoError(t, a.Close())

		e.s.opts.FS = mem
		_, err = e.s.Purge(ctx)
		require.NoError(t, err)
		require.Empty(t, allInstances(t, e.s, InstanceQuery{}))
		a, err = OpenArchive("arch", &ArchiveOptions{FS: mem})
		require.NoError(t, err)
		require.ElementsMatch(t, ids, instanceIDs(allInstances(t, a, InstanceQuery{})))
		require.NoError(t, a.Close())
	}
}
