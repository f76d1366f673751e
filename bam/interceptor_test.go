package bam

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const bookOrders = "BookOrdersSolution.orcProcessBookOrders"

// TestInterceptor_bookOrders binds the Apress book orders profile to an
// orchestration the runtime calls "ProcessBookOrders" and runs it shape by
// shape: the activity gets its milestones, the order ID and date by XPath
// from the received message, and the approval flag from the response.
func TestInterceptor_bookOrders(t *testing.T) {
	e := newEnv(t, nil)
	d, err := ParseDefinitionBytes(sharedFile(t, "apress2016-bookorders-activitydef.xml"))
	require.NoError(t, err)
	require.NoError(t, e.s.Deploy(bg, d, "test"))
	p, err := ParseProfileBytes(sharedFile(t, "apress2016-bookorders-approvals-tracking-profile.xml"))
	require.NoError(t, err)
	require.NoError(t, e.s.BindProfile(bg, p, &Binding{Orchestrations: map[string]string{bookOrders: "ProcessBookOrders"}}))
	e.reopen() // the binding is in the database
	require.Equal(t, []string{"BookOrdersApprovals"}, e.s.Profiles())

	ic := e.s.Interceptor("ProcessBookOrders")
	order := TrackedMessage{Name: "msgOrdersIN", Parts: map[string][]byte{"part": []byte(
		`<ns0:IncomingBookOrders xmlns:ns0="http://BookOrdersSolution.IncomingBookOrders"><OrderID>4711</OrderID><OrderDate>2026-01-02</OrderDate></ns0:IncomingBookOrders>`)}}
	approval := TrackedMessage{Name: "msgApprovalResponse", Parts: map[string][]byte{"part": []byte(
		`<ns0:spIsTransactionApprovedResponse xmlns:ns0="http://schemas.microsoft.com/Sql/2008/05/Procedures/dbo"><ns0:Approved>1</ns0:Approved></ns0:spIsTransactionApprovedResponse>`)}}

	// Each shape is one persistence point; the run is kept with the
	// instance state between them (marshalled, as dehydration would).
	run := ic.Start("svc-1")
	step := func(shape string, msgs ...TrackedMessage) {
		t.Helper()
		tx := e.set.NewTxn()
		require.NoError(t, ic.Shape(bg, tx, run, shape, msgs...))
		_, err := tx.Commit(bg)
		require.NoError(t, err)
		b, err := run.MarshalBinary()
		require.NoError(t, err)
		run, err = UnmarshalRun(b)
		require.NoError(t, err)
		e.clock.Add(time.Minute)
	}
	step("e697fc10-04ea-49b1-9407-d505f3da1a41", order)
	step("6fe9ef76-b65a-45db-9827-b32f5caa6a83")
	step("20415b2a-1438-4adf-8d60-e3a4528a71d6", approval)
	// A shape no profile names produces nothing.
	step("00000000-0000-0000-0000-000000000000")
	step("acfbc6d0-cd8e-4941-b5c6-653573086509")
	tx := e.set.NewTxn()
	require.NoError(t, ic.Complete(bg, tx, run))
	_, err = tx.Commit(bg)
	require.NoError(t, err)
	require.NoError(t, e.s.WaitCaughtUp(bg))

	in := e.instance("BookOrdersApprovals", "svc-1")
	require.Equal(t, Completed, in.State)
	require.Equal(t, "4711", in.Values["TransactionCode"].String())
	require.Equal(t, "2026-01-02", in.Values["TransactionDate"].String())
	require.Equal(t, int64(1), in.Values["TransactionOk"].Int())
	require.Equal(t, epoch, in.Values["StartTime"].Time())
	require.Equal(t, epoch.Add(time.Minute), in.Values["CRMSoliticTimeStamp"].Time())
	require.Equal(t, epoch.Add(2*time.Minute), in.Values["CRMRequestTimeStamp"].Time())
	require.Equal(t, epoch.Add(4*time.Minute), in.Values["EndTime"].Time())
	require.False(t, in.Values["TrsansactionError"].IsSet())

	// An interceptor for an orchestration no profile names does nothing;
	// a profile's activity cannot be removed while it is bound.
	require.NoError(t, e.s.Interceptor("Other").Shape(bg, e.set.NewTxn(), run, "e697fc10-04ea-49b1-9407-d505f3da1a41", order))
	require.ErrorIs(t, e.s.Remove(bg, &Definition{Views: d.Views, Activities: d.Activities}, "test"), ErrInUse)
	require.NoError(t, e.s.UnbindProfile(bg, "BookOrdersApprovals"))
	require.NoError(t, e.s.Remove(bg, &Definition{Views: d.Views, Activities: d.Activities}, "test"))
}

// endToEnd is the activity the BTDF sample profile feeds; the sample does
// not ship its definition.
const endToEnd = `<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
	<Activity Name="EndToEndActivity" ID="A1">
		<Checkpoint Name="Data1" ID="C1" DataType="NVARCHAR" DataLength="50"/>
		<Checkpoint Name="Received" ID="C2" DataType="DATETIME"/>
		<Checkpoint Name="SBegin1" ID="C3" DataType="DATETIME"/>
		<Checkpoint Name="SEnd1" ID="C4" DataType="DATETIME"/>
	</Activity>
</BAMDefinition>`

const btdfOrch = "DeploymentFramework.Samples.Bam.Services.Orchestration1"

// TestInterceptor_continuation runs the BTDF sample: a receive writes the
// main segment and hands the activity on under "Orch1_"+DocumentID; the
// orchestration continues it through its ContinuationID item, taken from
// the message's context property. The orchestration's events are folded
// before or after the receive's, and the activity completes either way.
func TestInterceptor_continuation(t *testing.T) {
	for _, orchFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "in order", true: "orchestration first"}[orchFirst], func(t *testing.T) {
			e := newEnv(t, nil)
			e.deploy(endToEnd)
			p, err := ParseProfileBytes(sharedFile(t, "btdf-bam-sample-tracking-profile.xml"))
			require.NoError(t, err)
			require.NoError(t, e.s.BindProfile(bg, p, nil))
			msg := TrackedMessage{Name: "Message_1",
				Parts:      map[string][]byte{"BAMPart": []byte(`<ns0:BAMPart xmlns:ns0="urn:DeploymentFramework.Samples.Bam.Services.BAMPartSchema" DocumentID="DOC-9"/>`)},
				Properties: map[string]any{"http://DeploymentFramework.Samples.Bam.Services.PropertySchema.PropertySchema#DocumentID": "DOC-9"}}
			receive := func() {
				tx := e.set.NewTxn()
				es := e.s.MessagingStream(tx)
				require.NoError(t, es.BeginActivity(bg, "EndToEndActivity", "DOC-9"))
				require.NoError(t, es.UpdateActivity(bg, "EndToEndActivity", "DOC-9", "Received", e.clock.Now()))
				require.NoError(t, es.EnableContinuation(bg, "EndToEndActivity", "DOC-9", "Orch1_DOC-9"))
				require.NoError(t, es.EndActivity(bg, "EndToEndActivity", "DOC-9"))
				_, err := tx.Commit(bg)
				require.NoError(t, err)
			}
			orchestrate := func() {
				ic := e.s.Interceptor(btdfOrch)
				run := ic.Start("svc-7")
				for _, shape := range []string{"b11acc05-4b3d-4fd7-aaac-9f0bc875ab48", "9946e600-47cf-4501-8f60-8acd265849b2"} {
					tx := e.set.NewTxn()
					require.NoError(t, ic.Shape(bg, tx, run, shape, msg))
					_, err := tx.Commit(bg)
					require.NoError(t, err)
				}
				tx := e.set.NewTxn()
				require.NoError(t, ic.Complete(bg, tx, run))
				_, err := tx.Commit(bg)
				require.NoError(t, err)
			}
			if orchFirst {
				orchestrate()
				require.NoError(t, e.s.WaitCaughtUp(bg))
				receive()
			} else {
				receive()
				orchestrate()
			}
			require.NoError(t, e.s.WaitCaughtUp(bg))
			in := e.instance("EndToEndActivity", "DOC-9")
			require.Equal(t, Completed, in.State, "%+v", in)
			require.Equal(t, "DOC-9", in.Values["Data1"].String())
			for _, m := range []string{"Received", "SBegin1", "SEnd1"} {
				require.True(t, in.Values[m].IsSet(), m)
			}
			require.Equal(t, []Continuation{{Token: "Orch1_DOC-9", Ended: true}}, in.Continuations)
		})
	}
}

// TestInterceptor_port feeds an activity from a port's messages.
func TestInterceptor_port(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(endToEnd)
	p := &TrackingProfile{Name: "EndToEndActivity", Dimensions: []ProfileDimension{
		{Name: "ActivityID", DataType: ItemTraceID, Levels: []DataLevel{{Name: "DocumentID", SourceTypeSelected: SourceMessagingProp, PortName: "RcvDocs",
			XPath: "/*[local-name()='DocumentID' and namespace-uri()='urn:props']"}}},
		{Name: "Data1", DataType: "NVARCHAR", Levels: []DataLevel{{Name: "Doc", SourceTypeSelected: SourceMessagingPayload, PortName: "RcvDocs",
			XPath: "/*[local-name()='Doc']/@*[local-name()='Kind']"}}},
	}}
	require.NoError(t, e.s.BindProfile(bg, p, &Binding{Ports: map[string]string{"RcvDocs": "ReceiveDocuments"}}))
	tx := e.set.NewTxn()
	require.NoError(t, e.s.PortInterceptor("ReceiveDocuments").Message(bg, tx, "msg-1", TrackedMessage{
		Parts:      map[string][]byte{"body": []byte(`<Doc Kind="invoice"/>`)},
		Properties: map[string]any{"urn:props#DocumentID": "D-1"}}))
	_, err := tx.Commit(bg)
	require.NoError(t, err)
	require.NoError(t, e.s.WaitCaughtUp(bg))
	in := e.instance("EndToEndActivity", "D-1")
	require.Equal(t, Completed, in.State)
	require.Equal(t, "invoice", in.Values["Data1"].String())
}
