package biztier_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/messagebox"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

const (
	btdfProfile = "../shared/testdata/bam/btdf-bam-sample-tracking-profile.xml"
	btdfProp    = "http://DeploymentFramework.Samples.Bam.Services.PropertySchema.PropertySchema#DocumentID"
)

// tracked is a delivered message as the BAM interceptor reads it.
func tracked(name string, m *messagebox.Message) bam.TrackedMessage {
	tm := bam.TrackedMessage{Name: name, Parts: map[string][]byte{}, Properties: map[string]any{}}
	for _, p := range m.Parts {
		tm.Parts[p.Name] = p.Body
	}
	for _, p := range m.Context {
		switch p.Value.Type() {
		case messagebox.TypeString:
			tm.Properties[p.Name] = p.Value.Str()
		case messagebox.TypeInt64:
			tm.Properties[p.Name] = p.Value.Int64()
		case messagebox.TypeTime:
			tm.Properties[p.Name] = p.Value.Time()
		default:
			tm.Properties[p.Name] = p.Value.String()
		}
	}
	return tm
}

// TestGroup_BAMProfileOnMessageFlow runs the BTDF sample tracking profile
// on messages flowing through the MessageBox: a receive publishes the
// document and, in the same commit, begins the activity and hands it on
// under "Orch1_"+DocumentID; an orchestration configured in code (an
// activation subscription) takes the message, and at each persistence
// point the interceptor adds the profile's events (the continuation ID from
// the context property, the document ID by XPath, the shapes' milestones).
// The activity completes with everything the profile maps.
func TestGroup_BAMProfileOnMessageFlow(t *testing.T) {
	text, err := os.ReadFile(btdfProfile)
	if os.IsNotExist(err) {
		t.Skip("shared BAM files absent")
	}
	require.NoError(t, err)
	ctx := context.Background()
	g, err := biztier.Open("g", memOptions(vfs.NewMem()))
	require.NoError(t, err)
	defer g.Close()
	s, err := g.BAM(ctx, nil)
	require.NoError(t, err)
	def, err := bam.ParseDefinition(strings.NewReader(`<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
	<Activity Name="EndToEndActivity" ID="A1">
		<Checkpoint Name="Data1" ID="C1" DataType="NVARCHAR" DataLength="50"/>
		<Checkpoint Name="Received" ID="C2" DataType="DATETIME"/>
		<Checkpoint Name="SBegin1" ID="C3" DataType="DATETIME"/>
		<Checkpoint Name="SEnd1" ID="C4" DataType="DATETIME"/>
	</Activity>
</BAMDefinition>`))
	require.NoError(t, err)
	require.NoError(t, s.Deploy(ctx, def, "admin"))
	p, err := bam.ParseProfileBytes(text)
	require.NoError(t, err)
	require.NoError(t, s.BindProfile(ctx, p, &bam.Binding{Orchestrations: map[string]string{
		"DeploymentFramework.Samples.Bam.Services.Orchestration1": "Orchestration1"}}))

	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "orch"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Name: "activate", Host: "orch", Service: "Orchestration1",
		Predicate: messagebox.Or(messagebox.And(messagebox.Exists(btdfProp)))})
	require.NoError(t, err)

	// The receive: the message and the activity's main segment, one commit.
	_, err = g.Update(ctx, func(tx *biztier.Tx) error {
		m := &messagebox.Message{Parts: []messagebox.Part{{Name: "BAMPart", ContentType: "text/xml", IsBody: true,
			Body: []byte(`<ns0:BAMPart xmlns:ns0="urn:DeploymentFramework.Samples.Bam.Services.BAMPartSchema" DocumentID="DOC-9"/>`)}},
			Context: []messagebox.Property{messagebox.Promoted(btdfProp, messagebox.String("DOC-9"))}}
		if _, err := mb.PublishTx(ctx, tx, m); err != nil {
			return err
		}
		es := s.MessagingStream(tx)
		for _, err := range []error{
			es.BeginActivity(ctx, "EndToEndActivity", "DOC-9"),
			es.UpdateActivity(ctx, "EndToEndActivity", "DOC-9", "Received", time.Now()),
			es.EnableContinuation(ctx, "EndToEndActivity", "DOC-9", "Orch1_DOC-9"),
			es.EndActivity(ctx, "EndToEndActivity", "DOC-9"),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	// The orchestration: two persistence points, the interceptor in each.
	ds, err := mb.Dequeue(ctx, "orch", 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	msg := tracked("Message_1", ds[0].Message)
	ic := s.Interceptor("Orchestration1")
	run := ic.Start(ds[0].Instance.ID.String())
	_, err = mb.Persist(ctx, messagebox.PersistPoint{Instance: ds[0].Instance.ID, Consumed: []messagebox.Lease{ds[0].Lease},
		Extra: func(tx messagebox.Tx) error {
			return ic.Shape(ctx, tx, run, "b11acc05-4b3d-4fd7-aaac-9f0bc875ab48", msg)
		}})
	require.NoError(t, err)
	_, err = mb.Persist(ctx, messagebox.PersistPoint{Instance: ds[0].Instance.ID, Complete: true,
		Extra: func(tx messagebox.Tx) error {
			if err := ic.Shape(ctx, tx, run, "9946e600-47cf-4501-8f60-8acd265849b2", msg); err != nil {
				return err
			}
			return ic.Complete(ctx, tx, run)
		}})
	require.NoError(t, err)

	require.NoError(t, s.WaitCaughtUp(ctx))
	in, err := s.Instance(ctx, "EndToEndActivity", "Orch1_DOC-9")
	require.NoError(t, err)
	require.Equal(t, "DOC-9", in.ID)
	require.Equal(t, bam.Completed, in.State)
	require.Equal(t, "DOC-9", in.Values["Data1"].String())
	for _, m := range []string{"Received", "SBegin1", "SEnd1"} {
		require.True(t, in.Values[m].IsSet(), m)
	}
}
