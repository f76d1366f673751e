package tracking

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestStore_PurgeWindows checks that completed instances go after the
// live window, incomplete ones only after the hard-delete age, and loose
// message events after the live window.
func TestStore_PurgeWindows(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, &Options{LiveWindow: time.Hour, HardDeleteAge: 24 * time.Hour})
	done, running, late, suspended := id(1), id(2), id(3), id(4)
	e.record(t,
		Event{Kind: InstanceStarted, InstanceID: done, Service: "S"},
		Event{Kind: MessageReceived, InstanceID: done, MessageID: m1},
		Event{Kind: InstanceCompleted, InstanceID: done},
		Event{Kind: InstanceStarted, InstanceID: running, Service: "S"},
		Event{Kind: MessageReceived, InstanceID: running, MessageID: m2},
		Event{Kind: InstanceStarted, InstanceID: suspended, Service: "S"},
		Event{Kind: InstanceSuspended, InstanceID: suspended, Error: "boom"},
		Event{Kind: MessageFailed, MessageID: m0, Error: "no subscribers"},
		Event{Kind: InstanceStarted, InstanceID: late, Service: "S"},
	)
	e.clock.Advance(50 * time.Minute)
	e.record(t, Event{Kind: InstanceCompleted, InstanceID: late})

	// Within the live window: nothing goes.
	res, err := e.s.Purge(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Batches)

	// Past it for the first completed instance and the loose event only.
	e.clock.Advance(20 * time.Minute)
	st, err := e.s.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, 10*time.Minute-2*time.Nanosecond, st.PurgeLag, "the first instance ended 2 stamps after the clock")
	res, err = e.s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Instances)
	require.Equal(t, 1+1+1, res.Rows, "instance row (its start and completion included), 1 message event, 1 loose event")
	_, err = e.s.Instance(ctx, done)
	require.ErrorIs(t, err, ErrNotFound)
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{MessageID: m1}))
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{MessageID: m0}))
	require.ElementsMatch(t, []uuid.UUID{running, suspended, late}, instanceIDs(allInstances(t, e.s, InstanceQuery{})))
	st, err = e.s.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.PurgeLag)
	require.Equal(t, uint64(1), st.PurgedInstances)

	// The late one after its own window.
	e.clock.Advance(45 * time.Minute)
	res, err = e.s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Instances)
	require.ElementsMatch(t, []uuid.UUID{running, suspended}, instanceIDs(allInstances(t, e.s, InstanceQuery{})))

	// Incomplete instances stay until the hard-delete age.
	e.clock.Advance(20 * time.Hour)
	res, err = e.s.Purge(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Instances)
	e.clock.Advance(3 * time.Hour)
	res, err = e.s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Instances)
	require.Empty(t, allInstances(t, e.s, InstanceQuery{}))
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{}))

	// Nothing is left behind in any table but the meta table.
	st, err = e.s.Stats(ctx)
	require.NoError(t, err)
	for _, ts := range st.Tables {
		if ts.Table != "TrackingMeta" {
			require.Zero(t, ts.Rows, ts.Table)
		}
	}
	require.True(t, st.Oldest.IsZero())
	require.Equal(t, uint64(4), st.PurgedInstances)
}

// TestStore_ArchiveThenQuery purges into an archive directory and queries
// the archive with the same API.
func TestStore_ArchiveThenQuery(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	e := newEnv(t, fs, &Options{
		ArchiveDir: "archive", PurgeBatchRows: 5, LiveWindow: time.Hour,
		Profile: &Profile{Default: Settings{Instances: true, Messages: true, Bodies: true, Properties: []string{propOrderID}}},
	})
	steps := orchestrationFlow()
	steps[1][1].Body = &Body{Parts: []Part{{Name: "body", ContentType: "text/xml", Data: []byte("<order id='7'/>")}}}
	e.play(t, steps)
	live := allEvents(t, e.s, MessageEventQuery{})
	liveOrch, err := e.s.Instance(ctx, orchID)
	require.NoError(t, err)
	liveFlow, err := e.s.MessageFlow(ctx, m1, nil)
	require.NoError(t, err)

	e.clock.Advance(2 * time.Hour)
	res, err := e.s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, res.Instances)
	require.Greater(t, res.Batches, 1, "small batches")
	require.Len(t, res.ArchiveFiles, res.Batches)
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{}))
	_, err = e.s.TrackedMessage(ctx, m1)
	require.ErrorIs(t, err, ErrNotFound)

	a, err := OpenArchive("archive", &ArchiveOptions{FS: fs})
	require.NoError(t, err)
	defer a.Close()
	require.Len(t, a.Files(), res.Batches)
	require.Equal(t, live, allEvents(t, a, MessageEventQuery{}))
	got, err := a.Instance(ctx, orchID)
	require.NoError(t, err)
	require.Equal(t, liveOrch, got)
	require.Len(t, allEvents(t, a, MessageEventQuery{Property: &Property{Name: propOrderID, Value: "7"}}), 1)
	require.Equal(t, []uuid.UUID{orchID}, instanceIDs(allInstances(t, a, InstanceQuery{Service: "Orders.ProcessOrder"})))
	tm, err := a.TrackedMessage(ctx, m1)
	require.NoError(t, err)
	require.Equal(t, "<order id='7'/>", string(tm.Parts[0].Data))
	f, err := a.MessageFlow(ctx, m1, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, instanceIDs(liveFlow.Instances), instanceIDs(f.Instances))
	require.ElementsMatch(t, liveFlow.Edges, f.Edges)

	// An empty or missing directory is an empty archive.
	empty, err := OpenArchive("nowhere", &ArchiveOptions{FS: fs})
	require.NoError(t, err)
	require.Empty(t, allInstances(t, empty, InstanceQuery{}))
	require.NoError(t, empty.Close())

	// A damaged file is reported as corruption.
	name := a.Files()[0]
	f2, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = f2.Write([]byte("not zstd"))
	require.NoError(t, err)
	require.NoError(t, f2.Close())
	_, err = OpenArchive("archive", &ArchiveOptions{FS: fs})
	require.True(t, IsCorruption(err), "%v", err)
}

// TestStore_PurgeCrashResumes crashes the machine in the middle of a purge
// (at every batch, before and after the batch commits), reopens the group
// from what was synced, and checks that every record is either still in
// the database or in an archive file, and that a new pass finishes.
func TestStore_PurgeCrashResumes(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const n = 30
	for _, point := range []string{"afterArchive", "afterCommit"} {
		for crashAt := uint64(0); crashAt < 4; crashAt++ {
			t.Run(fmt.Sprintf("%s/batch=%d", point, crashAt), func(t *testing.T) {
				ctx := context.Background()
				mem := vfs.NewCrashableMem()
				clock := newTestClock()
				opts := Options{Clock: clock.Now, PurgeInterval: -1, ArchiveDir: "archive", FS: mem,
					LiveWindow: time.Hour, PurgeBatchRows: 8}
				set := openSet(t, mem)
				s, err := Open(dbOf(set), &opts)
				require.NoError(t, err)
				ids := make([]uuid.UUID, n)
				for i := range ids {
					ids[i] = uuid.New()
					clock.Advance(time.Second)
					tx := set.NewTxn()
					evs := []Event{{Kind: InstanceStarted, InstanceID: ids[i], Service: "S"}}
					for range rng.IntN(3) {
						evs = append(evs, Event{Kind: MessageSent, InstanceID: ids[i], MessageID: uuid.New()})
					}
					evs = append(evs, Event{Kind: InstanceCompleted, InstanceID: ids[i]})
					require.NoError(t, s.Record(tx, evs))
					_, err := tx.Commit(ctx)
					require.NoError(t, err)
				}
				before := allEvents(t, s, MessageEventQuery{})

				clock.Advance(2 * time.Hour)
				var crashed *vfs.MemFS
				hook := func(b uint64) {
					if b == crashAt && crashed == nil {
						// Unsynced data survives the crash in part, at random.
						crashed = mem.CrashClone(vfs.CrashCloneCfg{
							UnsyncedDataPercent: rng.IntN(100),
							RNG:                 rand.New(rand.NewPCG(rng.Uint64(), 0)),
						})
					}
				}
				if point == "afterArchive" {
					s.hooks.afterArchive = hook
				} else {
					s.hooks.afterCommit = hook
				}
				res, err := s.Purge(ctx)
				require.NoError(t, err)
				require.Equal(t, n, res.Instances)
				require.NotNil(t, crashed)
				require.NoError(t, s.Close())
				require.NoError(t, set.Close())

				// Reopen what survived the crash.
				set = openSet(t, crashed)
				defer set.Close()
				opts.FS = crashed
				s, err = Open(dbOf(set), &opts)
				require.NoError(t, err)
				defer s.Close()
				a, err := OpenArchive("archive", &ArchiveOptions{FS: crashed})
				require.NoError(t, err)
				inStore := instanceIDs(allInstances(t, s, InstanceQuery{}))
				inArchive := instanceIDs(allInstances(t, a, InstanceQuery{}))
				// A batch archived but not committed is in both places until
				// the next pass rewrites its file and deletes it.
				require.ElementsMatch(t, ids, dedupe(append(inStore, inArchive...)), "every instance survives")
				evs := append(allEvents(t, s, MessageEventQuery{}), allEvents(t, a, MessageEventQuery{})...)
				require.ElementsMatch(t, before, dedupeEvents(evs), "every event survives")
				if point == "afterCommit" {
					require.Len(t, append(inStore, inArchive...), n, "committed batches are gone from the store")
				}
				require.NoError(t, a.Close())

				// The next pass finishes the job.
				res, err = s.Purge(ctx)
				require.NoError(t, err)
				require.Equal(t, len(inStore), res.Instances)
				require.Empty(t, allInstances(t, s, InstanceQuery{}))
				a, err = OpenArchive("archive", &ArchiveOptions{FS: crashed})
				require.NoError(t, err)
				defer a.Close()
				require.ElementsMatch(t, ids, instanceIDs(allInstances(t, a, InstanceQuery{})))
				require.ElementsMatch(t, before, allEvents(t, a, MessageEventQuery{}))
			})
		}
	}
}

// TestStore_PurgeLateEvents checks that events recorded for an instance
// after it was purged are removed at the hard-delete age.
func TestStore_PurgeLateEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, &Options{LiveWindow: time.Hour, HardDeleteAge: 10 * time.Hour})
	e.record(t,
		Event{Kind: InstanceStarted, InstanceID: orchID},
		Event{Kind: InstanceCompleted, InstanceID: orchID},
	)
	e.clock.Advance(2 * time.Hour)
	e.record(t, Event{Kind: MessageReceived, InstanceID: orchID, MessageID: m1}) // a zombie
	res, err := e.s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Instances)
	require.Len(t, allEvents(t, e.s, MessageEventQuery{}), 1, "recorded after the cutoff: kept")
	e.clock.Advance(9 * time.Hour)
	res, err = e.s.Purge(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Rows)
	e.clock.Advance(2 * time.Hour)
	res, err = e.s.Purge(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Rows)
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{}))
}

// TestStore_BackgroundPurge checks that the background purge runs on its
// own and that Close stops it.
func TestStore_BackgroundPurge(t *testing.T) {
	e := newEnv(t, nil, &Options{LiveWindow: time.Hour})
	committed := make(chan uint64, 16)
	e.s.hooks.afterCommit = func(b uint64) { committed <- b }
	e.s.opts.PurgeInterval = time.Millisecond
	e.record(t, Event{Kind: InstanceStarted, InstanceID: orchID}, Event{Kind: InstanceCompleted, InstanceID: orchID})
	e.clock.Advance(2 * time.Hour)
	e.s.startPurge()
	select {
	case b := <-committed:
		require.Equal(t, uint64(0), b)
	case <-time.After(30 * time.Second):
		t.Fatal("background purge did not run")
	}
	require.NoError(t, e.s.Close())
	st, err := e.s.progress()
	require.NoError(t, err)
	require.Equal(t, uint64(1), st.instances)
	_, err = e.s.Purge(context.Background())
	require.ErrorIs(t, err, ErrClosed)
}

func dedupe(ids []uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// dedupeEvents drops repeats of an event (same instance and stamp).
func dedupeEvents(evs []MessageEvent) []MessageEvent {
	type key struct {
		inst uuid.UUID
		at   time.Time
	}
	seen := map[key]bool{}
	var out []MessageEvent
	for _, e := range evs {
		k := key{e.InstanceID, e.Recorded}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}
