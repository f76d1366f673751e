package messagebox

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

const poProp = "ns#PO"

func typed(typ string) Group { return And(Eq(typeProp, String(typ))) }

// orchSub is the activation subscription of service svc on messages of
// type typ, as a convoy on props when given.
func orchSub(svc, typ string, props ...string) Subscription {
	return Subscription{Name: svc + "-" + typ, Host: "orch", Service: svc, Correlation: props, Predicate: Or(typed(typ))}
}

func typedMsg(typ string, props ...Property) *Message {
	return msg("<"+typ+"/>", append([]Property{Promoted(typeProp, String(typ))}, props...)...)
}

func (e *env) persist(p PersistPoint) PersistResult {
	e.t.Helper()
	r, err := e.s.Persist(ctx, p)
	require.NoError(e.t, err)
	return r
}

func (e *env) orch() {
	e.host("orch")
	e.host("send")
}

func TestInstance_ActivationCorrelationComplete(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Order", "order"))
	e.subscribe(orderSub("send", "invoice"))

	e.publish(typedMsg("order", Promoted(poProp, Int64(1))))
	insts := e.s.Instances(InstanceQuery{Service: "Order"})
	require.Len(t, insts, 1)
	require.Equal(t, StateReadyToRun, insts[0].State)
	id := insts[0].ID

	ds := e.dequeue("orch", 10)
	require.Len(t, ds, 1)
	require.NotNil(t, ds[0].Instance)
	require.Equal(t, id, ds[0].Instance.ID)
	require.Nil(t, ds[0].Instance.Data, "the activating message comes with no state")
	inst, err := e.s.Instance(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StateActive, inst.State)

	r := e.persist(PersistPoint{
		Instance: id, Consumed: []Lease{ds[0].Lease}, State: []byte("s1"),
		Publish:    []*Message{typedMsg("invoice")},
		Initialize: []CorrelationSet{{Name: "po", Filter: typed("ack"), Properties: []Property{Promoted(poProp, Int64(1))}}},
	})
	require.Len(t, r.Published, 1)
	require.Equal(t, StateActive, r.State)
	require.Equal(t, 1, e.s.Stats().Hosts["send"].Ready)

	// A correlated message reaches the instance, never a new one; another
	// PO matches nothing.
	e.publish(typedMsg("ack", Promoted(poProp, Int64(1))))
	_, _, err = e.s.Publish(ctx, typedMsg("ack", Promoted(poProp, Int64(2))))
	require.ErrorIs(t, err, ErrNoSubscribers)
	require.Len(t, e.s.Instances(InstanceQuery{}), 1)

	ds = e.dequeue("orch", 10)
	require.Len(t, ds, 1)
	require.Equal(t, id, ds[0].Instance.ID)
	require.Equal(t, []byte("s1"), ds[0].Instance.Data)
	require.Equal(t, []string{"po"}, ds[0].Instance.Correlations)

	r = e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, Complete: true})
	require.Equal(t, InstanceState(0), r.State)
	require.Empty(t, r.Zombies)
	_, err = e.s.Instance(ctx, id)
	require.ErrorIs(t, err, ErrNotFound)
	for _, sub := range e.s.Subscriptions() {
		require.NotEqual(t, Instance, sub.Kind, "instance subscriptions go with the instance")
	}
	_, err = e.s.Persist(ctx, PersistPoint{Instance: id, State: []byte("late")})
	require.ErrorIs(t, err, ErrNotFound)

	// Reopen: nothing of the instance comes back.
	e.reopen()
	require.Empty(t, e.s.Instances(InstanceQuery{}))
}

func TestInstance_BadInput(t *testing.T) {
	e := newEnv(t, &Options{MaxInstanceState: 8})
	e.orch()
	e.subscribe(orchSub("Order", "order"))
	e.publish(typedMsg("order"))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	good := PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, State: []byte("ok")}

	for name, tc := range map[string]struct {
		edit func(p *PersistPoint)
		want error
	}{
		"follow uninitialized":  {func(p *PersistPoint) { p.Follow = []string{"nope"} }, ErrNotInitialized},
		"release uninitialized": {func(p *PersistPoint) { p.Release = []string{"nope"} }, ErrNotInitialized},
		"state too large":       {func(p *PersistPoint) { p.State = make([]byte, 9) }, ErrStateTooLarge},
		"four properties": {func(p *PersistPoint) {
			p.Initialize = []CorrelationSet{{Name: "c", Properties: []Property{
				Promoted("a", Int64(1)), Promoted("b", Int64(1)), Promoted("c", Int64(1)), Promoted("d", Int64(1))}}}
		}, ErrInvalidCorrelation},
		"unnamed set": {func(p *PersistPoint) {
			p.Initialize = []CorrelationSet{{Properties: []Property{Promoted("a", Int64(1))}}}
		}, ErrInvalidCorrelation},
		"bad message":      {func(p *PersistPoint) { p.Publish = []*Message{{}} }, ErrInvalidMessage},
		"unknown lease":    {func(p *PersistPoint) { p.Consumed = []Lease{{Entry: 999}} }, ErrLeaseLost},
		"unknown instance": {func(p *PersistPoint) { p.Instance = uuid.New() }, ErrNotFound},
	} {
		p := good
		tc.edit(&p)
		_, err := e.s.Persist(ctx, p)
		require.ErrorIs(t, err, tc.want, name)
	}
	// Nothing was committed: the lease still holds and the state is unset.
	inst, err := e.s.Instance(ctx, id)
	require.NoError(t, err)
	require.Nil(t, inst.Data)
	require.Equal(t, 1, e.s.Stats().Messages)
	e.persist(good)
	require.NoError(t, e.s.terminateInstance(ctx, id))
	_, err = e.s.Persist(ctx, PersistPoint{Instance: id})
	require.ErrorIs(t, err, ErrNotFound, "persistence point of a terminated instance")
}

// TestInstance_Crash crashes between persistence points: after reopen
// the instance has its last persisted state, the message it consumed
// since is delivered again, and what it published exists exactly once.
func TestInstance_Crash(t *testing.T) {
	mem := vfs.NewCrashableMem()
	clock := NewManualClock(epoch)
	e := openEnv(t, mem, clock, nil)
	e.orch()
	e.subscribe(orchSub("Order", "order"))
	e.subscribe(orderSub("send", "invoice"))
	e.publish(typedMsg("order", Promoted(poProp, Int64(7))))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	invoice := typedMsg("invoice")
	invoice.ID = uuid.New()
	e.persist(PersistPoint{
		Instance: id, Consumed: []Lease{ds[0].Lease}, State: []byte("after-order"), Publish: []*Message{invoice},
		Initialize: []CorrelationSet{{Name: "po", Properties: []Property{Promoted(poProp, Int64(7))}, Filter: typed("ack")}},
	})
	ack := typedMsg("ack", Promoted(poProp, Int64(7)))
	ack.ID = uuid.New()
	e.publish(ack)
	ds = e.dequeue("orch", 1)
	require.Equal(t, ack.ID, ds[0].Message.ID)
	// The instance works on the ack but crashes before its next
	// persistence point.
	crashed := mem.CrashClone(vfs.CrashCloneCfg{})
	require.NoError(t, e.s.Close())
	require.NoError(t, e.set.Close())
	e.s = nil

	e2 := openEnv(t, crashed, clock, nil)
	t.Cleanup(e2.close)
	inst, err := e2.s.Instance(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []byte("after-order"), inst.Data)
	require.Equal(t, StateReadyToRun, inst.State)
	require.Equal(t, []string{"po"}, inst.Correlations)
	ds = e2.dequeue("orch", 10)
	require.Len(t, ds, 1)
	require.Equal(t, ack.ID, ds[0].Message.ID, "the consumed-but-unpersisted message is redelivered")
	require.Equal(t, 2, ds[0].DeliveryCount)
	require.Equal(t, []byte("after-order"), ds[0].Instance.Data)
	sent := e2.dequeue("send", 10)
	require.Len(t, sent, 1, "the published message exists exactly once")
	require.Equal(t, invoice.ID, sent[0].Message.ID)
	// The instance can go on and finish.
	e2.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, Complete: true})
	require.NoError(t, e2.s.Complete(ctx, sent[0].Lease))
	require.Equal(t, 0, e2.s.Stats().Messages)
}

// TestInstance_CrashMidPersist crashes at every point of a persistence
// point's commit: either all of it survives or none of it.
func TestInstance_CrashMidPersist(t *testing.T) {
	mem := vfs.NewCrashableMem()
	clock := NewManualClock(epoch)
	e := openEnv(t, mem, clock, nil)
	e.orch()
	e.subscribe(orchSub("Order", "order"))
	e.subscribe(orderSub("send", "invoice"))
	e.publish(typedMsg("order"))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	before := mem.CrashClone(vfs.CrashCloneCfg{})
	e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, State: []byte("s"), Publish: []*Message{typedMsg("invoice")}})
	after := mem.CrashClone(vfs.CrashCloneCfg{})
	e.close()
	for i, fs := range []vfs.FS{before, after} {
		e := openEnv(t, fs, clock, nil)
		inst, err := e.s.Instance(ctx, id)
		require.NoError(t, err)
		st := e.s.Stats()
		if i == 0 {
			require.Nil(t, inst.Data)
			require.Equal(t, 1, st.Hosts["orch"].Ready)
			require.Equal(t, 0, st.Hosts["send"].Ready)
		} else {
			require.Equal(t, []byte("s"), inst.Data)
			require.Equal(t, 0, st.Hosts["orch"].Ready)
			require.Equal(t, 1, st.Hosts["send"].Ready)
		}
		e.close()
	}
}

func TestConvoy_ConcurrentFirstMessages(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Batch", "item", "ns#Batch"))
	const rounds = 40
	var wg sync.WaitGroup
	for r := range rounds {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := e.s.Publish(ctx, typedMsg("item", Promoted("ns#Batch", Int64(int64(r)))))
				require.NoError(t, err)
			}()
		}
	}
	wg.Wait()
	insts := e.s.Instances(InstanceQuery{Service: "Batch"})
	require.Len(t, insts, rounds, "one instance per convoy set")
	for _, in := range insts {
		require.Equal(t, 2, in.Pending)
	}
	e.reopen()
	require.Len(t, e.s.Instances(InstanceQuery{}), rounds)
	e.publish(typedMsg("item", Promoted("ns#Batch", Int64(3))))
	require.Len(t, e.s.Instances(InstanceQuery{}), rounds, "convoy sets survive a reopen")
}

func TestConvoy_SequentialOrder(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Batch", "item", "ns#Batch"))
	var ids []uuid.UUID
	for i := range 5 {
		m := typedMsg("item", Promoted("ns#Batch", String("b1")), Promoted("ns#N", Int64(int64(i))))
		m.ID = uuid.New()
		ids = append(ids, m.ID)
		e.publish(m)
	}
	insts := e.s.Instances(InstanceQuery{})
	require.Len(t, insts, 1)
	var got []uuid.UUID
	for range 5 {
		ds := e.dequeue("orch", 1)
		require.Len(t, ds, 1)
		require.Equal(t, insts[0].ID, ds[0].Instance.ID)
		got = append(got, ds[0].Message.ID)
		e.persist(PersistPoint{Instance: insts[0].ID, Consumed: []Lease{ds[0].Lease}, State: []byte{byte(len(got))}})
	}
	require.Equal(t, ids, got)
	e.persist(PersistPoint{Instance: insts[0].ID, Complete: true})
	// The convoy set went with the instance: the next batch starts anew.
	e.publish(typedMsg("item", Promoted("ns#Batch", String("b1"))))
	require.Len(t, e.s.Instances(InstanceQuery{}), 1)
	require.NotEqual(t, insts[0].ID, e.s.Instances(InstanceQuery{})[0].ID)
}

func TestConvoy_ParallelFirstWins(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Match", "left", "ns#Key"))
	e.subscribe(orchSub("Match", "right", "ns#Key"))
	e.publish(typedMsg("right", Promoted("ns#Key", String("k"))))
	e.publish(typedMsg("left", Promoted("ns#Key", String("k"))))
	e.publish(typedMsg("left", Promoted("ns#Key", String("other"))))
	insts := e.s.Instances(InstanceQuery{Service: "Match"})
	require.Len(t, insts, 2)
	require.Equal(t, 2, insts[0].Pending, "the second receive correlates to the first's instance")
	require.Equal(t, 1, insts[1].Pending)
}

func TestInstance_Zombies(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Loop", "start"))
	e.publish(typedMsg("start"))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease},
		Initialize: []CorrelationSet{{Name: "c", Properties: []Property{Promoted(poProp, Int64(1))}}}})
	for range 3 {
		e.publish(typedMsg("item", Promoted(poProp, Int64(1))))
	}
	ds = e.dequeue("orch", 1)
	// The loop consumes one message and completes; two more arrived.
	r := e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, Complete: true})
	require.Equal(t, StateCompletedWithDiscardedMessages, r.State)
	require.Len(t, r.Zombies, 2)
	inst, err := e.s.Instance(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StateCompletedWithDiscardedMessages, inst.State)
	require.Equal(t, 2, inst.Pending)
	list, err := e.s.ListSuspended(ctx, SuspendedQuery{Kind: Instance})
	require.NoError(t, err)
	require.Len(t, list, 2)
	for _, se := range list {
		require.False(t, se.Resumable)
		require.Equal(t, zombieReason, se.Error)
	}
	_, err = e.s.Resume(ctx, SuspendedQuery{Entries: []EntryID{list[0].ID}})
	require.ErrorIs(t, err, ErrNotResumable)
	// Correlated messages no longer find the instance.
	_, _, err = e.s.Publish(ctx, typedMsg("item", Promoted(poProp, Int64(1))))
	require.ErrorIs(t, err, ErrNoSubscribers)
	e.reopen()
	inst, err = e.s.Instance(ctx, id)
	require.NoError(t, err)
	require.Equal(t, 2, inst.Pending)
	require.NoError(t, e.s.terminateInstance(ctx, id))
	_, err = e.s.Instance(ctx, id)
	require.ErrorIs(t, err, ErrNotFound)
	n, err := e.s.CountSuspended(ctx, SuspendedQuery{Kind: Instance})
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestInstance_DehydrateRehydrate(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Wait", "start"))
	e.publish(typedMsg("start"))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	r := e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, State: []byte("waiting"), Dehydrate: true,
		Initialize: []CorrelationSet{{Name: "c", Properties: []Property{Promoted(poProp, String("x"))}}}, Follow: []string{"c"}})
	require.Equal(t, StateDehydrated, r.State)
	require.Len(t, e.s.Instances(InstanceQuery{State: StateDehydrated}), 1)
	e.reopen()
	require.Len(t, e.s.Instances(InstanceQuery{State: StateDehydrated}), 1)
	e.publish(typedMsg("reply", Promoted(poProp, String("x"))))
	inst, err := e.s.Instance(ctx, id)
	require.NoError(t, err)
	require.Equal(t, StateReadyToRun, inst.State, "a message rehydrates it")
	ds = e.dequeue("orch", 1)
	require.Equal(t, []byte("waiting"), ds[0].Instance.Data, "its state is handed back")
	e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, Complete: true})
}

func TestInstance_TerminateRemovesQueued(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("T", "start"))
	e.publish(typedMsg("start"))
	id := e.s.Instances(InstanceQuery{})[0].ID
	ds := e.dequeue("orch", 1)
	e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease},
		Initialize: []CorrelationSet{{Name: "c", Properties: []Property{Promoted(poProp, Int64(5))}}}})
	e.publish(typedMsg("x", Promoted(poProp, Int64(5))))
	e.publish(typedMsg("x", Promoted(poProp, Int64(5))))
	leased := e.dequeue("orch", 1)
	require.NoError(t, e.s.terminateInstance(ctx, id))
	require.ErrorIs(t, e.s.Complete(ctx, leased[0].Lease), ErrLeaseLost)
	st := e.s.Stats()
	require.Zero(t, st.Messages)
	require.Zero(t, st.Instances)
	require.Len(t, e.s.Subscriptions(), 1)
}

// TestInstance_ExtraWrites commits another store's writes with the
// persistence point.
func TestInstance_ExtraWrites(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("X", "start"))
	e.publish(typedMsg("start"))
	ds := e.dequeue("orch", 1)
	key := []byte{0x20, 1}
	e.persist(PersistPoint{Instance: ds[0].Instance.ID, Consumed: []Lease{ds[0].Lease}, Extra: func(tx Tx) error {
		b, err := tx.Batch(e.set.DB(store.Tracking).Reader())
		if err != nil {
			return err
		}
		return b.Set(key, []byte("tracked"), nil)
	}})
	v, c, err := e.set.DB(store.Tracking).Get(key)
	require.NoError(t, err)
	require.Equal(t, "tracked", string(v))
	require.NoError(t, c.Close())
	_, err = e.s.Persist(ctx, PersistPoint{Instance: ds[0].Instance.ID, Extra: func(Tx) error { return fmt.Errorf("no") }})
	require.Error(t, err)
}

// TestInstance_ConcurrentPublishAndComplete races correlated publishes
// against the instance's persistence points and completion: every message
// is either consumed or left as a zombie (or, once the instance is gone,
// a routing failure).
func TestInstance_ConcurrentPublishAndComplete(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("C", "start"))
	e.publish(typedMsg("start"))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease},
		Initialize: []CorrelationSet{{Name: "c", Properties: []Property{Promoted(poProp, Int64(1))}}}})
	const n = 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	routed, unrouted := 0, 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 3 {
				_, _, err := e.s.Publish(ctx, typedMsg("x", Promoted(poProp, Int64(1))))
				mu.Lock()
				if err != nil {
					require.ErrorIs(t, err, ErrNoSubscribers)
					unrouted++
				} else {
					routed++
				}
				mu.Unlock()
			}
		}()
	}
	consumed := 0
	for consumed < n/2 {
		ds := e.dequeue("orch", 5)
		var ls []Lease
		for _, d := range ds {
			ls = append(ls, d.Lease)
		}
		if len(ls) == 0 {
			continue
		}
		_, err := e.s.Persist(ctx, PersistPoint{Instance: id, Consumed: ls})
		require.NoError(t, err)
		consumed += len(ls)
	}
	var res PersistResult
	for {
		var err error
		res, err = e.s.Persist(ctx, PersistPoint{Instance: id, Complete: true})
		if !errors.Is(err, ErrInstanceBusy) {
			require.NoError(t, err)
			break
		}
	}
	wg.Wait()
	require.Equal(t, n, routed+unrouted)
	require.Equal(t, routed, consumed+len(res.Zombies))
}

func TestInstance_SuspendResume(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("S", "start"))
	e.publish(typedMsg("start"))
	e.publish(typedMsg("start"))
	insts := e.s.Instances(InstanceQuery{})
	require.Len(t, insts, 2)
	require.NoError(t, e.s.suspendInstance(ctx, insts[0].ID, "operator"))
	ds := e.dequeue("orch", 10)
	require.Len(t, ds, 1, "a suspended instance's messages are not delivered")
	require.Equal(t, insts[1].ID, ds[0].Instance.ID)
	e.reopen()
	got, err := e.s.Instance(ctx, insts[0].ID)
	require.NoError(t, err)
	require.Equal(t, StateSuspendedResumable, got.State)
	require.Equal(t, "operator", got.Error)
	require.ErrorIs(t, e.s.resumeInstance(ctx, insts[1].ID), ErrNotResumable)
	n, err := e.s.ResumeInstances(ctx, InstanceQuery{Service: "S"})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err = e.s.Instance(ctx, insts[0].ID)
	require.NoError(t, err)
	require.Equal(t, StateReadyToRun, got.State)
	require.Len(t, e.dequeue("orch", 10), 2, "both deliverable again (the other's lease was lost in the reopen)")
	n, err = e.s.TerminateInstances(ctx, InstanceQuery{})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Zero(t, e.s.Stats().Messages)
}

func TestInstance_CompletePublishingToItself(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Self", "start"))
	e.publish(typedMsg("start"))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease},
		Initialize: []CorrelationSet{{Name: "c", Properties: []Property{Promoted(poProp, Int64(9))}}}})
	r := e.persist(PersistPoint{Instance: id, Complete: true, Publish: []*Message{typedMsg("echo", Promoted(poProp, Int64(9)))}})
	require.Equal(t, StateCompletedWithDiscardedMessages, r.State)
	require.Len(t, r.Zombies, 1)
	require.Empty(t, e.dequeue("orch", 10))
	e.reopen()
	require.NoError(t, e.s.terminateInstance(ctx, id))
	require.Zero(t, e.s.Stats().Messages)
}

// TestInstance_ZombieWhileLeased is the redelivery case of a crash: a
// host holds leases on two messages of one instance, persists the first
// with Complete, and then the second. The second persist gets ErrZombie
// (not ErrNotFound), and its message is already suspended as a zombie,
// not resumable: nothing for the host to undo.
func TestInstance_ZombieWhileLeased(t *testing.T) {
	e := newEnv(t, nil)
	e.orch()
	e.subscribe(orchSub("Loop", "start"))
	e.publish(typedMsg("start"))
	ds := e.dequeue("orch", 1)
	id := ds[0].Instance.ID
	e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease},
		Initialize: []CorrelationSet{{Name: "c", Properties: []Property{Promoted(poProp, Int64(1))}}}})
	for range 2 {
		e.publish(typedMsg("item", Promoted(poProp, Int64(1))))
	}
	ds = e.dequeue("orch", 2)
	require.Len(t, ds, 2)
	r := e.persist(PersistPoint{Instance: id, Consumed: []Lease{ds[0].Lease}, Complete: true})
	require.Equal(t, StateCompletedWithDiscardedMessages, r.State)
	require.Equal(t, []EntryID{ds[1].Lease.Entry}, r.Zombies)

	_, err := e.s.Persist(ctx, PersistPoint{Instance: id, Consumed: []Lease{ds[1].Lease}, Complete: true})
	require.ErrorIs(t, err, ErrZombie)
	require.NotErrorIs(t, err, ErrNotFound)
	se, err := e.s.GetSuspended(ctx, ds[1].Lease.Entry)
	require.NoError(t, err)
	require.False(t, se.Resumable)
	require.Equal(t, zombieReason, se.Error)
	require.ErrorIs(t, e.s.suspendInstance(ctx, id, "ops"), ErrZombie)
	n, err := e.s.SuspendInstances(ctx, InstanceQuery{}, "ops")
	require.NoError(t, err, "bulk operations skip zombies")
	require.Zero(t, n)
}
