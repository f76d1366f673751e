package biztier_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
)

// The transactional outbox: an application's own state change and the
// message that announces it commit in one transaction of the group, so
// there is never an approved order without its message, nor a message
// about an order that was not approved. A failed step leaves neither.
func ExampleGroup_Update_outbox() {
	ctx := context.Background()
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	mb, _ := g.MessageBox()
	if err := mb.CreateHost(ctx, "Shipping"); err != nil {
		log.Fatal(err)
	}
	if _, err := mb.Subscribe(ctx, messagebox.Subscription{Name: "Ship", Host: "Shipping",
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String("urn:shop#Approved"))))}); err != nil {
		log.Fatal(err)
	}

	approve := func(order string, fail error) error {
		_, err := g.Update(ctx, func(tx *biztier.Tx) error {
			if err := tx.Set(biztier.MessageBox, []byte("order/"+order), []byte("approved")); err != nil {
				return err
			}
			msg := messagebox.NewMessage([]byte("<Approved>"+order+"</Approved>"),
				messagebox.Promoted("BTS.MessageType", messagebox.String("urn:shop#Approved")))
			if _, err := mb.PublishTx(ctx, tx, msg); err != nil {
				return err
			}
			return fail // a later step of the same unit of work
		})
		return err
	}
	if err := approve("4711", nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println("4712:", approve("4712", errors.New("credit check failed")))

	for _, order := range []string{"4711", "4712"} {
		state, ok, _ := g.Get(biztier.MessageBox, []byte("order/"+order))
		fmt.Printf("order %s: %q stored=%t\n", order, state, ok)
	}
	ds, _ := mb.Dequeue(ctx, "Shipping", 10, time.Minute)
	for _, d := range ds {
		fmt.Println("to ship:", string(d.Message.BodyPart().Body))
		_ = mb.Complete(ctx, d.Lease)
	}
	// Output:
	// 4712: credit check failed
	// order 4711: "approved" stored=true
	// order 4712: "" stored=false
	// to ship: <Approved>4711</Approved>
}
