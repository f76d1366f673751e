// Package mgmttest is a conformance suite for implementations of
// mgmt.Subscriptions: the MessageBox adapter the root package wires into
// mgmt, and the in-memory fake mgmt's own tests use. Run it from a test:
//
//	func TestSubscriptions(t *testing.T) {
//		mgmttest.Run(t, func(t *testing.T) *mgmttest.Harness { ... })
//	}
package mgmttest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/biztier/biztier/mgmt"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// Harness is one implementation under test, on a fresh group.
type Harness struct {
	// DB is the group's Management database; Subs writes into its
	// transactions.
	DB   mgmt.Database
	Subs mgmt.Subscriptions
	// Route evaluates a message with the given promoted properties (as
	// text, keyed as filter statements name them) against the committed
	// subscriptions, and returns the IDs of those that match, split by
	// whether they are active (delivered) or not (suspended).
	Route func(props map[string]string) (active, inactive []uuid.UUID)
	// Queue leaves n messages queued for subscription id, so that Queued
	// reports them. Nil skips the checks that need it.
	Queue func(id uuid.UUID, n int)
}

func sub(name string, active bool, f mgmt.Filter) mgmt.Subscription {
	owner := mgmt.Ref{Kind: mgmt.KindSendPort, Name: name}
	return mgmt.Subscription{
		ID: mgmt.SubscriptionID(owner, "filter"), Name: name, Owner: owner, Target: owner,
		Host: "Host", Priority: 5, Active: active, Filter: f,
	}
}

func eq(prop, v string) mgmt.Filter {
	return mgmt.Filter{{{Property: prop, Op: mgmt.OpEqual, Value: mgmt.Text(v)}}}
}

func sorted(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// Run runs the suite. open returns a new Harness for each subtest.
func Run(t *testing.T, open func(t *testing.T) *Harness) {
	ctx := context.Background()
	commit := func(t *testing.T, h *Harness, fn func(tx mgmt.GroupTx) error) {
		t.Helper()
		tx := h.DB.Begin()
		require.NoError(t, fn(tx))
		_, err := tx.Commit(ctx)
		require.NoError(t, err)
	}

	t.Run("SubscribeCommitted", func(t *testing.T) {
		h := open(t)
		a := sub("A", true, eq("Orders.Region", "north"))
		commit(t, h, func(tx mgmt.GroupTx) error { return h.Subs.Subscribe(tx, a) })
		active, inactive := h.Route(map[string]string{"Orders.Region": "north"})
		require.Equal(t, []uuid.UUID{a.ID}, active)
		require.Empty(t, inactive)
		active, _ = h.Route(map[string]string{"Orders.Region": "south"})
		require.Empty(t, active)
	})

	t.Run("AbortedTxnLeavesNothing", func(t *testing.T) {
		h := open(t)
		tx := h.DB.Begin()
		require.NoError(t, h.Subs.Subscribe(tx, sub("A", true, eq("P", "1"))))
		tx.Abort()
		active, inactive := h.Route(map[string]string{"P": "1"})
		require.Empty(t, active)
		require.Empty(t, inactive)
	})

	t.Run("SubscribeReplaces", func(t *testing.T) {
		h := open(t)
		a := sub("A", true, eq("P", "1"))
		commit(t, h, func(tx mgmt.GroupTx) error { return h.Subs.Subscribe(tx, a) })
		b := a
		b.Filter, b.Active = eq("P", "2"), false
		commit(t, h, func(tx mgmt.GroupTx) error { return h.Subs.Subscribe(tx, b) })
		active, inactive := h.Route(map[string]string{"P": "1"})
		require.Empty(t, active)
		require.Empty(t, inactive)
		active, inactive = h.Route(map[string]string{"P": "2"})
		require.Empty(t, active)
		require.Equal(t, []uuid.UUID{a.ID}, inactive, "an inactive subscription still matches; its messages are suspended")
	})

	t.Run("OrOfAnds", func(t *testing.T) {
		h := open(t)
		f := mgmt.Filter{
			{{Property: "A", Op: mgmt.OpEqual, Value: mgmt.Text("x")}, {Property: "B", Op: mgmt.OpExists}},
			{{Property: "C", Op: mgmt.OpNotEqual, Value: mgmt.Text("y")}},
		}
		a := sub("A", true, f)
		commit(t, h, func(tx mgmt.GroupTx) error { return h.Subs.Subscribe(tx, a) })
		for _, tc := range []struct {
			props map[string]string
			match bool
		}{
			{map[string]string{"A": "x", "B": "anything"}, true},
			{map[string]string{"A": "x"}, false},
			{map[string]string{"C": "z"}, true},
			{map[string]string{"C": "y"}, false},
			{map[string]string{}, false},
		} {
			active, _ := h.Route(tc.props)
			require.Equal(t, tc.match, len(active) == 1, "%v", tc.props)
		}
	})

	t.Run("Unsubscribe", func(t *testing.T) {
		h := open(t)
		a, b := sub("A", true, eq("P", "1")), sub("B", true, eq("P", "1"))
		commit(t, h, func(tx mgmt.GroupTx) error {
			if err := h.Subs.Subscribe(tx, a); err != nil {
				return err
			}
			return h.Subs.Subscribe(tx, b)
		})
		active, _ := h.Route(map[string]string{"P": "1"})
		require.Equal(t, sorted([]uuid.UUID{a.ID, b.ID}), sorted(active))
		commit(t, h, func(tx mgmt.GroupTx) error { return h.Subs.Unsubscribe(tx, a.ID) })
		active, _ = h.Route(map[string]string{"P": "1"})
		require.Equal(t, []uuid.UUID{b.ID}, active)
		commit(t, h, func(tx mgmt.GroupTx) error { return h.Subs.Unsubscribe(tx, uuid.New()) })
	})

	t.Run("ThroughMgmt", func(t *testing.T) {
		h := open(t)
		s, err := mgmt.Open(h.DB, h.Subs, nil)
		require.NoError(t, err)
		port := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Out"}
		require.NoError(t, s.Update(ctx, func(tx *mgmt.Tx) error {
			if err := tx.PutApplication(&mgmt.Application{Name: "App"}); err != nil {
				return err
			}
			return tx.PutSendPort(&mgmt.SendPort{Name: "Out", Application: "App", Dynamic: true, Filter: eq("P", "1")})
		}))
		require.NoError(t, s.Start(ctx, port))
		active, _ := h.Route(map[string]string{"P": "1"})
		require.Equal(t, []uuid.UUID{mgmt.SubscriptionID(port, "filter")}, active)
		active, _ = h.Route(map[string]string{mgmt.PropSPTransportID: mgmt.TransportID(port).String()})
		require.Equal(t, []uuid.UUID{mgmt.SubscriptionID(port, "transport")}, active)

		require.NoError(t, s.Stop(ctx, port))
		active, inactive := h.Route(map[string]string{"P": "1"})
		require.Empty(t, active)
		require.Len(t, inactive, 1)

		if h.Queue != nil {
			h.Queue(mgmt.SubscriptionID(port, "filter"), 2)
			err := s.Unenlist(ctx, port, false)
			require.ErrorIs(t, err, mgmt.ErrMessagesQueued)
			_, inactive = h.Route(map[string]string{"P": "1"})
			require.Len(t, inactive, 1, "a refused unenlist keeps the subscriptions")
		}
		require.NoError(t, s.Unenlist(ctx, port, true))
		active, inactive = h.Route(map[string]string{"P": "1"})
		require.Empty(t, active)
		require.Empty(t, inactive)
	})
}
