package bam

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/stretchr/testify/require"
)

// TestCrash_maintain crashes a maintenance pass that archives two
// partitions before every file system operation (archive files and the
// group's log alike). After each crash every completed instance is found
// exactly once by a query spanning the database and the archive, and a
// second pass finishes the move.
//
// BIZTIER_CRASH_SEEDS=<n> runs more seeds; BIZTIER_CRASH_SEED=<s> replays one.
func TestCrash_maintain(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			rec, fs := crashtest.NewRecorder(seed)
			c := &clock{t: epoch}
			arch, err := NewFileArchive(fs, "archive")
			require.NoError(t, err)
			e := openEnv(t, fs, c, &Options{Archive: arch})
			d, err := ParseDefinitionBytes([]byte(orderDef))
			require.NoError(t, err)
			d.Cubes[0].CreateOlapCube = false
			require.NoError(t, e.s.Deploy(bg, d, "test"))
			es := e.s.DirectStream(0)
			var ids []string
			for month := range 3 {
				for i := range 3 {
					id := fmt.Sprintf("m%d-%d", month, i)
					ids = append(ids, id)
					require.NoError(t, es.BeginActivity(bg, "Order", id))
					require.NoError(t, es.EndActivity(bg, "Order", id))
				}
				require.NoError(t, es.Flush(bg))
				c.Add(31 * 24 * time.Hour)
			}
			c.Add(150 * 24 * time.Hour)
			rec.Arm()
			rep, err := e.s.Maintain(bg)
			require.NoError(t, err)
			rec.Disarm()
			require.Len(t, rep.Moved, 2)
			e.moved = true
			e.close()
			crashes := rec.Crashes()
			t.Logf("%d crash points, %d%% of unsynced data kept", len(crashes), rec.UnsyncedPercent())
			for i, cr := range crashes {
				clone := cr.FS
				set, err := store.Open(setOptions(clone, "g", wal.Sync))
				require.NoError(t, err, "crash %d", i)
				a, err := NewFileArchive(clone, "archive")
				require.NoError(t, err)
				s, err := Open(context.Background(), dbOf(set), &Options{Now: c.Now, Archive: a})
				require.NoError(t, err, "crash %d", i)
				found := func() {
					all, err := s.Instances(bg, "Order", Query{})
					require.NoError(t, err, "crash %d", i)
					seen := map[string]int{}
					for _, in := range all {
						seen[in.ID]++
					}
					for _, id := range ids {
						require.Equal(t, 1, seen[id], "crash %d: %s", i, id)
					}
				}
				found()
				_, err = s.Maintain(bg)
				require.NoError(t, err, "crash %d", i)
				found()
				archived, err := s.Instances(bg, "Order", Query{States: Archived})
				require.NoError(t, err)
				require.Len(t, archived, 6, "crash %d: the second pass finishes the move", i)
				checkConsistent(t, s, false)
				require.NoError(t, s.Close())
				require.NoError(t, set.Close())
			}
		})
	}
}
