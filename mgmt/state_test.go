package mgmt_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/biztier/biztier/mgmt"
	"github.com/stretchr/testify/require"
)

var (
	archive = mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Orders.Archive"}
	mail    = mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Orders.Mail"}
	dynamic = mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Orders.Dynamic"}
	notify  = mgmt.Ref{Kind: mgmt.KindSendPortGroup, Name: "Notifications"}
	fulfil  = mgmt.Ref{Kind: mgmt.KindOrchestration, Name: "Orders.Processes.Fulfil"}
	inFile  = mgmt.Ref{Kind: mgmt.KindReceiveLocation, Name: "OrdersIn.File"}
	hostA   = mgmt.Ref{Kind: mgmt.KindHostInstance, Name: "OrdersHost/server-a"}
)

type step struct {
	op    string // enlist, start, stop, unenlist, force
	ref   mgmt.Ref
	queue int // messages to queue on the ref's subscriptions before the step
}

func apply(ctx context.Context, e *env, st step) error {
	if st.queue > 0 {
		for _, s := range e.s.AllSubscriptions() {
			if s.Owner == st.ref || s.Target == st.ref {
				e.subs.setQueued(s.ID, st.queue)
			}
		}
	}
	switch st.op {
	case "enlist":
		return e.s.Enlist(ctx, st.ref)
	case "start":
		return e.s.Start(ctx, st.ref)
	case "stop":
		return e.s.Stop(ctx, st.ref)
	case "unenlist":
		return e.s.Unenlist(ctx, st.ref, false)
	case "force":
		return e.s.Unenlist(ctx, st.ref, true)
	}
	panic(st.op)
}

// state renders an artifact's state for the table.
func state(t *testing.T, e *env, r mgmt.Ref) string {
	t.Helper()
	switch r.Kind {
	case mgmt.KindSendPort:
		p, err := e.s.SendPort(r.Name)
		require.NoError(t, err)
		return p.State.String()
	case mgmt.KindSendPortGroup:
		g, err := e.s.SendPortGroup(r.Name)
		require.NoError(t, err)
		return g.State.String()
	case mgmt.KindOrchestration:
		o, err := e.s.Orchestration(r.Name)
		require.NoError(t, err)
		return o.State.String()
	case mgmt.KindReceiveLocation:
		l, _, err := e.s.ReceiveLocation(r.Name)
		require.NoError(t, err)
		if l.Enabled {
			return "Enabled"
		}
		return "Disabled"
	case mgmt.KindHostInstance:
		hs := e.s.HostInstances("OrdersHost")
		require.Len(t, hs, 1)
		return hs[0].State.String()
	}
	panic(r)
}

func TestStore_Transitions(t *testing.T) {
	tests := []struct {
		name   string
		setup  []step
		step   step
		err    error // nil, mgmt.ErrState or mgmt.ErrMessagesQueued
		state  string
		subs   int  // subscriptions the ref owns afterwards
		active bool // their Active flag
	}{
		{name: "port enlist", step: step{op: "enlist", ref: archive}, state: "Stopped", subs: 2},
		{name: "port start from bound enlists", step: step{op: "start", ref: archive}, state: "Started", subs: 2, active: true},
		{name: "port start from stopped", setup: []step{{op: "enlist", ref: archive}}, step: step{op: "start", ref: archive}, state: "Started", subs: 2, active: true},
		{name: "port stop keeps subscriptions", setup: []step{{op: "start", ref: archive}}, step: step{op: "stop", ref: archive}, state: "Stopped", subs: 2},
		{name: "port stop when bound", step: step{op: "stop", ref: archive}, err: mgmt.ErrState, state: "Bound"},
		{name: "port enlist again is a no-op", setup: []step{{op: "start", ref: archive}}, step: step{op: "enlist", ref: archive}, state: "Started", subs: 2, active: true},
		{name: "port unenlist", setup: []step{{op: "start", ref: archive}}, step: step{op: "unenlist", ref: archive}, state: "Bound"},
		{name: "port unenlist refused while queued", setup: []step{{op: "start", ref: archive}}, step: step{op: "unenlist", ref: archive, queue: 3},
			err: mgmt.ErrMessagesQueued, state: "Started", subs: 2, active: true},
		{name: "port forced unenlist while queued", setup: []step{{op: "start", ref: archive}}, step: step{op: "force", ref: archive, queue: 3}, state: "Bound"},
		{name: "port without filter has its transport subscription", step: step{op: "start", ref: dynamic}, state: "Started", subs: 1, active: true},
		{name: "group enlist with no enlisted member", step: step{op: "enlist", ref: notify}, state: "Stopped", subs: 0},
		{name: "group start needs an enlisted member", step: step{op: "start", ref: notify}, err: mgmt.ErrState, state: "Bound"},
		{name: "group start with stopped members", setup: []step{{op: "enlist", ref: archive}, {op: "enlist", ref: mail}}, step: step{op: "start", ref: notify},
			state: "Started", subs: 4},
		{name: "group members started", setup: []step{{op: "start", ref: archive}, {op: "start", ref: mail}}, step: step{op: "start", ref: notify},
			state: "Started", subs: 4, active: true},
		{name: "last enlisted member of an enlisted group", setup: []step{{op: "start", ref: archive}, {op: "start", ref: notify}},
			step: step{op: "unenlist", ref: archive}, err: mgmt.ErrState, state: "Started", subs: 2, active: true},
		{name: "group stop", setup: []step{{op: "start", ref: archive}, {op: "start", ref: notify}}, step: step{op: "stop", ref: notify}, state: "Stopped", subs: 2},
		{name: "group unenlist refused while queued", setup: []step{{op: "start", ref: archive}, {op: "start", ref: notify}},
			step: step{op: "unenlist", ref: notify, queue: 1}, err: mgmt.ErrMessagesQueued, state: "Started", subs: 2, active: true},
		{name: "orchestration enlist", setup: []step{{op: "start", ref: archive}}, step: step{op: "enlist", ref: fulfil}, state: "Enlisted", subs: 1},
		{name: "orchestration start", step: step{op: "start", ref: fulfil}, state: "Started", subs: 1, active: true},
		{name: "orchestration stop", setup: []step{{op: "start", ref: fulfil}}, step: step{op: "stop", ref: fulfil}, state: "Enlisted", subs: 1},
		{name: "orchestration stop when unenlisted", step: step{op: "stop", ref: fulfil}, err: mgmt.ErrState, state: "Unenlisted"},
		{name: "orchestration unenlist refused with instances", setup: []step{{op: "start", ref: fulfil}}, step: step{op: "unenlist", ref: fulfil, queue: 1},
			err: mgmt.ErrMessagesQueued, state: "Started", subs: 1, active: true},
		{name: "orchestration unenlist", setup: []step{{op: "start", ref: fulfil}}, step: step{op: "unenlist", ref: fulfil}, state: "Unenlisted"},
		{name: "receive location enable", step: step{op: "start", ref: inFile}, state: "Enabled"},
		{name: "receive location disable", setup: []step{{op: "start", ref: inFile}}, step: step{op: "stop", ref: inFile}, state: "Disabled"},
		{name: "receive location cannot be enlisted", step: step{op: "enlist", ref: inFile}, err: mgmt.ErrState, state: "Disabled"},
		{name: "host instance start", step: step{op: "start", ref: hostA}, state: "Running"},
		{name: "host instance stop", setup: []step{{op: "start", ref: hostA}}, step: step{op: "stop", ref: hostA}, state: "Stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			_, err := importString(t, e.s, readFixture(t, "orders.xml"))
			require.NoError(t, err)
			require.NoError(t, e.s.Update(ctx, func(tx *mgmt.Tx) error {
				return tx.PutHostInstance(&mgmt.HostInstance{Host: "OrdersHost", Server: "server-a"})
			}))
			for _, st := range tc.setup {
				require.NoError(t, apply(ctx, e, st), "setup %s %s", st.op, st.ref)
			}
			before := snap(e.s)
			err = apply(ctx, e, tc.step)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Equal(t, before, snap(e.s), "a refused transition changes nothing")
				if errors.Is(tc.err, mgmt.ErrMessagesQueued) {
					var qe *mgmt.QueuedError
					require.ErrorAs(t, err, &qe)
					require.Equal(t, tc.step.queue, qe.Count)
				} else {
					var se *mgmt.StateError
					require.ErrorAs(t, err, &se)
				}
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.state, state(t, e, tc.step.ref))
			subs := e.s.Subscriptions(tc.step.ref)
			require.Len(t, subs, tc.subs)
			for _, s := range subs {
				require.Equal(t, tc.active, s.Active, s.Name)
			}
			// The MessageBox side holds exactly what mgmt says it owns.
			stored := e.subs.stored(t)
			all := e.s.AllSubscriptions()
			require.Len(t, stored, len(all))
			for _, s := range all {
				require.Contains(t, stored, s.ID)
			}
		})
	}
}

func TestStore_OrchestrationMustBeBound(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	o, err := e.s.Orchestration(fulfil.Name)
	require.NoError(t, err)
	o.Ports[1].SendPortGroup = ""
	require.NoError(t, e.s.Update(ctx, func(tx *mgmt.Tx) error { return tx.PutOrchestration(o) }))
	err = e.s.Enlist(ctx, fulfil)
	require.ErrorIs(t, err, mgmt.ErrState)

	// Bound again and enlisted, its bindings cannot change.
	o.Ports[1].SendPortGroup = "Notifications"
	o.Activation = mgmt.Filter{{{Property: "BTS.MessageType", Op: mgmt.OpEqual, Value: mgmt.Text("urn:orders#Order")}}}
	require.NoError(t, e.s.Update(ctx, func(tx *mgmt.Tx) error { return tx.PutOrchestration(o) }))
	require.NoError(t, e.s.Start(ctx, fulfil))
	subs := e.s.Subscriptions(fulfil)
	require.Len(t, subs, 1)
	require.Equal(t, mgmt.Filter{{
		{Property: mgmt.PropReceivePortName, Op: mgmt.OpEqual, Value: mgmt.Text("OrdersIn")},
		{Property: "BTS.MessageType", Op: mgmt.OpEqual, Value: mgmt.Text("urn:orders#Order")},
	}}, subs[0].Filter)
	require.Equal(t, "OrdersHost", subs[0].Host)
	o.Host = ""
	err = e.s.Update(ctx, func(tx *mgmt.Tx) error { return tx.PutOrchestration(o) })
	require.ErrorIs(t, err, mgmt.ErrState)
}

func TestStore_DeleteRules(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	del := func(r mgmt.Ref) error {
		return e.s.Update(ctx, func(tx *mgmt.Tx) error { return tx.Delete(r) })
	}
	require.ErrorIs(t, del(mgmt.Ref{Kind: mgmt.KindApplication, Name: "Orders"}), mgmt.ErrInvalid)
	require.ErrorIs(t, del(archive), mgmt.ErrInvalid, "a group member")
	// Adapters and hosts a transport still names stay.
	err = del(mgmt.Ref{Kind: mgmt.KindAdapter, Name: "SMTP"})
	require.ErrorIs(t, err, mgmt.ErrInvalid)
	require.ErrorContains(t, err, "send port Orders.Mail")
	require.ErrorIs(t, del(mgmt.Ref{Kind: mgmt.KindAdapter, Name: "FILE"}), mgmt.ErrInvalid)
	require.NoError(t, e.s.Start(ctx, dynamic))
	require.ErrorIs(t, del(dynamic), mgmt.ErrState)
	require.NoError(t, e.s.Unenlist(ctx, dynamic, false))
	require.NoError(t, del(dynamic))
	require.ErrorIs(t, del(dynamic), mgmt.ErrNotFound)
	require.NoError(t, del(inFile))
	_, _, err = e.s.ReceiveLocation(inFile.Name)
	require.ErrorIs(t, err, mgmt.ErrNotFound)
}

func TestStore_ApplicationStartStop(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	require.NoError(t, e.s.Update(ctx, func(tx *mgmt.Tx) error {
		return tx.PutHostInstance(&mgmt.HostInstance{Host: "OrdersHost", Server: "server-a"})
	}))
	require.NoError(t, e.s.StartApplication(ctx, "Orders"))
	for _, r := range []mgmt.Ref{archive, mail, dynamic, notify, fulfil} {
		require.Contains(t, []string{"Started"}, state(t, e, r), r.String())
	}
	require.Equal(t, "Enabled", state(t, e, inFile))
	require.Equal(t, "Running", state(t, e, hostA))

	require.NoError(t, e.s.StopApplication(ctx, "Orders", mgmt.StopReceiving))
	require.Equal(t, "Disabled", state(t, e, inFile))
	require.Equal(t, "Started", state(t, e, archive))

	require.NoError(t, e.s.StopApplication(ctx, "Orders", mgmt.StopSuspend))
	require.Equal(t, "Stopped", state(t, e, archive))
	require.Equal(t, "Enlisted", state(t, e, fulfil))
	require.NotEmpty(t, e.s.AllSubscriptions())

	e.subs.setQueued(e.s.Subscriptions(archive)[0].ID, 5)
	require.NoError(t, e.s.StopApplication(ctx, "Orders", mgmt.StopFull))
	require.Equal(t, "Bound", state(t, e, archive))
	require.Equal(t, "Unenlisted", state(t, e, fulfil))
	require.Empty(t, e.s.AllSubscriptions())
	require.Empty(t, e.subs.stored(t))
}

func TestStore_ReferencesAndHostTypes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	put := func(fn func(tx *mgmt.Tx) error) error { return e.s.Update(ctx, fn) }
	require.NoError(t, put(func(tx *mgmt.Tx) error { return tx.PutApplication(&mgmt.Application{Name: "Billing"}) }))
	o := &mgmt.Orchestration{Name: "Billing.Invoice", Application: "Billing", Host: "OrdersHost",
		Ports: []mgmt.PortBinding{{Name: "In", Modifier: 2, BindingOption: 1, ReceivePort: "OrdersIn"}}}
	require.ErrorIs(t, put(func(tx *mgmt.Tx) error { return tx.PutOrchestration(o) }), mgmt.ErrInvalid,
		"Billing does not reference Orders")
	require.NoError(t, put(func(tx *mgmt.Tx) error {
		if err := tx.PutApplication(&mgmt.Application{Name: "Billing", References: []string{"Orders"}}); err != nil {
			return err
		}
		return tx.PutOrchestration(o)
	}))
	require.ErrorIs(t, put(func(tx *mgmt.Tx) error { return tx.Delete(mgmt.Ref{Kind: mgmt.KindApplication, Name: "Orders"}) }), mgmt.ErrInvalid)

	require.NoError(t, put(func(tx *mgmt.Tx) error { return tx.PutHost(&mgmt.Host{Name: "Web", Type: mgmt.HostIsolated}) }))
	o.Host = "Web"
	require.ErrorIs(t, put(func(tx *mgmt.Tx) error { return tx.PutOrchestration(o) }), mgmt.ErrInvalid)
}

func TestImport_AddsReferencesItNeeds(t *testing.T) {
	path := sharedBindings + "/wmmihaa-lab9-order-processing-bts2009.xml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s: %v", path, err)
	}
	e := newEnv(t)
	_, err = importString(t, e.s, string(data))
	require.NoError(t, err)
	// Its orchestration's application binds to ports of another one.
	a, err := e.s.Application("Lab9")
	require.NoError(t, err)
	require.Equal(t, []string{"Lab06"}, a.References)
}

func TestTx_HasSeesItsOwnChanges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	app := mgmt.Ref{Kind: mgmt.KindApplication, Name: "A"}
	require.NoError(t, e.s.Update(ctx, func(tx *mgmt.Tx) error {
		require.False(t, tx.Has(app))
		require.NoError(t, tx.PutApplication(&mgmt.Application{Name: "A"}))
		require.True(t, tx.Has(app))
		_, err := e.s.Application("A")
		require.ErrorIs(t, err, mgmt.ErrNotFound, "the Store shows the state before the Tx")
		return nil
	}))
	_, err := e.s.Application("A")
	require.NoError(t, err)
	// A failing callback commits nothing.
	boom := errors.New("boom")
	require.ErrorIs(t, e.s.Update(ctx, func(tx *mgmt.Tx) error {
		if err := tx.PutApplication(&mgmt.Application{Name: "B"}); err != nil {
			return err
		}
		return boom
	}), boom)
	require.Len(t, e.s.Applications(), 1)
}
