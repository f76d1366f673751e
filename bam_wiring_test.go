package biztier_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/messagebox"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

const wiringActivity = `<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
	<Activity Name="PO" ID="A">
		<Checkpoint Name="Received" ID="R" DataType="DATETIME"/>
		<Checkpoint Name="Processed" ID="P" DataType="DATETIME"/>
		<Checkpoint Name="Customer" ID="C" DataType="NVARCHAR" DataLength="40"/>
	</Activity>
</BAMDefinition>`

// TestGroup_BAMStreamsJoinGroupCommits: a messaging stream's events commit
// with the publish of the message they describe (Group.Update), an
// orchestration stream's with the persistence point (PersistPoint.Extra);
// when either fails, its events are not there. The activity, continued
// from the receive to the orchestration, survives reopening the group.
func TestGroup_BAMStreamsJoinGroupCommits(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, err := biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	s, err := g.BAM(ctx, nil)
	require.NoError(t, err)
	again, err := g.BAM(ctx, nil)
	require.NoError(t, err)
	require.Same(t, s, again)
	def, err := bam.ParseDefinition(strings.NewReader(wiringActivity))
	require.NoError(t, err)
	require.NoError(t, s.Deploy(ctx, def, "admin"))

	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "orch"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Name: "po", Host: "orch", Service: "ProcessPO",
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("ns#Type", messagebox.String("po"))))})
	require.NoError(t, err)
	receive := func(po string, fail error) error {
		_, err := g.Update(ctx, func(tx *biztier.Tx) error {
			m := messagebox.NewMessage([]byte("<po/>"), messagebox.Promoted("ns#Type", messagebox.String("po")))
			if _, err := mb.PublishTx(ctx, tx, m); err != nil {
				return err
			}
			es := s.MessagingStream(tx)
			if err := es.BeginActivity(ctx, "PO", po); err != nil {
				return err
			}
			if err := es.UpdateActivity(ctx, "PO", po, "Received", time.Now(), "Customer", "Contoso"); err != nil {
				return err
			}
			if err := es.EnableContinuation(ctx, "PO", po, "orch-"+po); err != nil {
				return err
			}
			if err := es.EndActivity(ctx, "PO", po); err != nil {
				return err
			}
			return fail
		})
		return err
	}
	require.NoError(t, receive("PO-1", nil))
	boom := errors.New("pipeline failed")
	require.ErrorIs(t, receive("PO-2", boom), boom)
	require.NoError(t, s.WaitCaughtUp(ctx))
	_, err = s.Instance(ctx, "PO", "PO-2")
	require.ErrorIs(t, err, bam.ErrNotFound, "the failed receive's events rolled back with it")

	ds, err := mb.Dequeue(ctx, "orch", 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	bamEvents := func(tx messagebox.Tx) error {
		es := s.OrchestrationStream(tx)
		if err := es.UpdateActivity(ctx, "PO", "orch-PO-1", "Processed", time.Now()); err != nil {
			return err
		}
		return es.EndActivity(ctx, "PO", "orch-PO-1")
	}
	_, err = mb.Persist(ctx, messagebox.PersistPoint{Instance: ds[0].Instance.ID, Extra: func(tx messagebox.Tx) error {
		if err := bamEvents(tx); err != nil {
			return err
		}
		return boom
	}})
	require.ErrorIs(t, err, boom)
	require.NoError(t, s.WaitCaughtUp(ctx))
	in, err := s.Instance(ctx, "PO", "PO-1")
	require.NoError(t, err)
	require.Equal(t, bam.Active, in.State, "the failed persistence point's events rolled back")
	_, err = mb.Persist(ctx, messagebox.PersistPoint{Instance: ds[0].Instance.ID, Consumed: []messagebox.Lease{ds[0].Lease}, Complete: true, Extra: bamEvents})
	require.NoError(t, err)
	require.NoError(t, s.WaitCaughtUp(ctx))
	require.NoError(t, g.Close())

	g, err = biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	defer g.Close()
	s, err = g.BAM(ctx, nil)
	require.NoError(t, err)
	in, err = s.Instance(ctx, "PO", "orch-PO-1")
	require.NoError(t, err)
	require.Equal(t, bam.Completed, in.State)
	require.Equal(t, "Contoso", in.Values["Customer"].String())
	require.True(t, in.Values["Processed"].IsSet())
	require.NoError(t, g.Close())
	_, err = g.BAM(ctx, nil)
	require.ErrorIs(t, err, biztier.ErrClosed)
}
