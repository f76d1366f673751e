package messagebox

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The model: a plain in-memory MessageBox, written from the package
// documentation, that the real store must agree with.

type mState uint8

const (
	mReady mState = iota + 1
	mDelayed
	mLeased
	mSuspended
)

type mEntry struct {
	id         EntryID
	msg        uuid.UUID
	sub        uuid.UUID
	host       string
	prio       int
	attempts   int
	deliveries int
	state      mState
	at         time.Time // visible at or lease end
	lease      Lease
	backup     bool
	resumable  bool
	kind       Kind
	reason     string
}

type model struct {
	now     time.Time
	policy  RetryPolicy
	hosts   []string
	subs    map[uuid.UUID]Subscription
	entries map[EntryID]*mEntry
	msgs    map[uuid.UUID]*Message
	lastID  EntryID
}

func (m *model) deliverable(e *mEntry) bool {
	switch e.state {
	case mReady:
		return true
	case mDelayed, mLeased:
		return !e.at.After(m.now)
	}
	return false
}

// publish routes msg as the store must and returns the subscriptions it
// matched, by ID.
func (m *model) match(msg *Message) []Subscription {
	var out []Subscription
	for _, s := range m.subs {
		if s.Predicate.Matches(msg.Context) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int { return compareUUID(a.ID, b.ID) })
	return out
}

func (m *model) dropEntry(e *mEntry) {
	delete(m.entries, e.id)
	for _, o := range m.entries {
		if o.msg == e.msg {
			return
		}
	}
	delete(m.msgs, e.msg)
}

func (m *model) leaseValid(l Lease) (*mEntry, bool) {
	e := m.entries[l.Entry]
	if e == nil || e.state != mLeased || e.lease.Token != l.Token || !e.at.After(m.now) {
		return nil, false
	}
	return e, true
}

func (m *model) suspend(e *mEntry, reason string, sub *Subscription) {
	e.state, e.resumable, e.reason = mSuspended, true, reason
	e.kind = Activation
	if sub != nil {
		e.kind = sub.Kind
	}
}

func (m *model) retry(e *mEntry, delay time.Duration, useInterval bool, reason string) {
	policy := m.policy
	sub, ok := m.subs[e.sub]
	if ok {
		policy = *sub.Retry
	}
	if useInterval {
		delay = policy.Interval
	}
	e.attempts++
	e.reason = reason
	e.lease = Lease{}
	switch {
	case !ok:
		// Its subscription was removed while it was leased.
		m.suspend(e, UnsubscribedReason, nil)
	case e.attempts <= policy.Count:
		e.state = mReady
		if delay > 0 {
			e.state, e.at = mDelayed, m.now.Add(delay)
		}
	case !e.backup && ok && sub.BackupHost != "":
		e.host, e.backup, e.attempts, e.state = sub.BackupHost, true, 0, mReady
	default:
		var sp *Subscription
		if ok {
			sp = &sub
		}
		m.suspend(e, reason, sp)
	}
}

// modelRun is the state of one rapid run.
type modelRun struct {
	t      *rapid.T
	mem    *vfs.MemFS
	set    *store.Set
	s      *Store
	clock  *ManualClock
	opts   Options
	m      *model
	leases []Lease // every lease handed out, to try stale ones
	seed   int64
}

func (r *modelRun) open() {
	set, err := store.Open(setOptions(r.mem, "g", wal.Sync))
	require.NoError(r.t, err)
	s, err := Open(dbOf(set), &r.opts)
	require.NoError(r.t, err)
	r.set, r.s = set, s
}

func (r *modelRun) close() {
	require.NoError(r.t, r.s.Close())
	require.NoError(r.t, r.set.Close())
}

var (
	propA = "urn:test#A" // int64
	propB = "urn:test#B" // string
)

func genValue(t *rapid.T, prop string) Value {
	if prop == propA {
		return Int64(rapid.Int64Range(0, 3).Draw(t, "a"))
	}
	return String(rapid.SampledFrom([]string{"x", "y", "z"}).Draw(t, "b"))
}

func genPredicate(t *rapid.T) Predicate {
	var p Predicate
	for range rapid.IntRange(1, 2).Draw(t, "groups") {
		var g Group
		for range rapid.IntRange(1, 2).Draw(t, "conds") {
			prop := rapid.SampledFrom([]string{propA, propB}).Draw(t, "prop")
			op := Op(rapid.IntRange(0, 6).Draw(t, "op"))
			if prop == propB && ordering(op) && rapid.Bool().Draw(t, "eqinstead") {
				op = OpEqual
			}
			if op == OpExists {
				g = append(g, Exists(prop))
			} else {
				g = append(g, Cond(prop, op, genValue(t, prop)))
			}
		}
		p = append(p, g)
	}
	return p
}

func genMessage(t *rapid.T) *Message {
	size := rapid.SampledFrom([]int{0, 10, 100, 3000}).Draw(t, "size")
	body := make([]byte, size)
	if rapid.Bool().Draw(t, "compressible") {
		for i := range body {
			body[i] = byte(i * 7)
		}
	} else {
		// Incompressible: a 3000-byte body is stored as three fragments.
		rng := rand.New(rand.NewPCG(uint64(size), 1))
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
	}
	m := NewMessage(body)
	for _, prop := range []string{propA, propB} {
		switch rapid.IntRange(0, 3).Draw(t, "has") {
		case 0:
		case 1:
			m.Context = append(m.Context, Written(prop, genValue(t, prop)))
		default:
			m.Context = append(m.Context, Promoted(prop, genValue(t, prop)))
		}
	}
	return m
}

func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := &modelRun{t: t, mem: vfs.NewCrashableMem(), clock: NewManualClock(epoch)}
		r.seed = rapid.Int64().Draw(t, "seed")
		r.opts = Options{Clock: r.clock, FragmentSize: 1024, CompressThreshold: 512, BulkBatchSize: 2,
			Retry: &RetryPolicy{Count: 1, Interval: 20 * time.Second}}
		r.m = &model{now: epoch, policy: *r.opts.Retry, subs: map[uuid.UUID]Subscription{},
			entries: map[EntryID]*mEntry{}, msgs: map[uuid.UUID]*Message{}}
		r.open()
		defer func() { r.close() }()
		for _, h := range []string{"h1", "h2", "h3"} {
			require.NoError(t, r.s.CreateHost(ctx, h))
			r.m.hosts = append(r.m.hosts, h)
		}
		t.Repeat(map[string]func(*rapid.T){
			"":            r.check,
			"subscribe":   r.subscribe,
			"unsubscribe": r.unsubscribe,
			"publish":     r.publish,
			"dequeue":     r.dequeue,
			"settleNext":  r.completeAndDequeue,
			"exchange":    r.exchange,
			"complete":    r.complete,
			"abandon":     r.abandon,
			"fail":        r.fail,
			"suspend":     r.suspend,
			"extend":      r.extend,
			"advance":     r.advance,
			"resume":      r.resume,
			"terminate":   r.terminate,
			"bulk":        r.bulk,
			"crash":       r.crash,
			"getMessage":  r.getMessage,
		})
	})
}

func (r *modelRun) subscribe(t *rapid.T) {
	sub := Subscription{
		Name:      fmt.Sprintf("s%d", len(r.m.subs)),
		Host:      rapid.SampledFrom(r.m.hosts).Draw(t, "host"),
		Predicate: genPredicate(t),
		Priority:  rapid.IntRange(0, 3).Draw(t, "prio"),
	}
	if rapid.Bool().Draw(t, "instance") {
		sub.Kind, sub.InstanceID = Instance, uuid.New()
	}
	if rapid.Bool().Draw(t, "retry") {
		sub.Retry = &RetryPolicy{Count: rapid.IntRange(0, 2).Draw(t, "count"),
			Interval: rapid.SampledFrom([]time.Duration{0, 30 * time.Second}).Draw(t, "interval")}
	}
	if rapid.Bool().Draw(t, "backup") {
		sub.BackupHost = rapid.SampledFrom(r.m.hosts).Draw(t, "backupHost")
	}
	got, err := r.s.Subscribe(ctx, sub)
	if err != nil {
		// The generator may build one property with two types? It cannot,
		// so any error is a failure.
		t.Fatalf("subscribe: %v", err)
	}
	r.m.subs[got.ID] = got
}

func (r *modelRun) unsubscribe(t *rapid.T) {
	if len(r.m.subs) == 0 {
		t.Skip("no subscriptions")
	}
	ids := sortedKeys(r.m.subs)
	id := rapid.SampledFrom(ids).Draw(t, "sub")
	require.NoError(t, r.s.Unsubscribe(ctx, id))
	// What waits in its queue is suspended, resumable, in the same commit;
	// leased entries stay with their holders while their leases hold.
	sub := r.m.subs[id]
	for _, e := range r.m.entries {
		expired := e.state == mLeased && !e.at.After(r.m.now)
		if e.sub == id && e.host != "" && (e.state == mReady || e.state == mDelayed || expired) {
			r.m.suspend(e, UnsubscribedReason, &sub)
		}
	}
	delete(r.m.subs, id)
}

// orphan reports whether e is queued for a subscription that no longer
// exists: the store suspends it at dequeue and will not resume it.
func (m *model) orphan(e *mEntry) bool {
	_, ok := m.subs[e.sub]
	return !ok && e.host != "" && e.kind != RoutingFailure
}

func sortedKeys[V any](m map[uuid.UUID]V) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compareUUID)
	return out
}

func (r *modelRun) publish(t *rapid.T) {
	n := rapid.IntRange(1, 3).Draw(t, "n")
	msgs := make([]*Message, n)
	for i := range msgs {
		msgs[i] = genMessage(t)
	}
	res, err := r.s.PublishBatch(ctx, msgs)
	unrouted := r.published(t, msgs, res)
	if unrouted == 0 {
		require.NoError(t, err)
	} else {
		require.ErrorIs(t, err, ErrNoSubscribers)
	}
}

// published adds to the model the messages msgs that res says were
// published, and returns how many found no subscriber.
func (r *modelRun) published(t *rapid.T, msgs []*Message, res []Published) int {
	require.Len(t, res, len(msgs))
	unrouted := 0
	for i, p := range res {
		m := msgs[i].clone()
		m.ID = p.MessageID
		r.m.msgs[m.ID] = m
		subs := r.m.match(m)
		require.Equal(t, len(subs) > 0, p.Routed)
		if len(subs) == 0 {
			unrouted++
			require.Len(t, p.Entries, 1)
			id := p.Entries[0]
			require.Greater(t, id, r.m.lastID)
			r.m.lastID = id
			r.m.entries[id] = &mEntry{id: id, msg: m.ID, state: mSuspended, kind: RoutingFailure, reason: routingFailureReason}
			continue
		}
		require.Len(t, p.Entries, len(subs))
		for j, s := range subs {
			id := p.Entries[j]
			require.Greater(t, id, r.m.lastID)
			r.m.lastID = id
			r.m.entries[id] = &mEntry{id: id, msg: m.ID, sub: s.ID, host: s.Host, prio: s.Priority, state: mReady}
		}
	}
	return unrouted
}

func (r *modelRun) dequeue(t *rapid.T) { r.dequeueAfter(t, nil) }

// completeAndDequeue completes some leases and dequeues in one commit
// (the non-waiting core of CompleteAndDequeue).
func (r *modelRun) completeAndDequeue(t *rapid.T) {
	var done []Lease
	for range rapid.IntRange(0, 2).Draw(t, "k") {
		done = append(done, r.pickLease(t))
	}
	r.dequeueAfter(t, done)
}

// exchange publishes messages, completes some leases and dequeues in one
// commit (the non-waiting core of PublishCompleteAndDequeue).
func (r *modelRun) exchange(t *rapid.T) {
	var done []Lease
	for range rapid.IntRange(0, 2).Draw(t, "k") {
		done = append(done, r.pickLease(t))
	}
	msgs := make([]*Message, rapid.IntRange(0, 2).Draw(t, "n"))
	for i := range msgs {
		msgs[i] = genMessage(t)
	}
	r.exchangeAfter(t, done, msgs)
}

func (r *modelRun) dequeueAfter(t *rapid.T, done []Lease) { r.exchangeAfter(t, done, nil) }

func (r *modelRun) exchangeAfter(t *rapid.T, done []Lease, msgs []*Message) {
	valid := true
	var doneEntries []*mEntry
	for i, l := range done {
		e, ok := r.m.leaseValid(l)
		for _, p := range done[:i] {
			ok = ok && p.Entry != l.Entry
		}
		valid = valid && ok
		doneEntries = append(doneEntries, e)
	}
	host := rapid.SampledFrom(r.m.hosts).Draw(t, "host")
	max := rapid.IntRange(1, 4).Draw(t, "max")
	lease := rapid.SampledFrom([]time.Duration{10 * time.Second, time.Minute}).Draw(t, "lease")
	var want []*mEntry
	for _, e := range r.m.entries {
		if e.host == host && r.m.deliverable(e) {
			want = append(want, e)
		}
	}
	slices.SortFunc(want, func(a, b *mEntry) int {
		if a.prio != b.prio {
			return a.prio - b.prio
		}
		return cmpID(a.id, b.id)
	})
	// Entries whose subscription is gone are suspended as the dequeue
	// meets them, in heap order, until it has max to deliver.
	var orphans []*mEntry
	kept := want[:0]
	for _, e := range want {
		if len(kept) == max {
			break
		}
		if r.m.orphan(e) {
			orphans = append(orphans, e)
			continue
		}
		kept = append(kept, e)
	}
	want = kept
	var (
		got []*Delivery
		err error
	)
	if len(msgs) == 0 {
		got, err = r.s.dequeue(ctx, done, host, max, lease)
	} else {
		pend, perr := r.s.preparePublish(ctx, msgs, r.s.now())
		require.NoError(t, perr)
		var res []Published
		res, got, err = r.s.exchange(ctx, done, pend, host, max, lease)
		if valid {
			require.NoError(t, err)
			r.published(t, msgs, res)
		}
	}
	if !valid {
		require.ErrorIs(t, err, ErrLeaseLost)
		return
	}
	require.NoError(t, err)
	for _, e := range doneEntries {
		r.m.dropEntry(e)
	}
	for _, e := range orphans {
		e.lease = Lease{}
		r.m.suspend(e, UnsubscribedReason, nil)
	}
	require.Len(t, got, len(want))
	for i, d := range got {
		e := want[i]
		require.Equal(t, e.id, d.Lease.Entry)
		require.Equal(t, e.msg, d.Message.ID)
		require.Equal(t, e.sub, d.Subscription)
		require.Equal(t, e.attempts, d.Attempts)
		e.deliveries++
		require.Equal(t, e.deliveries, d.DeliveryCount, "entry %d", e.id)
		require.Equal(t, e.backup, d.Backup)
		requireSameMessage(t, r.m.msgs[e.msg], d.Message)
		e.state, e.at, e.lease = mLeased, r.m.now.Add(lease), d.Lease
		r.leases = append(r.leases, d.Lease)
	}
}

func requireSameMessage(t require.TestingT, want, got *Message) {
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Context, got.Context)
	require.Len(t, got.Parts, len(want.Parts))
	for i := range want.Parts {
		require.Equal(t, want.Parts[i].Body, got.Parts[i].Body)
		require.Equal(t, want.Parts[i].Name, got.Parts[i].Name)
	}
}

// pickLease draws a lease handed out earlier, possibly a stale one.
func (r *modelRun) pickLease(t *rapid.T) Lease {
	if len(r.leases) == 0 {
		return Lease{Entry: EntryID(rapid.Uint64Range(1, 5).Draw(t, "entry")), Token: 1}
	}
	return rapid.SampledFrom(r.leases).Draw(t, "lease")
}

func (r *modelRun) settle(t *rapid.T, name string, op func(Lease) error, apply func(*mEntry)) {
	l := r.pickLease(t)
	e, ok := r.m.leaseValid(l)
	err := op(l)
	if !ok {
		require.ErrorIs(t, err, ErrLeaseLost, "%s of entry %d", name, l.Entry)
		return
	}
	require.NoError(t, err, "%s of entry %d", name, l.Entry)
	apply(e)
}

func (r *modelRun) complete(t *rapid.T) {
	r.settle(t, "complete", func(l Lease) error { return r.s.Complete(ctx, l) }, r.m.dropEntry)
}

func (r *modelRun) abandon(t *rapid.T) {
	delay := rapid.SampledFrom([]time.Duration{0, 15 * time.Second}).Draw(t, "delay")
	r.settle(t, "abandon", func(l Lease) error { return r.s.Abandon(ctx, l, delay, "abandoned") },
		func(e *mEntry) { r.m.retry(e, delay, false, "abandoned") })
}

func (r *modelRun) fail(t *rapid.T) {
	r.settle(t, "fail", func(l Lease) error { return r.s.Fail(ctx, l, "failed") },
		func(e *mEntry) { r.m.retry(e, 0, true, "failed") })
}

func (r *modelRun) suspend(t *rapid.T) {
	r.settle(t, "suspend", func(l Lease) error { return r.s.Suspend(ctx, l, "suspended") },
		func(e *mEntry) {
			var sp *Subscription
			if s, ok := r.m.subs[e.sub]; ok {
				sp = &s
			}
			e.lease = Lease{}
			r.m.suspend(e, "suspended", sp)
		})
}

func (r *modelRun) extend(t *rapid.T) {
	d := rapid.SampledFrom([]time.Duration{5 * time.Second, 2 * time.Minute}).Draw(t, "by")
	l := r.pickLease(t)
	e, ok := r.m.leaseValid(l)
	nl, err := r.s.Extend(ctx, l, d)
	if !ok {
		require.ErrorIs(t, err, ErrLeaseLost)
		return
	}
	require.NoError(t, err)
	require.Equal(t, l.Token, nl.Token)
	e.at = r.m.now.Add(d)
	e.lease = nl
	r.leases = append(r.leases, nl)
}

func (r *modelRun) advance(t *rapid.T) {
	d := rapid.SampledFrom([]time.Duration{time.Second, 12 * time.Second, 45 * time.Second, 3 * time.Minute}).Draw(t, "d")
	r.clock.Advance(d)
	r.m.now = r.m.now.Add(d)
}

func (r *modelRun) suspendedIDs() []EntryID {
	var ids []EntryID
	for _, e := range r.m.entries {
		if e.state == mSuspended {
			ids = append(ids, e.id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (r *modelRun) pickEntry(t *rapid.T) EntryID {
	ids := r.suspendedIDs()
	if len(ids) == 0 || rapid.IntRange(0, 9).Draw(t, "unknown") == 0 {
		return EntryID(rapid.Uint64Range(1, uint64(r.m.lastID)+1).Draw(t, "id"))
	}
	return rapid.SampledFrom(ids).Draw(t, "id")
}

func (r *modelRun) resumeEntry(e *mEntry) {
	if s, ok := r.m.subs[e.sub]; e.backup && ok {
		e.host = s.Host
	}
	e.backup, e.resumable, e.attempts, e.reason, e.kind = false, false, 0, "", 0
	e.state = mReady
}

func (r *modelRun) resume(t *rapid.T) {
	id := r.pickEntry(t)
	e := r.m.entries[id]
	n, err := r.s.Resume(ctx, SuspendedQuery{Entries: []EntryID{id}})
	switch {
	case e == nil || e.state != mSuspended:
		require.ErrorIs(t, err, ErrNotFound)
	case !e.resumable, r.m.orphan(e):
		require.ErrorIs(t, err, ErrNotResumable)
	default:
		require.NoError(t, err)
		require.Equal(t, 1, n)
		r.resumeEntry(e)
	}
}

func (r *modelRun) terminate(t *rapid.T) {
	id := r.pickEntry(t)
	e := r.m.entries[id]
	n, err := r.s.Terminate(ctx, SuspendedQuery{Entries: []EntryID{id}})
	if e == nil || e.state != mSuspended {
		require.ErrorIs(t, err, ErrNotFound)
		return
	}
	require.NoError(t, err)
	require.Equal(t, 1, n)
	r.m.dropEntry(e)
}

func (r *modelRun) bulk(t *rapid.T) {
	q := SuspendedQuery{}
	if rapid.Bool().Draw(t, "byHost") {
		q.Host = rapid.SampledFrom(r.m.hosts).Draw(t, "host")
	}
	if rapid.Bool().Draw(t, "byProp") {
		q.Property, q.Value = propA, genValue(t, propA)
	}
	var want []*mEntry
	for _, id := range r.suspendedIDs() {
		e := r.m.entries[id]
		if q.Host != "" && e.host != q.Host {
			continue
		}
		if q.Property != "" {
			p, ok := r.m.msgs[e.msg].Property(q.Property)
			if !ok || p.Value != q.Value {
				continue
			}
		}
		want = append(want, e)
	}
	list, err := r.s.ListSuspended(ctx, q)
	require.NoError(t, err)
	require.Len(t, list, len(want))
	for i, se := range list {
		w := want[i]
		require.Equal(t, w.id, se.ID)
		require.Equal(t, w.resumable, se.Resumable)
		require.Equal(t, w.kind, se.Kind)
		require.Equal(t, w.reason, se.Error)
		require.Equal(t, w.deliveries, se.Deliveries)
	}
	if rapid.Bool().Draw(t, "resume") {
		n, err := r.s.Resume(ctx, q)
		require.NoError(t, err)
		k := 0
		for _, e := range want {
			if e.resumable && !r.m.orphan(e) {
				r.resumeEntry(e)
				k++
			}
		}
		require.Equal(t, k, n)
		return
	}
	n, err := r.s.Terminate(ctx, q)
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	for _, e := range want {
		r.m.dropEntry(e)
	}
}

func (r *modelRun) crash(t *rapid.T) {
	pct := rapid.IntRange(0, 100).Draw(t, "unsynced")
	clone := r.mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: rand.New(rand.NewPCG(uint64(r.seed), 0))})
	r.seed++
	r.close()
	r.mem = clone
	r.open()
	// Leases are lost: leased entries are deliverable again.
	for _, e := range r.m.entries {
		if e.state == mLeased {
			e.state, e.lease = mReady, Lease{}
		}
	}
}

func (r *modelRun) getMessage(t *rapid.T) {
	if len(r.m.msgs) == 0 || rapid.IntRange(0, 4).Draw(t, "unknown") == 0 {
		_, err := r.s.GetMessage(ctx, uuid.New())
		require.ErrorIs(t, err, ErrNotFound)
		return
	}
	id := rapid.SampledFrom(sortedKeys(r.m.msgs)).Draw(t, "msg")
	got, err := r.s.GetMessage(ctx, id)
	require.NoError(t, err)
	requireSameMessage(t, r.m.msgs[id], got)
}

func (r *modelRun) check(t *rapid.T) {
	st := r.s.Stats()
	require.Equal(t, len(r.m.msgs), st.Messages, "spool size")
	require.Equal(t, len(r.m.entries), st.Entries)
	depth := map[string]int{}
	susp, resumable := 0, 0
	for _, e := range r.m.entries {
		if e.state == mSuspended {
			susp++
			if e.resumable {
				resumable++
			}
			continue
		}
		depth[e.host]++
	}
	for _, h := range r.m.hosts {
		require.Equal(t, depth[h], st.Hosts[h].Depth(), "depth of %s", h)
	}
	require.Equal(t, susp, st.Suspended)
	require.Equal(t, resumable, st.SuspendedResumable)
	checkConsistent(t, r.s)
}
