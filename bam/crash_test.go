package bam

import (
	"context"
	"fmt"
	"testing"

	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// crashStep is one step of the crash workload: a few events for one
// instance through one stream.
type crashStep struct {
	id, kind string
	// acked is how many crash points had been taken when the step was
	// acknowledged: every crash point from there on must hold it.
	acked int
	// marker is the MessageBox key written in the same transaction
	// (orchestration and messaging steps).
	marker []byte
}

// TestCrash_everyStream runs a flow that uses every stream (direct,
// buffered, orchestration with a MessageBox write in its persistence
// point, messaging likewise, and a persistence point that rolls back) and
// crashes the group before every file system operation it makes, keeping
// what was synced and, per seed, a share of what was not. After each crash
// the group reopens, the decoder catches up, and: every acknowledged event
// is there exactly once (each step adds one reference, counted), a step's
// MessageBox write and its BAM events are both there or neither, and no
// event of the rolled-back steps is anywhere.
//
// BIZTIER_CRASH_SEEDS=<n> runs more seeds; BIZTIER_CRASH_SEED=<s> replays one.
func TestCrash_everyStream(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Logf("seed %d", seed)
			rec, fs := crashtest.NewRecorder(seed)
			c := &clock{t: epoch}
			e := openEnv(t, fs, c, nil)
			e.deploy(orderDef)
			rec.Arm()
			steps := runCrashWorkload(t, e, rec.Len)
			require.NoError(t, e.s.WaitCaughtUp(bg))
			rec.Disarm()
			e.close()
			crashes := rec.Crashes()
			t.Logf("%d crash points, %d%% of unsynced data kept", len(crashes), rec.UnsyncedPercent())
			require.Greater(t, len(crashes), 20)
			for i, cr := range crashes {
				checkCrash(t, i, cr.FS, c, steps)
			}
		})
	}
}

func runCrashWorkload(t *testing.T, e *env, points func() int) []*crashStep {
	var steps []*crashStep
	events := func(es *EventStream, id string, i int) {
		require.NoError(t, es.BeginActivity(bg, "Order", id))
		require.NoError(t, es.UpdateActivity(bg, "Order", id, "Items", i, "Region", "R"))
		require.NoError(t, es.AddReference(bg, "Order", id, Reference{Type: "Step", Name: id}))
		require.NoError(t, es.EndActivity(bg, "Order", id))
	}
	for round := range 3 {
		for _, kind := range []string{"direct", "buffered", "orchestration", "messaging", "rolledback"} {
			st := &crashStep{id: fmt.Sprintf("%s-%d", kind, round), kind: kind}
			switch kind {
			case "direct":
				events(e.s.DirectStream(1), st.id, round)
			case "buffered":
				es := e.s.BufferedStream(0)
				events(es, st.id, round)
				require.NoError(t, es.Flush(bg))
			default:
				tx := e.set.NewTxn()
				st.marker = []byte("\xf0" + st.id)
				require.NoError(t, tx.BatchOf(store.MessageBox).Set(st.marker, []byte("state"), nil))
				es := e.s.OrchestrationStream(tx)
				if kind == "messaging" {
					es = e.s.MessagingStream(tx)
				}
				events(es, st.id, round)
				if kind == "rolledback" {
					tx.Abort()
				} else {
					_, err := tx.Commit(bg)
					require.NoError(t, err)
				}
			}
			st.acked = points()
			steps = append(steps, st)
		}
	}
	return steps
}

func checkCrash(t *testing.T, i int, fs vfs.FS, c *clock, steps []*crashStep) {
	t.Helper()
	set, err := store.Open(setOptions(fs, "g", wal.Sync))
	require.NoError(t, err, "crash %d: open set", i)
	defer func() { require.NoError(t, set.Close()) }()
	s, err := Open(context.Background(), dbOf(set), &Options{Now: c.Now})
	require.NoError(t, err, "crash %d: open bam", i)
	defer func() { require.NoError(t, s.Close()) }()
	if len(s.Definition().Activities) == 0 {
		require.Zero(t, steps[0].acked, "crash %d lost the deployment", i)
		return
	}
	require.NoError(t, s.WaitCaughtUp(bg), "crash %d", i)
	checkConsistent(t, s, true)
	for _, st := range steps {
		in, err := s.Instance(bg, "Order", st.id)
		refs := 0
		if err == nil {
			for _, r := range in.References {
				if r.Name == st.id {
					refs++
				}
			}
		} else {
			require.ErrorIs(t, err, ErrNotFound, "crash %d, %s", i, st.id)
		}
		if st.marker != nil {
			_, merr := get(set.DB(store.MessageBox).Reader(), st.marker)
			if st.kind == "rolledback" {
				require.ErrorIs(t, merr, errNotFound, "crash %d: rolled-back write of %s", i, st.id)
			} else {
				require.Equal(t, merr == nil, err == nil, "crash %d, %s: the MessageBox write and the BAM events are one commit", i, st.id)
			}
		}
		switch {
		case st.kind == "rolledback":
			require.ErrorIs(t, err, ErrNotFound, "crash %d: event of rolled-back step %s", i, st.id)
		case i >= st.acked:
			require.NoError(t, err, "crash %d: acknowledged step %s lost", i, st.id)
			require.Equal(t, 1, refs, "crash %d: %s's reference", i, st.id)
			require.Equal(t, Completed, in.State, "crash %d, %s", i, st.id)
			require.Equal(t, "R", in.Values["Region"].String())
		default:
			require.LessOrEqual(t, refs, 1, "crash %d: %s's reference twice", i, st.id)
		}
	}
}
