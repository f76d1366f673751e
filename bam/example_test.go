package bam_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// groupDB is a store set's BAM database: what biztier.Group provides.
type groupDB struct{ set *store.Set }

func (d groupDB) Reader() pebble.Reader { return d.set.DB(store.BAM).Reader() }
func (d groupDB) Begin() bam.Txn        { return d.set.NewTxn() }

func openSet() *store.Set {
	fs := vfs.NewMem()
	dirs := map[store.ID]string{}
	for _, id := range store.All {
		dirs[id] = "g/" + id.String()
	}
	set, err := store.Open(&store.Options{FS: fs, WALDir: "g/wal", Dirs: dirs, MemTableSize: 4 << 20, CheckpointInterval: -1})
	if err != nil {
		panic(err)
	}
	return set
}

const orders = `<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
	<Activity Name="Order" ID="A">
		<Checkpoint Name="Received" ID="R" DataType="DATETIME"/>
		<Checkpoint Name="Approved" ID="P" DataType="DATETIME"/>
		<Checkpoint Name="Shipped" ID="S" DataType="DATETIME"/>
		<Checkpoint Name="Amount" ID="M" DataType="FLOAT"/>
	</Activity>
	<View Name="Sales" ID="V">
		<ActivityView Name="Orders" ID="AV" ActivityRef="A">
			<Alias Name="Received" ID="aR"><CheckpointRef>R</CheckpointRef></Alias>
			<Alias Name="Approved" ID="aP"><CheckpointRef>P</CheckpointRef></Alias>
			<Alias Name="Shipped" ID="aS"><CheckpointRef>S</CheckpointRef></Alias>
			<Alias Name="Amount" ID="aM"><CheckpointRef>M</CheckpointRef></Alias>
		</ActivityView>
	</View>
	<Cube Name="OrderCube" ID="C" ActivityViewRef="AV" CreateOlapCube="false">
		<Measure Name="Orders" ID="mN" AliasRef="aR" AggregationFunction="Count"/>
		<Measure Name="Value" ID="mV" AliasRef="aM" AggregationFunction="Sum"/>
		<ProgressDimension Name="Stage" ID="st">
			<ProgressStage Name="Received" ID="s1" TimeStampAliasRef="aR">
				<ProgressStage Name="Approved" ID="s2" TimeStampAliasRef="aP"/>
				<ProgressStage Name="Shipped" ID="s3" TimeStampAliasRef="aS"/>
			</ProgressStage>
		</ProgressDimension>
		<RealTimeAggregation Name="ByStage" ID="rta"><MeasureRef>mN</MeasureRef><MeasureRef>mV</MeasureRef><DimensionRef>st</DimensionRef></RealTimeAggregation>
	</Cube>
</BAMDefinition>`

// Example follows order 4711 across two applications: the order desk
// begins the activity and hands it to the warehouse under the warehouse's
// own ID (a continuation); the warehouse ships it. The real-time
// aggregation by stage is current after each commit.
func Example() {
	ctx := context.Background()
	set := openSet()
	defer set.Close()
	clock := time.Date(2026, 3, 2, 9, 2, 0, 0, time.UTC)
	s, err := bam.Open(ctx, groupDB{set}, &bam.Options{Now: func() time.Time { return clock }})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	def, err := bam.ParseDefinition(strings.NewReader(orders))
	if err != nil {
		panic(err)
	}
	if err := s.Deploy(ctx, def, "admin"); err != nil {
		panic(err)
	}
	byStage := func() {
		a, _ := s.Aggregation(ctx, "ByStage")
		for _, r := range a.Rows {
			fmt.Printf("  %s/%s: %v orders, %v\n", r.Members[0], r.Members[1], r.Values[0], r.Values[1])
		}
	}

	desk := s.DirectStream(1)
	desk.BeginActivity(ctx, "Order", "4711")
	desk.UpdateActivity(ctx, "Order", "4711", "Received", clock, "Amount", 250.0)
	desk.EnableContinuation(ctx, "Order", "4711", "WH-88")
	desk.BeginActivity(ctx, "Order", "4712")
	desk.UpdateActivity(ctx, "Order", "4712", "Received", clock, "Amount", 40.0)
	clock = clock.Add(38 * time.Minute)
	desk.UpdateActivity(ctx, "Order", "4711", "Approved", clock)
	desk.EndActivity(ctx, "Order", "4711")
	fmt.Println("approved:")
	byStage()

	warehouse := s.DirectStream(1)
	clock = clock.Add(95 * time.Minute)
	warehouse.UpdateActivity(ctx, "Order", "WH-88", "Shipped", clock)
	warehouse.EndActivity(ctx, "Order", "WH-88")
	fmt.Println("shipped:")
	byStage()

	in, _ := s.Instance(ctx, "Order", "WH-88")
	fmt.Println(in.ID, in.State, in.Values["Received"].Time().Format("15:04"), in.Values["Approved"].Time().Format("15:04"), in.Values["Shipped"].Time().Format("15:04"))
	// Output:
	// approved:
	//   Received/: 1 orders, 40
	//   Received/Approved: 1 orders, 250
	// shipped:
	//   Received/: 1 orders, 40
	//   Received/Shipped: 1 orders, 250
	// 4711 Completed 09:02 09:40 11:15
}

// ExampleParseDefinition shows an error naming the element and its line:
// BizTalk's limit of 48 characters for an activity name.
func ExampleParseDefinition() {
	doc := `<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
	<Activity Name="PurchaseOrderReceivedFromTheWebShopAndApprovedByFinance" ID="A">
		<Checkpoint Name="Received" ID="R" DataType="DATETIME"/>
	</Activity>
</BAMDefinition>`
	_, err := bam.ParseDefinition(strings.NewReader(doc))
	var de *bam.DefinitionError
	if errors.As(err, &de) {
		fmt.Println("line", de.Line, errors.Is(err, bam.ErrLimit))
	}
	fmt.Println(err)
	// Output:
	// line 2 true
	// bam: BAMDefinition/Activity[PurchaseOrderReceivedFromTheWebShopAndApprovedByFinance] (line 2): bam: limit exceeded: name "PurchaseOrderReceivedFromTheWebShopAndApprovedByFinance" has 55 characters, at most 48 allowed
}

// ExampleInterceptor binds a tracking profile to an orchestration and runs
// it: at each shape the runtime calls the interceptor with the persistence
// point's transaction, and the activity fills with no code in the
// orchestration.
func ExampleInterceptor() {
	ctx := context.Background()
	set := openSet()
	defer set.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s, err := bam.Open(ctx, groupDB{set}, &bam.Options{Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	def, _ := bam.ParseDefinition(strings.NewReader(orders))
	if err := s.Deploy(ctx, def, "admin"); err != nil {
		panic(err)
	}
	profile, err := bam.ParseProfile(strings.NewReader(`<TrackingProfile Name="Order">
  <Dimension Name="ActivityID" DataType="TraceID"/>
  <Dimension Name="Received" DataType="DATETIME">
    <DataLevel Name="Receive" SourceTypeSelected="Orchestration Shape" OrchestrationReference="Shop.ProcessOrder" ShapeID="s-receive"/>
  </Dimension>
  <Dimension Name="Amount" DataType="FLOAT">
    <DataLevel Name="Total" SourceTypeSelected="Orchestration Payload" OrchestrationReference="Shop.ProcessOrder" ShapeID="s-receive"
      MessageName="order" MessagePart="body" XPath="/*[local-name()='Order']/*[local-name()='Total']"/>
  </Dimension>
  <Dimension Name="Shipped" DataType="DATETIME">
    <DataLevel Name="Ship" SourceTypeSelected="Orchestration Shape" OrchestrationReference="Shop.ProcessOrder" ShapeID="s-ship"/>
  </Dimension>
</TrackingProfile>`))
	if err != nil {
		panic(err)
	}
	if err := s.BindProfile(ctx, profile, &bam.Binding{Orchestrations: map[string]string{"Shop.ProcessOrder": "ProcessOrder"}}); err != nil {
		panic(err)
	}

	ic := s.Interceptor("ProcessOrder")
	run := ic.Start("instance-1")
	order := bam.TrackedMessage{Name: "order", Parts: map[string][]byte{"body": []byte("<Order><Total>99.5</Total></Order>")}}
	persist := func(step func(tx bam.Tx) error) {
		tx := set.NewTxn() // the persistence point's transaction
		if err := step(tx); err != nil {
			panic(err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			panic(err)
		}
	}
	persist(func(tx bam.Tx) error { return ic.Shape(ctx, tx, run, "s-receive", order) })
	now = now.Add(2 * time.Hour)
	persist(func(tx bam.Tx) error {
		if err := ic.Shape(ctx, tx, run, "s-ship"); err != nil {
			return err
		}
		return ic.Complete(ctx, tx, run)
	})
	if err := s.WaitCaughtUp(ctx); err != nil {
		panic(err)
	}
	in, _ := s.Instance(ctx, "Order", "instance-1")
	fmt.Println(in.State, in.Values["Amount"].Float(), in.Values["Received"].Time().Format("15:04"), in.Values["Shipped"].Time().Format("15:04"))
	// Output:
	// Completed 99.5 09:00 11:00
}
