package bam

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestFold_continuationAcrossApplications(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	po := e.s.DirectStream(1)
	require.NoError(t, po.BeginActivity(bg, "Order", "PO-1"))
	require.NoError(t, po.UpdateActivity(bg, "Order", "PO-1", "Received", epoch, "Region", "North"))
	require.NoError(t, po.EnableContinuation(bg, "Order", "PO-1", "SO-1"))
	require.NoError(t, po.AddRelatedActivity(bg, "Order", "PO-1", "Order", "PO-0"))
	require.NoError(t, po.EndActivity(bg, "Order", "PO-1"))
	in := e.instance("Order", "PO-1")
	require.Equal(t, Active, in.State, "a continuation is pending")
	require.Equal(t, []Continuation{{Token: "SO-1"}}, in.Continuations)
	// The second application continues (and hands on) under its token.
	so := e.s.DirectStream(1)
	require.NoError(t, so.UpdateActivity(bg, "Order", "SO-1", "Approved", epoch.Add(time.Hour)))
	require.NoError(t, so.EnableContinuation(bg, "Order", "SO-1", "UPS-1"))
	require.NoError(t, so.EndActivity(bg, "Order", "SO-1"))
	require.Equal(t, Active, e.instance("Order", "SO-1").State)
	ups := e.s.DirectStream(1)
	require.NoError(t, ups.UpdateActivity(bg, "Order", "UPS-1", "Shipped", epoch.Add(2*time.Hour), "Carrier", "UPS"))
	require.NoError(t, ups.EndActivity(bg, "Order", "UPS-1"))
	in = e.instance("Order", "UPS-1")
	require.Equal(t, Completed, in.State)
	require.Equal(t, "PO-1", in.ID)
	require.Equal(t, "UPS", in.Values["Carrier"].String())
	require.Equal(t, []Reference{{Type: "Activity", Name: "Order", Data: "PO-0"}}, in.References)
	got, err := e.s.Instances(bg, "Order", Query{States: Completed, Where: []Condition{{Checkpoint: "Region", Op: Eq, Value: "North"}}})
	require.NoError(t, err)
	require.Len(t, got, 1)
}

// segmentEvents is a process in three parts, each an ordered list of
// events: the main segment, a continuation it enables, and a continuation
// that one enables.
func segmentEvents(at time.Time) [][]*event {
	ev := func(kind eventKind, id string, f ...field) *event {
		return &event{kind: kind, activity: "Order", id: id, at: at, fields: f}
	}
	enable := func(id, token string) *event {
		e := ev(evEnableContinuation, id)
		e.token = token
		return e
	}
	ref := func(id string) *event {
		e := ev(evReference, id)
		e.ref = Reference{Type: "Document", Name: id}
		return e
	}
	return [][]*event{
		{ev(evBegin, "PO"), ev(evUpdate, "PO", field{"Region", StringValue("North")}, field{"Received", TimeValue(at)}), enable("PO", "SO"), ref("PO"), ev(evEnd, "PO")},
		{ev(evUpdate, "SO", field{"Approved", TimeValue(at)}), enable("SO", "SH"), ref("SO"), ev(evEnd, "SO")},
		{ev(evUpdate, "SH", field{"Shipped", TimeValue(at)}, field{"Carrier", StringValue("UPS")}), ev(evEnd, "SH")},
	}
}

// TestFold_outOfOrder folds the three segments' events in random
// interleavings (each segment's own events in order, as one stream keeps
// them) and in one commit or several: the result is always the same one
// completed instance with every value and reference, never an orphan.
func TestFold_outOfOrder(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		segs := segmentEvents(epoch)
		suffix := fmt.Sprint("-", n)
		for _, s := range segs {
			for _, ev := range s {
				ev.id += suffix
				if ev.token != "" {
					ev.token += suffix
				}
				if ev.kind == evReference {
					ev.ref.Name += suffix
				}
			}
		}
		var order []*event
		pos := make([]int, len(segs))
		for len(order) < 11 {
			var open []int
			for i := range segs {
				if pos[i] < len(segs[i]) {
					open = append(open, i)
				}
			}
			i := rapid.SampledFrom(open).Draw(rt, "segment")
			order = append(order, segs[i][pos[i]])
			pos[i]++
		}
		commit := rapid.IntRange(1, len(order)).Draw(rt, "batch")
		for i := 0; i < len(order); i += commit {
			require.NoError(rt, e.s.applyDirect(bg, order[i:min(i+commit, len(order))]))
		}
		in, err := e.s.Instance(bg, "Order", "SH"+suffix)
		require.NoError(rt, err)
		require.Equal(rt, "PO"+suffix, in.ID)
		require.Equal(rt, Completed, in.State)
		require.Equal(rt, "North", in.Values["Region"].String())
		require.Equal(rt, "UPS", in.Values["Carrier"].String())
		require.True(rt, in.Values["Approved"].IsSet())
		require.ElementsMatch(rt, []string{"SO" + suffix, "SH" + suffix}, []string{in.Continuations[0].Token, in.Continuations[1].Token})
		require.Len(rt, in.References, 2)
		for _, id := range []string{"SO", "SH"} {
			_, err := e.s.Instance(bg, "Order", id+suffix)
			require.NoError(rt, err)
		}
		active, err := e.s.Instances(bg, "Order", Query{States: Active})
		require.NoError(rt, err)
		require.Empty(rt, active, "no orphan segment left behind")
	})
}

func TestFold_updateBeforeBegin(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	es := e.s.DirectStream(1)
	require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Items", 4))
	require.NoError(t, es.EndActivity(bg, "Order", "1"))
	in := e.instance("Order", "1")
	require.Equal(t, Active, in.State)
	require.False(t, in.Begun)
	require.NoError(t, es.BeginActivity(bg, "Order", "1"))
	in = e.instance("Order", "1")
	require.Equal(t, Completed, in.State)
	require.Equal(t, int64(4), in.Values["Items"].Int())
	// Events for a completed instance update it where it is.
	require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Items", 5))
	in = e.instance("Order", "1")
	require.Equal(t, Completed, in.State)
	require.Equal(t, int64(5), in.Values["Items"].Int())
}

func TestStore_CompleteInstance(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	es := e.s.DirectStream(1)
	require.NoError(t, es.BeginActivity(bg, "Order", "1"))
	require.NoError(t, es.EnableContinuation(bg, "Order", "1", "lost"))
	require.NoError(t, es.EndActivity(bg, "Order", "1"))
	require.Equal(t, Active, e.instance("Order", "1").State)
	require.ErrorIs(t, e.s.CompleteInstance(bg, "Order", "nope"), ErrNotFound)
	require.NoError(t, e.s.CompleteInstance(bg, "Order", "1"))
	in := e.instance("Order", "1")
	require.Equal(t, Completed, in.State)
	require.Equal(t, []Continuation{{Token: "lost", Ended: true}}, in.Continuations)
}
