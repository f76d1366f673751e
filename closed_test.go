package biztier_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/tracking"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// handleCalls lists one call of each kind on every handle a Group gives
// out, each returning its error. ctx is passed as given, so the same table
// runs with a nil context.
func handleCalls(mb *messagebox.Store, tr *tracking.Store, mg *mgmt.Store) map[string]func(ctx context.Context) error {
	msg := func() *messagebox.Message {
		return messagebox.NewMessage([]byte("<a/>"), messagebox.Promoted("ns#k", messagebox.String("v")))
	}
	lease := messagebox.Lease{}
	return map[string]func(context.Context) error{
		"mb.Publish": func(ctx context.Context) error { _, _, err := mb.Publish(ctx, msg()); return err },
		"mb.PublishBatch": func(ctx context.Context) error {
			_, err := mb.PublishBatch(ctx, []*messagebox.Message{msg()})
			return err
		},
		"mb.PublishAt": func(ctx context.Context) error {
			_, _, err := mb.PublishAt(ctx, msg(), time.Now().Add(time.Hour))
			return err
		},
		"mb.Dequeue": func(ctx context.Context) error { _, err := mb.Dequeue(ctx, "h", 1, time.Minute); return err },
		"mb.CompleteAndDequeue": func(ctx context.Context) error {
			_, err := mb.CompleteAndDequeue(ctx, nil, "h", 1, time.Minute)
			return err
		},
		"mb.DequeueWait": func(ctx context.Context) error {
			_, err := mb.DequeueWait(ctx, "h", 1, time.Minute)
			return err
		},
		"mb.Complete":   func(ctx context.Context) error { return mb.Complete(ctx, lease) },
		"mb.Abandon":    func(ctx context.Context) error { return mb.Abandon(ctx, lease, 0, "r") },
		"mb.Fail":       func(ctx context.Context) error { return mb.Fail(ctx, lease, "r") },
		"mb.Suspend":    func(ctx context.Context) error { return mb.Suspend(ctx, lease, "r") },
		"mb.Extend":     func(ctx context.Context) error { _, err := mb.Extend(ctx, lease, time.Minute); return err },
		"mb.CreateHost": func(ctx context.Context) error { return mb.CreateHost(ctx, "h2") },
		"mb.Subscribe": func(ctx context.Context) error {
			_, err := mb.Subscribe(ctx, messagebox.Subscription{Name: "s", Host: "h"})
			return err
		},
		"mb.Unsubscribe":    func(ctx context.Context) error { return mb.Unsubscribe(ctx, uuid.New()) },
		"mb.GetMessage":     func(ctx context.Context) error { _, err := mb.GetMessage(ctx, uuid.New()); return err },
		"mb.Explain":        func(ctx context.Context) error { _, err := mb.Explain(ctx, msg()); return err },
		"mb.ExplainMessage": func(ctx context.Context) error { _, err := mb.ExplainMessage(ctx, uuid.New()); return err },
		"mb.Instance":       func(ctx context.Context) error { _, err := mb.Instance(ctx, uuid.New()); return err },
		"mb.Persist": func(ctx context.Context) error {
			_, err := mb.Persist(ctx, messagebox.PersistPoint{Instance: uuid.New()})
			return err
		},
		"mb.TerminateInstances": func(ctx context.Context) error {
			_, err := mb.TerminateInstances(ctx, messagebox.InstanceQuery{IDs: []uuid.UUID{uuid.New()}})
			return err
		},
		"mb.SuspendInstances": func(ctx context.Context) error {
			_, err := mb.SuspendInstances(ctx, messagebox.InstanceQuery{IDs: []uuid.UUID{uuid.New()}}, "r")
			return err
		},
		"mb.ResumeInstances": func(ctx context.Context) error {
			_, err := mb.ResumeInstances(ctx, messagebox.InstanceQuery{IDs: []uuid.UUID{uuid.New()}})
			return err
		},
		"mb.CountSuspended": func(ctx context.Context) error {
			_, err := mb.CountSuspended(ctx, messagebox.SuspendedQuery{})
			return err
		},
		"mb.ListSuspended": func(ctx context.Context) error {
			_, err := mb.ListSuspended(ctx, messagebox.SuspendedQuery{})
			return err
		},
		"mb.Resume": func(ctx context.Context) error {
			_, err := mb.Resume(ctx, messagebox.SuspendedQuery{Entries: []messagebox.EntryID{1}})
			return err
		},
		"mb.Terminate": func(ctx context.Context) error {
			_, err := mb.Terminate(ctx, messagebox.SuspendedQuery{Entries: []messagebox.EntryID{1}})
			return err
		},
		"mb.ResumeQuery": func(ctx context.Context) error {
			_, err := mb.Resume(ctx, messagebox.SuspendedQuery{})
			return err
		},
		"tr.Instance": func(ctx context.Context) error { _, err := tr.Instance(ctx, uuid.New()); return err },
		"tr.Instances": func(ctx context.Context) error {
			_, err := tr.Instances(ctx, tracking.InstanceQuery{})
			return err
		},
		"tr.MessageEvents": func(ctx context.Context) error {
			_, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{})
			return err
		},
		"tr.MessageFlow":    func(ctx context.Context) error { _, err := tr.MessageFlow(ctx, uuid.New(), nil); return err },
		"tr.TrackedMessage": func(ctx context.Context) error { _, err := tr.TrackedMessage(ctx, uuid.New()); return err },
		"tr.Stats":          func(ctx context.Context) error { _, err := tr.Stats(ctx); return err },
		"tr.Purge":          func(ctx context.Context) error { _, err := tr.Purge(ctx); return err },
		"mg.Enlist":         func(ctx context.Context) error { return mg.Enlist(ctx, mgmt.Ref{Kind: mgmt.KindSendPort, Name: "p"}) },
		"mg.Import": func(ctx context.Context) error {
			_, err := mg.Import(ctx, bytes.NewReader([]byte("<BindingInfo/>")), nil)
			return err
		},
		"mg.Export": func(ctx context.Context) error { return mg.Export(ctx, new(bytes.Buffer), "") },
		"mg.Update": func(ctx context.Context) error { return mg.Update(ctx, func(*mgmt.Tx) error { return nil }) },
	}
}

func openHandles(t *testing.T) (*biztier.Group, *messagebox.Store, *tracking.Store, *mgmt.Store) {
	t.Helper()
	g, err := biztier.OpenInMemory()
	require.NoError(t, err)
	mg, err := g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	tr, err := g.Tracking()
	require.NoError(t, err)
	return g, mb, tr, mg
}

// nilCtx is a nil context, what a careless caller passes: the tests make
// sure no call panics on it.
var nilCtx context.Context

// TestGroup_HandlesAfterClose checks that every handle taken before Close
// answers every call afterwards with an error matching biztier.ErrClosed,
// with a live or a nil context, and never panics.
func TestGroup_HandlesAfterClose(t *testing.T) {
	g, mb, tr, mg := openHandles(t)
	require.NoError(t, g.Close())
	for name, call := range handleCalls(mb, tr, mg) {
		for _, ctx := range []context.Context{context.Background(), nil} {
			t.Run(fmt.Sprintf("%s/nilctx=%v", name, ctx == nil), func(t *testing.T) {
				require.ErrorIs(t, call(ctx), biztier.ErrClosed)
			})
		}
	}
	require.ErrorIs(t, mb.Err(), biztier.ErrClosed, "the MessageBox says it is closed without being probed")
	_, err := g.MessageBox()
	require.ErrorIs(t, err, biztier.ErrClosed)
	_, err = g.Update(nilCtx, func(*biztier.Tx) error { return nil })
	require.ErrorIs(t, err, biztier.ErrClosed)
}

// TestGroup_NilContext checks that a nil context on an open group is taken
// as context.Background(): no call panics.
func TestGroup_NilContext(t *testing.T) {
	g, mb, tr, mg := openHandles(t)
	defer g.Close()
	require.NoError(t, mb.Err())
	for name, call := range handleCalls(mb, tr, mg) {
		if name == "mb.DequeueWait" {
			continue // would wait for a message forever on Background
		}
		t.Run(name, func(t *testing.T) {
			require.NotPanics(t, func() { _ = call(nil) })
		})
	}
	_, err := g.Update(nilCtx, func(tx *biztier.Tx) error { return tx.Set(biztier.BAM, []byte("k"), []byte("v")) })
	require.NoError(t, err)
	_, err = g.Mark(nilCtx, "m")
	require.NoError(t, err)
	require.NoError(t, g.Checkpoint(nilCtx))
}
