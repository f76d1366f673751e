package biztier_test

import (
	"context"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestGroup_MessagingIsTrackedAndSurvivesReopen runs a message through the
// Group's MessageBox, finds its events in the Group's Tracking database,
// and finds both again after a reopen.
func TestGroup_MessagingIsTrackedAndSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, err := biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "SendHost"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Name: "Out", Host: "SendHost",
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("urn:t#Type", messagebox.String("order"))))})
	require.NoError(t, err)
	id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<order/>"), messagebox.Promoted("urn:t#Type", messagebox.String("order"))))
	require.NoError(t, err)
	// A second message stays queued across the reopen.
	_, _, err = mb.Publish(ctx, messagebox.NewMessage([]byte("<order n='2'/>"), messagebox.Promoted("urn:t#Type", messagebox.String("order"))))
	require.NoError(t, err)
	ds, err := mb.Dequeue(ctx, "SendHost", 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, id, ds[0].Message.ID)
	require.NoError(t, mb.Complete(ctx, ds[0].Lease))
	require.NoError(t, g.Close())

	g, err = biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	defer g.Close()
	tr, err := g.Tracking()
	require.NoError(t, err)
	page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{MessageID: id, OldestFirst: true})
	require.NoError(t, err)
	var kinds []tracking.EventKind
	for _, e := range page.Events {
		kinds = append(kinds, e.Kind)
	}
	require.Equal(t, []tracking.EventKind{tracking.MessageSent, tracking.MessageRouted, tracking.MessageReceived}, kinds)
	mb, err = g.MessageBox()
	require.NoError(t, err)
	ds, err = mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the queued message survives the reopen")
	require.Equal(t, "<order n='2'/>", string(ds[0].Message.BodyPart().Body))
}

func TestGroup_DisableTracking(t *testing.T) {
	ctx := context.Background()
	o := memOptions(vfs.NewMem())
	o.DisableTracking = true
	g, err := biztier.Open("g", o)
	require.NoError(t, err)
	defer g.Close()
	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "H"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Host: "H", Predicate: messagebox.Or(messagebox.And(messagebox.Exists("urn:t#Type")))})
	require.NoError(t, err)
	id, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<x/>"), messagebox.Promoted("urn:t#Type", messagebox.String("x"))))
	require.NoError(t, err)
	tr, err := g.Tracking()
	require.NoError(t, err)
	page, err := tr.MessageEvents(ctx, tracking.MessageEventQuery{MessageID: id})
	require.NoError(t, err)
	require.Empty(t, page.Events)
}
