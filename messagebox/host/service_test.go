package host_test

import (
	"context"
	"errors"
	"testing"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// TestInstance_zombieIsReportedNotFatal runs an orchestration that
// completes on a confirmation, and hands it two: the second reaches an
// instance that has completed, as at-least-once redelivery does after a
// crash. The host instance reports the zombie and carries on.
func TestInstance_zombieIsReportedNotFatal(t *testing.T) {
	f := newFlow(t)
	ctx := testCtx(t)
	if err := f.mb.CreateHost(ctx, "OrchHost"); err != nil {
		t.Fatal(err)
	}
	typ := func(s string) messagebox.Property {
		return messagebox.Promoted("BTS.MessageType", messagebox.String(s))
	}
	if _, err := f.mb.Subscribe(ctx, messagebox.Subscription{
		Name: "OrderProcess", Host: "OrchHost", Service: "OrderProcess",
		Predicate: messagebox.Or(messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String("urn:shop#NewOrder")))),
	}); err != nil {
		t.Fatal(err)
	}
	// Both confirmations are held in their handlers until both have been
	// delivered, so that the second is leased when the first completes
	// the instance.
	entered, release := make(chan struct{}, 2), make(chan struct{})
	f.opts.Services = map[string]host.Service{"OrderProcess": func(ctx context.Context, d *messagebox.Delivery) (messagebox.PersistPoint, error) {
		id, _ := d.Message.Property("Shop.Id")
		if t, _ := d.Message.Property("BTS.MessageType"); t.Value.Str() == "urn:shop#NewOrder" {
			return messagebox.PersistPoint{
				Initialize: []messagebox.CorrelationSet{{Name: "order", Properties: []messagebox.Property{id},
					Filter: messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String("urn:shop#Confirmation")))}},
				// The request to the partner goes out through BigOrders.
				Publish: []*messagebox.Message{messagebox.NewMessage([]byte("<Request/>"), typ("urn:shop#Order"),
					messagebox.Promoted("Shop.Total", messagebox.Int64(500)), id)},
			}, nil
		}
		entered <- struct{}{}
		<-release
		return messagebox.PersistPoint{Complete: true, Publish: []*messagebox.Message{messagebox.NewMessage([]byte("<Confirmed/>"),
			typ("urn:shop#Order"), messagebox.Promoted("Shop.Total", messagebox.Int64(1)), id)}}, nil
	}}
	inst := f.run(t, "OrchHost")
	f.run(t, "SendHost")
	id := messagebox.Promoted("Shop.Id", messagebox.String("PO-1"))
	if _, _, err := f.mb.Publish(ctx, messagebox.NewMessage([]byte("<NewOrder/>"), typ("urn:shop#NewOrder"), id)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mem.WaitSent(ctx, "BigOrders", 1); err != nil {
		t.Fatal(err)
	}
	confirmation := func() *messagebox.Message {
		return messagebox.NewMessage([]byte("<Confirmation/>"), typ("urn:shop#Confirmation"), id)
	}
	if _, err := f.mb.PublishBatch(ctx, []*messagebox.Message{confirmation(), confirmation()}); err != nil {
		t.Fatal(err)
	}
	<-entered
	<-entered
	close(release)
	if _, err := f.mem.WaitSent(ctx, "SmallOrders", 1); err != nil {
		t.Fatal(err)
	}
	if err := f.nextError(t); !errors.Is(err, messagebox.ErrZombie) {
		t.Fatalf("reported %v, want ErrZombie", err)
	}
	if err := inst.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	st := f.mb.Stats()
	if st.Zombies != 1 || st.Suspended != 1 || len(f.mem.Sent("SmallOrders")) != 1 {
		t.Fatalf("zombies %d, suspended %d, confirmed %d; want 1, 1, 1", st.Zombies, st.Suspended, len(f.mem.Sent("SmallOrders")))
	}
	if s := inst.Stats(); s.Zombies != 1 || s.Steps != 2 {
		t.Fatalf("stats %+v", s)
	}
}
