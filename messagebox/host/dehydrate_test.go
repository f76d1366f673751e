package host_test

import (
	"context"
	"testing"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// TestInstance_serviceDehydratesAndRehydrates runs an orchestration whose
// first step stores its state and dehydrates while it waits for a
// correlated message; the message wakes it with that state.
func TestInstance_serviceDehydratesAndRehydrates(t *testing.T) {
	f := newFlow(t)
	ctx := testCtx(t)
	if err := f.mb.CreateHost(ctx, "OrchHost"); err != nil {
		t.Fatal(err)
	}
	eq := func(p, v string) messagebox.Condition { return messagebox.Eq(p, messagebox.String(v)) }
	if _, err := f.mb.Subscribe(ctx, messagebox.Subscription{Name: "Waiter", Host: "OrchHost", Service: "Waiter",
		Predicate: messagebox.Or(messagebox.And(eq("BTS.MessageType", "Start")))}); err != nil {
		t.Fatal(err)
	}
	started, woken := make(chan struct{}, 1), make(chan string, 1)
	f.opts.Services = map[string]host.Service{"Waiter": func(_ context.Context, d *messagebox.Delivery) (messagebox.PersistPoint, error) {
		key, _ := d.Message.Property("Shop.Id")
		if d.Instance.Data == nil {
			started <- struct{}{}
			return messagebox.PersistPoint{State: []byte("waiting for " + key.Value.Str()), Dehydrate: true,
				Initialize: []messagebox.CorrelationSet{{Name: "k", Properties: []messagebox.Property{key},
					Filter: messagebox.And(eq("BTS.MessageType", "Wake"))}}}, nil
		}
		woken <- string(d.Instance.Data)
		return messagebox.PersistPoint{Complete: true}, nil
	}}
	inst := f.run(t, "OrchHost")
	msg := func(typ string) *messagebox.Message {
		return messagebox.NewMessage([]byte("x"), messagebox.Promoted("BTS.MessageType", messagebox.String(typ)),
			messagebox.Promoted("Shop.Id", messagebox.String("K-1")))
	}
	if _, _, err := f.mb.Publish(ctx, msg("Start")); err != nil {
		t.Fatal(err)
	}
	// A stop lets the running first step finish and commit; the host
	// instance starts again in between the steps, as after a restart.
	<-started
	if err := inst.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	list := f.mb.Instances(messagebox.InstanceQuery{Service: "Waiter"})
	if len(list) != 1 || list[0].State != messagebox.StateDehydrated {
		t.Fatalf("instances %+v, want one dehydrated", list)
	}
	f.run(t, "OrchHost")
	if _, _, err := f.mb.Publish(ctx, msg("Wake")); err != nil {
		t.Fatal(err)
	}
	if got := <-woken; got != "waiting for K-1" {
		t.Fatalf("woken with %q", got)
	}
}
