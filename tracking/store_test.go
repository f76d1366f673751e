package tracking

import (
	"context"
	"github.com/biztier/biztier/internal/codec"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

const (
	propOrderID = "http://schemas.example.com/po#OrderID"
	propSecret  = "http://schemas.example.com/po#CardNumber"
)

var (
	rpID, orchID, spID = id(1), id(2), id(3)
	m0, m1, m2         = id(10), id(11), id(12)
	sub1               = id(20)
)

// messagingFlow is a receive port → send port flow (BizTalk Benchmark
// Wizard's "messaging" scenario), one step per transaction as the
// MessageBox commits them.
func messagingFlow() [][]Event {
	props := []Property{{Name: propOrderID, Value: "42"}, {Name: propSecret, Value: "4111"}}
	return [][]Event{
		{{Kind: InstanceStarted, InstanceID: rpID, Service: "RP_Orders", ServiceType: ServiceReceivePort, Host: "Recv"}},
		{
			{Kind: MessageReceived, InstanceID: rpID, MessageID: m1, Service: "RP_Orders", ServiceType: ServiceReceivePort,
				Port: "RP_Orders", Adapter: "FILE", URL: `C:\in\*.xml`, Size: 2048, Properties: props, Host: "Recv"},
			{Kind: MessageSent, InstanceID: rpID, MessageID: m1, Port: "RP_Orders", Size: 2048, Properties: props, Host: "Recv"},
			{Kind: InstanceCompleted, InstanceID: rpID},
			{Kind: MessageRouted, MessageID: m1, Subscription: sub1, Host: "Send"},
		},
		{{Kind: InstanceStarted, InstanceID: spID, Service: "SP_Orders", ServiceType: ServiceSendPort, Host: "Send"}},
		{{Kind: MessageReceived, InstanceID: spID, MessageID: m1, Port: "SP_Orders", Subscription: sub1, Size: 2048, Host: "Send"}},
		{
			{Kind: MessageSent, InstanceID: spID, MessageID: m1, Port: "SP_Orders", Adapter: "FILE", URL: `C:\out\%MessageID%.xml`, Size: 2048, Host: "Send"},
			{Kind: InstanceCompleted, InstanceID: spID},
		},
	}
}

// orchestrationFlow is receive port → orchestration → send port, with the
// orchestration dehydrating and being suspended and resumed on the way.
func orchestrationFlow() [][]Event {
	return [][]Event{
		{{Kind: InstanceStarted, InstanceID: rpID, Service: "RP_Orders", ServiceType: ServiceReceivePort}},
		{
			{Kind: MessageReceived, InstanceID: rpID, MessageID: m0, Port: "RP_Orders", Adapter: "HTTP", Size: 2048},
			{Kind: MessageSent, InstanceID: rpID, MessageID: m1, Port: "RP_Orders", Size: 2100,
				Properties: []Property{{Name: propOrderID, Value: "7"}}},
			{Kind: InstanceCompleted, InstanceID: rpID},
		},
		{
			{Kind: InstanceStarted, InstanceID: orchID, Service: "Orders.ProcessOrder", ServiceType: ServiceOrchestration, Host: "Orch"},
			{Kind: MessageReceived, InstanceID: orchID, MessageID: m1, Port: "ReceiveOrder", ServiceType: ServiceOrchestration, Service: "Orders.ProcessOrder"},
		},
		{{Kind: InstanceDehydrated, InstanceID: orchID}},
		{{Kind: InstanceRehydrated, InstanceID: orchID, Host: "Orch2"}},
		{{Kind: InstanceSuspended, InstanceID: orchID, Error: "credit check service unavailable"}},
		{{Kind: InstanceResumed, InstanceID: orchID}},
		{
			{Kind: MessageSent, InstanceID: orchID, MessageID: m2, Port: "SendInvoice", ServiceType: ServiceOrchestration, Service: "Orders.ProcessOrder"},
			{Kind: InstanceCompleted, InstanceID: orchID},
		},
		{
			{Kind: InstanceStarted, InstanceID: spID, Service: "SP_Invoices", ServiceType: ServiceSendPort},
			{Kind: MessageReceived, InstanceID: spID, MessageID: m2, Port: "SP_Invoices"},
			{Kind: MessageSent, InstanceID: spID, MessageID: m2, Port: "SP_Invoices", Adapter: "SFTP"},
			{Kind: InstanceCompleted, InstanceID: spID},
		},
	}
}

// play records each step in its own transaction, one second apart.
func (e *testEnv) play(t testing.TB, steps [][]Event) {
	t.Helper()
	for _, evs := range steps {
		e.clock.Advance(time.Second)
		e.record(t, evs...)
	}
}

func TestStore_MessagingFlow(t *testing.T) {
	ctx := context.Background()
	prof := &Profile{Default: Settings{Instances: true, Messages: true, Properties: []string{propOrderID}}}
	e := newEnv(t, nil, &Options{Profile: prof})
	start := e.clock.Now()
	e.play(t, messagingFlow())

	// Instances by service, by state, by time.
	got := allInstances(t, e.s, InstanceQuery{Service: "RP_Orders"})
	require.Equal(t, []uuid.UUID{rpID}, instanceIDs(got))
	require.Equal(t, StateCompleted, got[0].State)
	require.Equal(t, ServiceReceivePort, got[0].ServiceType)
	require.Equal(t, "Recv", got[0].Host)
	require.False(t, got[0].Ended.IsZero())
	require.Equal(t, []uuid.UUID{spID, rpID}, instanceIDs(allInstances(t, e.s, InstanceQuery{State: StateCompleted})))
	require.Empty(t, allInstances(t, e.s, InstanceQuery{State: StateRunning}))
	require.Equal(t, []uuid.UUID{rpID, spID}, instanceIDs(allInstances(t, e.s, InstanceQuery{OldestFirst: true})))
	require.Equal(t, []uuid.UUID{spID}, instanceIDs(allInstances(t, e.s, InstanceQuery{From: start.Add(2500 * time.Millisecond)})))
	require.Equal(t, []uuid.UUID{rpID}, instanceIDs(allInstances(t, e.s, InstanceQuery{To: start.Add(2500 * time.Millisecond)})))

	// Every message event of m1, newest first.
	evs := allEvents(t, e.s, MessageEventQuery{MessageID: m1})
	require.Equal(t, []EventKind{MessageSent, MessageReceived, MessageRouted, MessageSent, MessageReceived}, kinds(evs))
	require.Equal(t, spID, evs[0].InstanceID)
	require.Equal(t, DirectionOut, evs[0].Direction)
	require.Equal(t, "FILE", evs[0].Adapter)
	require.Equal(t, uuid.Nil, evs[2].InstanceID, "the routing event belongs to no instance")
	require.Equal(t, sub1, evs[2].Subscription)
	require.Equal(t, DirectionIn, evs[4].Direction)
	require.Equal(t, int64(2048), evs[4].Size)
	require.Equal(t, []Property{{Name: propOrderID, Value: "42"}}, evs[4].Properties, "only chosen properties are kept")
	for i := 1; i < len(evs); i++ {
		require.True(t, evs[i-1].Recorded.After(evs[i].Recorded), "newest first")
	}

	// By instance, port, property, kind, time.
	require.Equal(t, []EventKind{MessageSent, MessageReceived}, kinds(allEvents(t, e.s, MessageEventQuery{InstanceID: rpID})))
	require.Equal(t, []EventKind{MessageReceived, MessageSent}, kinds(allEvents(t, e.s, MessageEventQuery{InstanceID: rpID, OldestFirst: true})))
	require.Len(t, allEvents(t, e.s, MessageEventQuery{Port: "SP_Orders"}), 2)
	require.Len(t, allEvents(t, e.s, MessageEventQuery{Property: &Property{Name: propOrderID, Value: "42"}}), 2)
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{Property: &Property{Name: propSecret, Value: "4111"}}))
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{Property: &Property{Name: propOrderID, Value: "43"}}))
	require.Len(t, allEvents(t, e.s, MessageEventQuery{Kind: MessageSent}), 2)
	require.Len(t, allEvents(t, e.s, MessageEventQuery{MessageID: m1, From: start.Add(3 * time.Second)}), 2)
	require.Len(t, allEvents(t, e.s, MessageEventQuery{From: start.Add(2 * time.Second), To: start.Add(4 * time.Second)}), 3)
	require.Len(t, allEvents(t, e.s, MessageEventQuery{InstanceID: spID, From: start.Add(5 * time.Second)}), 1)

	// Paging: pages of 2 give every event exactly once, in order.
	var paged []MessageEvent
	q := MessageEventQuery{Limit: 2}
	pages := 0
	for {
		p, err := e.s.MessageEvents(ctx, q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(p.Events), 2)
		paged = append(paged, p.Events...)
		pages++
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	require.Equal(t, 3, pages)
	require.Equal(t, allEvents(t, e.s, MessageEventQuery{}), paged)
	require.Len(t, paged, 5)

	// Bodies are off by default.
	_, err := e.s.TrackedMessage(ctx, m1)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestStore_OrchestrationFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	steps := orchestrationFlow()
	// Stop before the resume: the orchestration is suspended.
	e.play(t, steps[:6])
	sus := allInstances(t, e.s, InstanceQuery{State: StateSuspended})
	require.Equal(t, []uuid.UUID{orchID}, instanceIDs(sus))
	require.Equal(t, "credit check service unavailable", sus[0].Error)
	require.Equal(t, "Orch2", sus[0].Host)
	e.play(t, steps[6:])

	inst, err := e.s.Instance(ctx, orchID)
	require.NoError(t, err)
	require.Equal(t, StateCompleted, inst.State)
	require.Equal(t, "Orders.ProcessOrder", inst.Service)
	require.Equal(t, ServiceOrchestration, inst.ServiceType)
	var hist []EventKind
	for _, h := range inst.History {
		hist = append(hist, h.Kind)
	}
	require.Equal(t, []EventKind{InstanceStarted, InstanceDehydrated, InstanceRehydrated,
		InstanceSuspended, InstanceResumed, InstanceCompleted}, hist)
	require.Equal(t, "credit check service unavailable", inst.History[3].Error)
	require.Empty(t, allInstances(t, e.s, InstanceQuery{State: StateSuspended}), "the state index moved")
	require.Equal(t, []uuid.UUID{spID, orchID, rpID}, instanceIDs(allInstances(t, e.s, InstanceQuery{State: StateCompleted})))
	require.Equal(t, []uuid.UUID{orchID}, instanceIDs(allInstances(t, e.s, InstanceQuery{Service: "Orders.ProcessOrder", State: StateCompleted})))
	require.Empty(t, allInstances(t, e.s, InstanceQuery{Service: "Orders.ProcessOrder", State: StateRunning}))

	require.Equal(t, []EventKind{MessageSent, MessageReceived}, kinds(allEvents(t, e.s, MessageEventQuery{InstanceID: orchID})))
	require.Len(t, allEvents(t, e.s, MessageEventQuery{}), 6)
	_, err = e.s.Instance(ctx, id(99))
	require.ErrorIs(t, err, ErrNotFound)
}

func TestStore_MessageFlow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	e.play(t, orchestrationFlow())

	// From the orchestration's input: the receive port upstream, the
	// orchestration and the send port downstream.
	f, err := e.s.MessageFlow(ctx, m1, nil)
	require.NoError(t, err)
	require.False(t, f.Truncated)
	require.ElementsMatch(t, []uuid.UUID{rpID, orchID, spID}, instanceIDs(f.Instances))
	type edge struct {
		m, i uuid.UUID
		d    Direction
	}
	var edges []edge
	for _, x := range f.Edges {
		edges = append(edges, edge{x.MessageID, x.InstanceID, x.Direction})
	}
	require.ElementsMatch(t, []edge{
		{m1, rpID, DirectionOut}, {m0, rpID, DirectionIn}, // upstream
		{m1, orchID, DirectionIn}, {m2, orchID, DirectionOut}, // downstream
		{m2, spID, DirectionIn}, {m2, spID, DirectionOut},
	}, edges)

	// From the send port's output: everything upstream, nothing after.
	f, err = e.s.MessageFlow(ctx, m2, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{orchID, rpID, spID}, instanceIDs(f.Instances))

	// From the first message, downstream only reaches everything.
	f, err = e.s.MessageFlow(ctx, m0, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{rpID, orchID, spID}, instanceIDs(f.Instances))

	// From the orchestration: its producer and its consumer.
	f, err = e.s.InstanceFlow(ctx, orchID, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{orchID, rpID, spID}, instanceIDs(f.Instances))

	// Depth 1 stops at the neighbours.
	f, err = e.s.MessageFlow(ctx, m0, &FlowOptions{MaxDepth: 1})
	require.NoError(t, err)
	require.True(t, f.Truncated)
	require.ElementsMatch(t, []uuid.UUID{rpID}, instanceIDs(f.Instances))
}

func TestStore_Profile(t *testing.T) {
	ctx := context.Background()
	prof := &Profile{
		Default: DefaultSettings,
		Ports: map[string]Settings{
			"SP_Audit": {Messages: true, Bodies: true, Properties: []string{propOrderID}},
			"SP_Quiet": {},
		},
		Orchestrations: map[string]Settings{"Orders.Untracked": {}},
		Subscriptions:  map[uuid.UUID]Settings{sub1: {Messages: true, Properties: []string{propSecret}}},
	}
	e := newEnv(t, nil, &Options{Profile: prof})
	body := &Body{
		Context: []Property{{Name: propOrderID, Value: "42"}, {Name: "BTS#ReceivePortName", Value: "RP"}},
		Parts:   []Part{{Name: "body", ContentType: "text/xml", Data: []byte("<po id='42'/>")}},
	}
	props := []Property{{Name: propOrderID, Value: "42"}, {Name: propSecret, Value: "4111"}}
	e.record(t,
		Event{Kind: MessageSent, InstanceID: spID, MessageID: m1, Port: "SP_Audit", Properties: props, Body: body},
		Event{Kind: MessageSent, InstanceID: spID, MessageID: m2, Port: "SP_Quiet", Body: body},
		Event{Kind: MessageRouted, MessageID: m0, Subscription: sub1, Port: "SP_Audit", Properties: props, Body: body},
		Event{Kind: InstanceStarted, InstanceID: orchID, Service: "Orders.Untracked", ServiceType: ServiceOrchestration},
		Event{Kind: MessageReceived, InstanceID: rpID, MessageID: m2, Port: "RP", Body: body},
	)
	tm, err := e.s.TrackedMessage(ctx, m1)
	require.NoError(t, err)
	require.Equal(t, spID, tm.InstanceID)
	require.Equal(t, *body, tm.Body)
	evs := allEvents(t, e.s, MessageEventQuery{MessageID: m1})
	require.Len(t, evs, 1)
	require.True(t, evs[0].HasBody)
	require.Equal(t, []Property{{Name: propOrderID, Value: "42"}}, evs[0].Properties)

	require.Empty(t, allEvents(t, e.s, MessageEventQuery{Port: "SP_Quiet"}), "port settings turn tracking off")
	sub := allEvents(t, e.s, MessageEventQuery{MessageID: m0})
	require.Len(t, sub, 1, "subscription settings win over the port's")
	require.Equal(t, []Property{{Name: propSecret, Value: "4111"}}, sub[0].Properties)
	_, err = e.s.TrackedMessage(ctx, m0)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = e.s.Instance(ctx, orchID)
	require.ErrorIs(t, err, ErrNotFound, "orchestration settings turn tracking off")
	rp := allEvents(t, e.s, MessageEventQuery{InstanceID: rpID})
	require.Len(t, rp, 1)
	require.False(t, rp[0].HasBody, "bodies are off by default")

	// Changing the profile takes effect for later events.
	e.s.SetProfile(&Profile{})
	e.record(t, Event{Kind: MessageSent, InstanceID: spID, MessageID: id(50), Port: "SP_Audit"})
	require.Empty(t, allEvents(t, e.s, MessageEventQuery{MessageID: id(50)}))
}

// TestStore_AbortedTxnNotRecorded checks that tracking writes live and die
// with the caller's transaction, and that an invalid event adds nothing.
func TestStore_AbortedTxnNotRecorded(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	e.record(t, Event{Kind: InstanceStarted, InstanceID: orchID, Service: "O"})

	tx := e.set.NewTxn()
	require.NoError(t, e.s.Record(tx, []Event{
		{Kind: MessageReceived, InstanceID: orchID, MessageID: m1, Port: "P"},
		{Kind: InstanceCompleted, InstanceID: orchID},
		{Kind: InstanceStarted, InstanceID: spID, Service: "S"},
	}))
	tx.Abort() // the operation failed

	require.Empty(t, allEvents(t, e.s, MessageEventQuery{}))
	inst, err := e.s.Instance(ctx, orchID)
	require.NoError(t, err)
	require.Equal(t, StateRunning, inst.State)
	require.Len(t, inst.History, 1)
	_, err = e.s.Instance(ctx, spID)
	require.ErrorIs(t, err, ErrNotFound)
	require.Empty(t, allInstances(t, e.s, InstanceQuery{State: StateCompleted}))

	// An invalid event fails the call and adds nothing to the Txn.
	tx = e.set.NewTxn()
	err = e.s.Record(tx, []Event{
		{Kind: MessageSent, InstanceID: orchID, MessageID: m2},
		{Kind: MessageSent, InstanceID: orchID}, // no message ID
	})
	require.ErrorIs(t, err, ErrInvalidEvent)
	require.True(t, tx.Empty())
	tx.Abort()
	for _, bad := range []Event{{Kind: 0}, {Kind: maxEventKind + 1}, {Kind: InstanceStarted}, {Kind: MessageSent, MessageID: m1, Direction: 9}} {
		tx = e.set.NewTxn()
		require.ErrorIs(t, e.s.Record(tx, []Event{bad}), ErrInvalidEvent, "%+v", bad)
		tx.Abort()
	}

	// A commit that fails (the group is closed) records nothing either.
	set2 := openSet(t, vfs.NewMem())
	s2, err := Open(dbOf(set2), &Options{PurgeInterval: -1})
	require.NoError(t, err)
	tx = set2.NewTxn()
	require.NoError(t, s2.Record(tx, []Event{{Kind: MessageSent, MessageID: m1}}))
	require.NoError(t, set2.Close())
	_, err = tx.Commit(ctx)
	require.Error(t, err)
	require.NoError(t, s2.Close())
	_, err = s2.MessageEvents(ctx, MessageEventQuery{})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, s2.Record(set2.NewTxn(), nil), ErrClosed)
}

func TestStore_ReopenKeepsDataAndStamps(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := newTestClock()
	set := openSet(t, fs)
	s, err := Open(dbOf(set), &Options{Clock: clock.Now, PurgeInterval: -1})
	require.NoError(t, err)
	tx := set.NewTxn()
	require.NoError(t, s.Record(tx, []Event{{Kind: MessageSent, MessageID: m1}, {Kind: MessageSent, MessageID: m1}}))
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
	require.NoError(t, set.Close())

	// The clock did not move: stamps must still not collide.
	set = openSet(t, fs)
	defer set.Close()
	s, err = Open(dbOf(set), &Options{Clock: clock.Now, PurgeInterval: -1})
	require.NoError(t, err)
	defer s.Close()
	tx = set.NewTxn()
	require.NoError(t, s.Record(tx, []Event{{Kind: MessageSent, MessageID: m1}}))
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
	require.Len(t, allEvents(t, s, MessageEventQuery{MessageID: m1}), 3)
}

func TestOpen_InvalidOptions(t *testing.T) {
	set := openSet(t, vfs.NewMem())
	defer set.Close()
	for _, o := range []Options{
		{LiveWindow: time.Second},
		{LiveWindow: time.Hour, HardDeleteAge: time.Hour},
		{PurgeBatchRows: -1},
	} {
		_, err := Open(dbOf(set), &o)
		require.ErrorIs(t, err, ErrInvalidOptions, "%+v", o)
	}
}

// TestStore_RacingLifecycleEvents builds two transactions on one instance
// before either commits. The last to commit decides the state; the state
// index entry the other left must not show in queries or confuse purge.
func TestStore_RacingLifecycleEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, &Options{LiveWindow: time.Hour})
	e.record(t, Event{Kind: InstanceStarted, InstanceID: orchID, Service: "O"})
	e.clock.Advance(time.Second)
	tx1, tx2 := e.set.NewTxn(), e.set.NewTxn()
	require.NoError(t, e.s.Record(tx1, []Event{{Kind: InstanceCompleted, InstanceID: orchID}}))
	require.NoError(t, e.s.Record(tx2, []Event{{Kind: InstanceSuspended, InstanceID: orchID}}))
	_, err := tx1.Commit(ctx)
	require.NoError(t, err)
	_, err = tx2.Commit(ctx)
	require.NoError(t, err)

	inst, err := e.s.Instance(ctx, orchID)
	require.NoError(t, err)
	require.Equal(t, StateSuspended, inst.State)
	require.Empty(t, allInstances(t, e.s, InstanceQuery{State: StateCompleted}))
	require.Len(t, allInstances(t, e.s, InstanceQuery{State: StateSuspended}), 1)

	// The stale finished entry is dropped, the suspended instance kept.
	e.clock.Advance(2 * time.Hour)
	res, err := e.s.Purge(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Instances)
	_, err = e.s.Instance(ctx, orchID)
	require.NoError(t, err)
}

func TestOpen_FormatTooNew(t *testing.T) {
	fs := vfs.NewMem()
	set := openSet(t, fs)
	defer set.Close()
	tx := set.NewTxn()
	require.NoError(t, tx.BatchOf(store.Tracking).Set(formatKey, []byte{formatVersion + 1}, nil))
	_, err := tx.Commit(context.Background())
	require.NoError(t, err)
	_, err = Open(dbOf(set), &Options{PurgeInterval: -1})
	require.ErrorIs(t, err, ErrFormatTooNew)

	tx = set.NewTxn()
	require.NoError(t, tx.BatchOf(store.Tracking).Set(formatKey, []byte{0x80}, nil))
	_, err = tx.Commit(context.Background())
	require.NoError(t, err)
	_, err = Open(dbOf(set), &Options{PurgeInterval: -1})
	require.True(t, IsCorruption(err), "%v", err)
}

func TestStore_RecordNothingTracked(t *testing.T) {
	e := newEnv(t, nil, &Options{Profile: &Profile{}})
	tx := e.set.NewTxn()
	defer tx.Abort()
	require.NoError(t, e.s.Record(tx, []Event{{Kind: MessageSent, MessageID: m1}, {Kind: InstanceStarted, InstanceID: orchID}}))
	require.NoError(t, e.s.Record(tx, nil))
	require.True(t, tx.Empty(), "an operation with nothing tracked writes nothing to the tracking database")
}

// TestStore_RestartedInstance starts an instance twice (a redelivery): the
// second start replaces the record, the first start's index entries are
// never returned, and purge removes them.
func TestStore_RestartedInstance(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, &Options{LiveWindow: time.Hour, HardDeleteAge: 2 * time.Hour})
	e.record(t, Event{Kind: InstanceStarted, InstanceID: orchID, Service: "O"},
		Event{Kind: InstanceSuspended, InstanceID: orchID, Error: "x"})
	e.clock.Advance(time.Minute)
	e.record(t, Event{Kind: InstanceStarted, InstanceID: orchID, Service: "O"})
	require.Equal(t, []uuid.UUID{orchID}, instanceIDs(allInstances(t, e.s, InstanceQuery{})))
	require.Equal(t, []uuid.UUID{orchID}, instanceIDs(allInstances(t, e.s, InstanceQuery{Service: "O"})))
	require.Empty(t, allInstances(t, e.s, InstanceQuery{State: StateSuspended}))
	require.Len(t, allInstances(t, e.s, InstanceQuery{State: StateRunning}), 1)
	inst, err := e.s.Instance(ctx, orchID)
	require.NoError(t, err)
	// The first run's suspension and the second start: the first start
	// was kept in the row the second replaced.
	require.Equal(t, []EventKind{InstanceSuspended, InstanceStarted}, historyKinds(inst))

	e.clock.Advance(3 * time.Hour)
	_, err = e.s.Purge(ctx)
	require.NoError(t, err)
	st, err := e.s.Stats(ctx)
	require.NoError(t, err)
	for _, ts := range st.Tables {
		if ts.Table != "TrackingMeta" {
			require.Zero(t, ts.Rows, ts.Table)
		}
	}
}

func historyKinds(inst *Instance) []EventKind {
	var out []EventKind
	for _, h := range inst.History {
		out = append(out, h.Kind)
	}
	return out
}

// TestStore_HistoryInRow checks that the start and completion kept in the
// instance row read back as lifecycle events with their own host, error
// and times, in order among the rows of the other events, whether the
// events were recorded one call each or together.
func TestStore_HistoryInRow(t *testing.T) {
	ev := func(k EventKind, host, err string) Event {
		return Event{Kind: k, InstanceID: orchID, Service: "O", Host: host, Error: err}
	}
	flow := []Event{ev(InstanceStarted, "H1", ""), ev(InstanceSuspended, "H1", "down"),
		ev(InstanceResumed, "H2", ""), ev(InstanceCompleted, "H3", "late")}
	type want struct {
		kind  EventKind
		host  string
		error string
	}
	all := []want{{InstanceStarted, "H1", ""}, {InstanceSuspended, "H1", "down"}, {InstanceResumed, "H2", ""}, {InstanceCompleted, "H3", "late"}}
	tests := map[string]struct {
		calls [][]Event
		want  []want
	}{
		"one call each":  {[][]Event{flow[:1], flow[1:2], flow[2:3], flow[3:]}, all},
		"one call":       {[][]Event{flow}, all},
		"started, ended": {[][]Event{{flow[0], flow[3]}}, []want{all[0], all[3]}},
		"started twice in one call": {[][]Event{{flow[0], flow[1], ev(InstanceStarted, "H4", "")}},
			[]want{all[0], all[1], {InstanceStarted, "H4", ""}}},
		"an event after the completion": {[][]Event{{flow[0], flow[3]}, {ev(InstanceTerminated, "H5", "gone")}},
			[]want{all[0], all[3], {InstanceTerminated, "H5", "gone"}}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			for _, call := range tt.calls {
				e.clock.Advance(time.Second)
				e.record(t, call...)
			}
			inst, err := e.s.Instance(context.Background(), orchID)
			require.NoError(t, err)
			var got []want
			for i, h := range inst.History {
				got = append(got, want{h.Kind, h.Host, h.Error})
				if i > 0 {
					require.True(t, inst.History[i-1].Recorded.Before(h.Recorded), "history out of order: %v", inst.History)
				}
			}
			require.Equal(t, tt.want, got)
			require.Equal(t, inst.Started, inst.History[0].At)
		})
	}
}

// TestDecodeInstance_version1 reads an instance row written before the
// row kept its start and completion: it has no notes, and its history is
// its lifecycle rows alone.
func TestDecodeInstance_version1(t *testing.T) {
	r := instanceRow{service: "O", host: "H", state: StateCompleted, start: 1, end: 2, last: 2, lastError: "x"}
	var e codec.Encoder
	r.encode(&e)
	v1 := e.Encoded()
	v1 = append([]byte{1}, v1[1:len(v1)-6]...) // version 1, without the two notes
	got, err := decodeInstance(v1)
	require.NoError(t, err)
	require.Equal(t, r, got)
	require.Empty(t, impliedHistory(nil, &got))
}
