package messagebox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/biztier/biztier"

	"github.com/biztier/biztier/messagebox"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// openMessageBox opens an in-memory group, the test double, and its
// MessageBox.
func openMessageBox() (*biztier.Group, *messagebox.Store) {
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	mb, err := g.MessageBox()
	if err != nil {
		log.Fatal(err)
	}
	return g, mb
}

const messageType = "http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType"

func Example() {
	ctx := context.Background()
	g, mb := openMessageBox()
	defer g.Close()

	// A send port on host "SendHost" subscribes to orders over 100.
	if err := mb.CreateHost(ctx, "SendHost"); err != nil {
		log.Fatal(err)
	}
	_, err := mb.Subscribe(ctx, messagebox.Subscription{
		Name: "OrdersToWarehouse",
		Host: "SendHost",
		Predicate: messagebox.Or(messagebox.And(
			messagebox.Eq(messageType, messagebox.String("urn:shop#Order")),
			messagebox.Cond("urn:shop#Total", messagebox.OpGreater, messagebox.Int64(100)),
		)),
	})
	if err != nil {
		log.Fatal(err)
	}

	// A receive location publishes an order.
	order := messagebox.NewMessage([]byte("<Order total='250'/>"),
		messagebox.Promoted(messageType, messagebox.String("urn:shop#Order")),
		messagebox.Promoted("urn:shop#Total", messagebox.Int64(250)),
	)
	if _, _, err := mb.Publish(ctx, order); err != nil {
		log.Fatal(err)
	}

	// The send host dequeues it, sends it and completes it.
	ds, err := mb.Dequeue(ctx, "SendHost", 10, time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range ds {
		fmt.Printf("deliver %s\n", d.Message.BodyPart().Body)
		if err := mb.Complete(ctx, d.Lease); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("messages stored:", mb.Stats().Messages)
	// Output:
	// deliver <Order total='250'/>
	// messages stored: 0
}

func Example_routingFailure() {
	ctx := context.Background()
	g, mb := openMessageBox()
	defer g.Close()

	// Nothing subscribes: the message is suspended, not dropped.
	_, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<Invoice/>"),
		messagebox.Promoted(messageType, messagebox.String("urn:shop#Invoice"))))
	var re *messagebox.RoutingError
	if errors.As(err, &re) {
		fmt.Println(errors.Is(err, messagebox.ErrNoSubscribers))
		s, _ := mb.GetSuspended(ctx, re.Entry)
		fmt.Println(s.Kind, "resumable:", s.Resumable)
	}
	// Output:
	// true
	// routing failure resumable: false
}

func ExampleStore_Fail() {
	ctx := context.Background()
	clock := messagebox.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	g, err := biztier.Open("biztier", &biztier.Options{
		FS:         vfs.NewMem(),
		Durability: biztier.NoSync,
		MessageBox: &messagebox.Options{Clock: clock},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	mb, err := g.MessageBox()
	if err != nil {
		log.Fatal(err)
	}
	_ = mb.CreateHost(ctx, "SendHost")
	_, _ = mb.Subscribe(ctx, messagebox.Subscription{
		Host:      "SendHost",
		Retry:     &messagebox.RetryPolicy{Count: 1, Interval: 5 * time.Minute},
		Predicate: messagebox.Or(messagebox.And(messagebox.Exists(messageType))),
	})
	_, _, _ = mb.Publish(ctx, messagebox.NewMessage([]byte("x"),
		messagebox.Promoted(messageType, messagebox.String("urn:any"))))

	for range 2 {
		ds, _ := mb.Dequeue(ctx, "SendHost", 1, time.Minute)
		_ = mb.Fail(ctx, ds[0].Lease, "connection refused")
		clock.Advance(5 * time.Minute) // the retry interval passes
	}
	// The retry is used up: the entry is suspended, resumable.
	list, _ := mb.ListSuspended(ctx, messagebox.SuspendedQuery{Host: "SendHost"})
	fmt.Println(len(list), list[0].Resumable, list[0].Error)
	n, _ := mb.Resume(ctx, messagebox.SuspendedQuery{Entries: []messagebox.EntryID{list[0].ID}})
	fmt.Println("resumed", n)
	// Output:
	// 1 true connection refused
	// resumed 1
}

// A messaging step that turns each order it receives into a confirmation:
// publishing the confirmations, completing the orders and taking the next
// orders is one commit, so neither an order without its confirmation nor a
// confirmation sent twice survives a crash.
func ExampleStore_PublishCompleteAndDequeue() {
	ctx := context.Background()
	g, mb := openMessageBox()
	defer g.Close()
	for _, h := range []string{"Mapper", "SendHost"} {
		if err := mb.CreateHost(ctx, h); err != nil {
			log.Fatal(err)
		}
	}
	for host, typ := range map[string]string{"Mapper": "urn:shop#Order", "SendHost": "urn:shop#Confirmation"} {
		_, err := mb.Subscribe(ctx, messagebox.Subscription{Name: host, Host: host,
			Predicate: messagebox.Or(messagebox.And(messagebox.Eq(messageType, messagebox.String(typ))))})
		if err != nil {
			log.Fatal(err)
		}
	}
	for i := range 3 {
		_, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte(fmt.Sprintf("<Order id='%d'/>", i)),
			messagebox.Promoted(messageType, messagebox.String("urn:shop#Order"))))
		if err != nil {
			log.Fatal(err)
		}
	}

	ds, err := mb.Dequeue(ctx, "Mapper", 2, time.Minute)
	for len(ds) > 0 && err == nil {
		var confirmations []*messagebox.Message
		var done []messagebox.Lease
		for _, d := range ds {
			body := bytes.Replace(d.Message.BodyPart().Body, []byte("Order"), []byte("Confirmation"), 1)
			confirmations = append(confirmations, messagebox.NewMessage(body,
				messagebox.Promoted(messageType, messagebox.String("urn:shop#Confirmation"))))
			done = append(done, d.Lease)
		}
		_, ds, err = mb.PublishCompleteAndDequeue(ctx, confirmations, done, "Mapper", 2, time.Minute)
	}
	if err != nil {
		log.Fatal(err)
	}
	st := mb.Stats()
	fmt.Println("orders waiting:", st.Hosts["Mapper"].Depth(), "confirmations waiting:", st.Hosts["SendHost"].Depth())
	// Output:
	// orders waiting: 0 confirmations waiting: 3
}
