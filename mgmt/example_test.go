package mgmt_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// printSubs stands in for the MessageBox: it prints what mgmt asks of it.
type printSubs struct{ queued int }

func (printSubs) Subscribe(_ mgmt.GroupTx, sub mgmt.Subscription) error {
	fmt.Printf("subscribe %s on %s, active %t: %s\n", sub.Name, sub.Host, sub.Active, sub.Filter)
	return nil
}

func (printSubs) Unsubscribe(_ mgmt.GroupTx, id uuid.UUID) error {
	fmt.Println("unsubscribe", id)
	return nil
}

func (p printSubs) Queued(uuid.UUID) (int, error) { return p.queued, nil }

// openExample opens a group's stores in memory.
func openExample() *store.Set {
	fs := vfs.NewMem()
	dirs := map[store.ID]string{}
	for _, id := range store.All {
		dirs[id] = id.String()
	}
	set, err := store.Open(&store.Options{FS: fs, WALDir: "wal", Dirs: dirs, MemTableSize: 4 << 20, CheckpointInterval: -1})
	if err != nil {
		log.Fatal(err)
	}
	return set
}

// Configure an application by hand, then start its send port: starting
// enlists it, which subscribes it in the MessageBox in the same commit.
func Example() {
	set := openExample()
	defer set.Close()
	s, err := mgmt.Open(dbOf(set), printSubs{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	err = s.Update(ctx, func(tx *mgmt.Tx) error {
		if err := tx.PutApplication(&mgmt.Application{Name: "Orders"}); err != nil {
			return err
		}
		if err := tx.PutHost(&mgmt.Host{Name: "SendHost"}); err != nil {
			return err
		}
		if err := tx.PutAdapter(&mgmt.Adapter{Name: "FILE"}); err != nil {
			return err
		}
		return tx.PutSendPort(&mgmt.SendPort{
			Name:        "BigOrders",
			Application: "Orders",
			Primary:     &mgmt.Transport{Adapter: "FILE", Address: "out/%MessageID%.xml", Handler: "SendHost", RetryCount: 3, RetryInterval: 5},
			Filter: mgmt.Filter{{
				{Property: "BTS.MessageType", Op: mgmt.OpEqual, Value: mgmt.Text("urn:orders#Order")},
				{Property: "Orders.Total", Op: mgmt.OpGreater, Value: mgmt.Text("1000")},
			}},
		})
	})
	if err != nil {
		log.Fatal(err)
	}
	port := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "BigOrders"}
	if err := s.Start(ctx, port); err != nil {
		log.Fatal(err)
	}
	p, _ := s.SendPort("BigOrders")
	fmt.Println(p.Name, p.State)
	// Output:
	// subscribe SendPort:BigOrders/filter on SendHost, active true: (BTS.MessageType == "urn:orders#Order" AND Orders.Total > "1000")
	// subscribe SendPort:BigOrders/transport on SendHost, active true: (BTS.SPTransportID == "547786da-41b6-5290-b9ab-8ab7d042912f")
	// BigOrders Started
}

// Import a binding file, then export it again.
func ExampleStore_Import() {
	set := openExample()
	defer set.Close()
	s, err := mgmt.Open(dbOf(set), printSubs{}, nil)
	if err != nil {
		log.Fatal(err)
	}
	const binding = `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <SendPortCollection>
    <SendPort Name="Audit" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>audit/%MessageID%.xml</Address>
        <TransportType Name="FILE" />
        <SendHandler Name="BizTalkServerApplication" />
      </PrimaryTransport>
      <Filter>&lt;?xml version="1.0" encoding="utf-16"?&gt;
&lt;Filter&gt;
  &lt;Group&gt;
    &lt;Statement Property="BTS.ReceivePortName" Operator="0" Value="In" /&gt;
  &lt;/Group&gt;
  &lt;Group&gt;
    &lt;Statement Property="Orders.Audit" Operator="6" /&gt;
  &lt;/Group&gt;
&lt;/Filter&gt;</Filter>
      <ApplicationName>Audit</ApplicationName>
    </SendPort>
  </SendPortCollection>
</BindingInfo>`
	res, err := s.Import(context.Background(), strings.NewReader(binding), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", res.Created)
	p, _ := s.SendPort("Audit")
	fmt.Println(p.Filter)

	var out strings.Builder
	if err := s.Export(context.Background(), &out, "Audit"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(out.String(), `&lt;Statement Property="Orders.Audit" Operator="6" /&gt;`))
	// Output:
	// created: [Host:BizTalkServerApplication Adapter:FILE Application:Audit SendPort:Audit]
	// (BTS.ReceivePortName == "In") OR (Orders.Audit exists)
	// true
}

// Unenlisting is refused while messages are queued for the port, unless
// forced.
func ExampleStore_Unenlist() {
	set := openExample()
	defer set.Close()
	s, err := mgmt.Open(dbOf(set), printSubs{queued: 2}, nil)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	_, err = s.Import(ctx, strings.NewReader(`<BindingInfo><SendPortCollection><SendPort Name="Out" IsStatic="false"><ApplicationName>App</ApplicationName></SendPort></SendPortCollection></BindingInfo>`), nil)
	if err != nil {
		log.Fatal(err)
	}
	out := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Out"}
	if err := s.Enlist(ctx, out); err != nil {
		log.Fatal(err)
	}
	err = s.Unenlist(ctx, out, false)
	var qe *mgmt.QueuedError
	fmt.Println(errors.Is(err, mgmt.ErrMessagesQueued), errors.As(err, &qe) && qe.Count == 2)
	if err := s.Unenlist(ctx, out, true); err != nil {
		log.Fatal(err)
	}
	p, _ := s.SendPort("Out")
	fmt.Println(p.State)
	// Output:
	// subscribe SendPort:Out/transport on , active false: (BTS.SPTransportID == "c043fa93-0555-5466-ad82-9e059f0c337b")
	// true true
	// unsubscribe 1fa025a7-69be-5069-8021-c1615f58be77
	// Bound
}
