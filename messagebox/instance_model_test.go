package messagebox

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// A model of service instances: convoy activations on ns#K, correlation
// sets on ns#PO, persistence points, completion with zombies,
// termination, reopen and crash. The store must agree with it.

type imEntry struct {
	id     EntryID
	inst   uuid.UUID
	prio   int
	leased bool
	lease  Lease
	zombie bool
}

type imInst struct {
	id     uuid.UUID
	state  InstanceState
	data   []byte
	po     *int64 // the correlation set "po", if initialized
	convoy int64
}

type imRun struct {
	t       *rapid.T
	mem     *vfs.MemFS
	e       *env
	insts   map[uuid.UUID]*imInst
	entries map[EntryID]*imEntry
	convoys map[int64]uuid.UUID
	failed  int // routing failures
}

func TestInstanceModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		r := &imRun{t: rt, mem: vfs.NewCrashableMem(), insts: map[uuid.UUID]*imInst{},
			entries: map[EntryID]*imEntry{}, convoys: map[int64]uuid.UUID{}}
		r.e = openEnv(t, r.mem, NewManualClock(epoch), nil)
		defer r.e.close()
		r.e.host("orch")
		r.e.subscribe(orchSub("Conv", "start", "ns#K"))
		rt.Repeat(map[string]func(*rapid.T){
			"":          r.check,
			"start":     r.start,
			"item":      r.item,
			"dequeue":   r.dequeue,
			"persist":   r.persist,
			"terminate": r.terminate,
			"suspend":   r.suspend,
			"resume":    r.resume,
			"reopen":    r.reopen,
		})
	})
}

func (r *imRun) live() []*imInst {
	var out []*imInst
	for _, id := range slices.SortedFunc(maps.Keys(r.insts), compareUUID) {
		out = append(out, r.insts[id])
	}
	return out
}

func (r *imRun) route(inst *imInst, id EntryID, prio int) {
	r.entries[id] = &imEntry{id: id, inst: inst.id, prio: prio}
	if inst.state == StateDehydrated {
		inst.state = StateReadyToRun
	}
}

func (r *imRun) start(t *rapid.T) {
	k := rapid.Int64Range(0, 2).Draw(t, "k")
	before := r.e.s.Instances(InstanceQuery{})
	_, ids, err := r.e.s.Publish(ctx, typedMsg("start", Promoted("ns#K", Int64(k))))
	require.NoError(t, err)
	require.Len(t, ids, 1)
	if id, ok := r.convoys[k]; ok {
		r.route(r.insts[id], ids[0], DefaultActivationPriority)
		return
	}
	after := r.e.s.Instances(InstanceQuery{})
	require.Len(t, after, len(before)+1, "a first message starts one instance")
	for _, in := range after {
		if r.insts[in.ID] == nil {
			inst := &imInst{id: in.ID, state: StateReadyToRun, convoy: k}
			r.insts[in.ID] = inst
			r.convoys[k] = in.ID
			r.route(inst, ids[0], DefaultActivationPriority)
		}
	}
}

func (r *imRun) item(t *rapid.T) {
	po := rapid.Int64Range(0, 2).Draw(t, "po")
	var want []*imInst
	for _, inst := range r.live() {
		if inst.po != nil && *inst.po == po && inst.state != StateCompletedWithDiscardedMessages {
			want = append(want, inst)
		}
	}
	res, err := r.e.s.PublishBatch(ctx, []*Message{typedMsg("item", Promoted("ns#PO", Int64(po)))})
	if len(want) == 0 {
		require.ErrorIs(t, err, ErrNoSubscribers)
		r.failed++
		return
	}
	require.NoError(t, err)
	require.Len(t, res[0].Entries, len(want))
	// Entries follow subscription ID order, and subscription IDs grow
	// with their creation, so match them by asking the store.
	for _, id := range res[0].Entries {
		r.e.s.mu.Lock()
		inst := r.e.s.mu.entries[id].inst.id
		r.e.s.mu.Unlock()
		require.True(t, slices.ContainsFunc(want, func(i *imInst) bool { return i.id == inst }))
		r.route(r.insts[inst], id, DefaultInstancePriority)
	}
}

func (r *imRun) dequeue(t *rapid.T) {
	n := rapid.IntRange(1, 3).Draw(t, "n")
	var ready []*imEntry
	for _, e := range r.entries {
		if !e.leased && !e.zombie && r.insts[e.inst].state != StateSuspendedResumable {
			ready = append(ready, e)
		}
	}
	slices.SortFunc(ready, func(a, b *imEntry) int {
		if a.prio != b.prio {
			return a.prio - b.prio
		}
		return cmpID(a.id, b.id)
	})
	ds := r.e.dequeue("orch", n)
	require.Len(t, ds, min(n, len(ready)))
	for i, d := range ds {
		e := ready[i]
		require.Equal(t, e.id, d.Lease.Entry)
		inst := r.insts[e.inst]
		require.NotNil(t, d.Instance)
		require.Equal(t, inst.id, d.Instance.ID)
		require.Equal(t, inst.data, d.Instance.Data)
		e.leased, e.lease = true, d.Lease
		if inst.state == StateReadyToRun || inst.state == StateDehydrated {
			inst.state = StateActive
		}
	}
}

func (r *imRun) persist(t *rapid.T) {
	insts := r.live()
	if len(insts) == 0 {
		t.Skip("no instance")
	}
	inst := rapid.SampledFrom(insts).Draw(t, "inst")
	var p PersistPoint
	p.Instance = inst.id
	var consumed []*imEntry
	for _, id := range slices.Sorted(maps.Keys(r.entries)) {
		if e := r.entries[id]; e.inst == inst.id && e.leased && rapid.Bool().Draw(t, "consume") {
			consumed = append(consumed, e)
			p.Consumed = append(p.Consumed, e.lease)
		}
	}
	p.State = []byte(fmt.Sprintf("state%d", rapid.IntRange(0, 9).Draw(t, "state")))
	var po *int64
	if rapid.Bool().Draw(t, "init") {
		v := rapid.Int64Range(0, 2).Draw(t, "po")
		po = &v
		p.Initialize = []CorrelationSet{{Name: "po", Filter: typed("item"), Properties: []Property{Promoted("ns#PO", Int64(v))}}}
	}
	switch rapid.IntRange(0, 3).Draw(t, "end") {
	case 0:
		p.Dehydrate = true
	case 1:
		p.Complete = true
	}
	res, err := r.e.s.Persist(ctx, p)
	if inst.state == StateCompletedWithDiscardedMessages {
		require.ErrorIs(t, err, ErrZombie)
		return
	}
	require.NoError(t, err)
	for _, e := range consumed {
		delete(r.entries, e.id)
	}
	if po != nil {
		inst.po = po
	}
	inst.data = p.State
	var rest []*imEntry
	for _, e := range r.entries {
		if e.inst == inst.id {
			rest = append(rest, e)
		}
	}
	switch {
	case p.Complete:
		delete(r.convoys, inst.convoy)
		inst.po = nil
		if len(rest) == 0 {
			delete(r.insts, inst.id)
			require.Equal(t, InstanceState(0), res.State)
			return
		}
		zombies := 0
		for _, e := range rest {
			if !e.zombie {
				zombies++
			}
			e.zombie, e.leased = true, false
		}
		require.Len(t, res.Zombies, zombies)
		inst.state = StateCompletedWithDiscardedMessages
	case inst.state == StateSuspendedResumable:
	case p.Dehydrate:
		inst.state = StateDehydrated
		if slices.ContainsFunc(rest, func(e *imEntry) bool { return !e.zombie }) {
			inst.state = StateReadyToRun
		}
	default:
		inst.state = StateActive
	}
}

func (r *imRun) terminate(t *rapid.T) {
	insts := r.live()
	if len(insts) == 0 {
		t.Skip("no instance")
	}
	inst := rapid.SampledFrom(insts).Draw(t, "inst")
	require.NoError(t, r.e.s.terminateInstance(ctx, inst.id))
	delete(r.insts, inst.id)
	if r.convoys[inst.convoy] == inst.id {
		delete(r.convoys, inst.convoy)
	}
	for id, e := range r.entries {
		if e.inst == inst.id {
			delete(r.entries, id)
		}
	}
}

func (r *imRun) suspend(t *rapid.T) {
	insts := r.live()
	if len(insts) == 0 {
		t.Skip("no instance")
	}
	inst := rapid.SampledFrom(insts).Draw(t, "inst")
	err := r.e.s.suspendInstance(ctx, inst.id, "test")
	if inst.state == StateCompletedWithDiscardedMessages {
		require.ErrorIs(t, err, ErrZombie)
		return
	}
	require.NoError(t, err)
	inst.state = StateSuspendedResumable
}

func (r *imRun) resume(t *rapid.T) {
	insts := r.live()
	if len(insts) == 0 {
		t.Skip("no instance")
	}
	inst := rapid.SampledFrom(insts).Draw(t, "inst")
	err := r.e.s.resumeInstance(ctx, inst.id)
	if inst.state != StateSuspendedResumable {
		require.ErrorIs(t, err, ErrNotResumable)
		return
	}
	require.NoError(t, err)
	inst.state = StateDehydrated
	for _, e := range r.entries {
		if e.inst == inst.id && !e.zombie {
			inst.state = StateReadyToRun
		}
	}
}

func (r *imRun) reopen(t *rapid.T) {
	fs := vfs.FS(r.mem)
	if rapid.Bool().Draw(t, "crash") {
		fs = r.mem.CrashClone(vfs.CrashCloneCfg{})
	}
	clock, opts := r.e.clock, r.e.opts
	r.e.close()
	r.e = openEnv(r.e.t, fs, clock, &opts)
	if m, ok := fs.(*vfs.MemFS); ok {
		r.mem = m
	}
	for _, e := range r.entries {
		e.leased = false
	}
	for _, inst := range r.insts {
		if inst.state == StateActive {
			inst.state = StateReadyToRun
		}
	}
}

func (r *imRun) check(t *rapid.T) {
	got := r.e.s.Instances(InstanceQuery{})
	require.Len(t, got, len(r.insts))
	for _, in := range got {
		inst := r.insts[in.ID]
		require.NotNil(t, inst, "unknown instance %s", in.ID)
		require.Equal(t, inst.state, in.State, "instance %s", in.ID)
		pending := 0
		for _, e := range r.entries {
			if e.inst == in.ID {
				pending++
			}
		}
		require.Equal(t, pending, in.Pending, "instance %s", in.ID)
		if inst.po != nil {
			require.Equal(t, []string{"po"}, in.Correlations)
		} else {
			require.Empty(t, in.Correlations)
		}
		full, err := r.e.s.Instance(ctx, in.ID)
		require.NoError(t, err)
		require.Equal(t, inst.data, full.Data)
	}
	zombies := 0
	for _, e := range r.entries {
		if e.zombie {
			zombies++
		}
	}
	n, err := r.e.s.CountSuspended(ctx, SuspendedQuery{Kind: Instance})
	require.NoError(t, err)
	require.Equal(t, zombies, n)
	st := r.e.s.Stats()
	require.Equal(t, r.failed, st.RoutingFailures)
	checkConsistent(t, r.e.s)
}
