// Command pipeline runs a small BizTalk application on a biztier group on
// disk, with the host runtime (package messagebox/host): FILE receive →
// XML receive pipeline → correlating orchestration → FILE send.
//
//	go run ./examples/pipeline                 # data in ./biztier-data
//	go run ./examples/pipeline -dir /tmp/shop -orders 500
//
// It imports its binding file (two receive locations, two send ports, all
// FILE, on three hosts), subscribes the OrderProcess orchestration on a
// fourth, and starts a host instance of each host:
//
//   - ReceiveHost reads order files from <dir>/in (sample orders are written
//     there first when it is empty); the XML receive pipeline promotes the
//     message type and the order ID;
//   - OrchHost runs OrderProcess: an order starts an instance, which
//     initializes a correlation set on the order ID and, in the same
//     persistence point, sends the trading partner a confirmation request;
//     the partner's confirmation is routed back to the same instance, which
//     sends the confirmed order and completes;
//   - PartnerHost writes requests to <dir>/partner and reads the partner's
//     answers from <dir>/confirmations; a goroutine stands in for the
//     partner, answering each request it finds;
//   - SendHost writes confirmed orders to <dir>/out, named after the order's
//     file.
//
// It prints progress while it runs and a summary at the end. Ctrl-C stops
// the host instances gracefully (receiving stops first, work in flight
// finishes) and prints the summary so far. Everything is durable: stop it at
// any point, even with kill -9, and run it again, and it carries on from
// the stored state (a file is removed only once its message is committed,
// and never published twice). Delivery is at least once, so after a crash
// the partner may answer a request twice; the second confirmation reaches
// an instance that has already completed, and the MessageBox suspends it as
// a zombie, as BizTalk does: the host instance reports it, the summary
// counts it, and the run goes on.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/file"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/biztier/biztier/mgmt"
	"github.com/google/uuid"
)

//go:embed bindings.xml
var bindings []byte

const (
	propType  = "BTS.MessageType"
	propOrder = "Shop.OrderId"

	typeOrder        = "urn:shop#Order"
	typeRequest      = "urn:shop#ConfirmationRequest"
	typeConfirmation = "urn:shop#Confirmation"
	typeConfirmed    = "urn:shop#ConfirmedOrder"

	orchHost = "OrchHost"
)

// orchestrationSub is the OrderProcess activation subscription's ID, fixed
// so that a second run finds it.
var orchestrationSub = uuid.NewSHA1(uuid.NameSpaceURL, []byte("biztier:examples/pipeline/OrderProcess"))

// schemas are the shop's document schemas: where each promotes the order ID.
var schemas = []pipeline.Schema{
	{MessageType: typeOrder, Promote: []pipeline.Promotion{{Property: propOrder, Path: "/Order/Id"}}},
	{MessageType: typeConfirmation, Promote: []pipeline.Promotion{{Property: propOrder, Path: "/Confirmation/OrderId"}}},
}

type config struct {
	dir    string
	orders int
}

// summary is what a run did.
type summary struct {
	in, out, suspended, zombies int
	elapsed                     time.Duration
	interrupted                 bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.dir, "dir", "biztier-data", "group directory (the in/, out/ and partner folders go inside it)")
	flag.IntVar(&cfg.orders, "orders", 200, "sample orders to write to the input folder when it is empty")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, cfg config, w io.Writer) (summary, error) {
	dirs := map[string]string{}
	for _, d := range []string{"in", "out", "partner", "confirmations"} {
		dirs[d] = filepath.Join(cfg.dir, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			return summary{}, err
		}
	}
	g, err := biztier.Open(filepath.Join(cfg.dir, "group"), nil)
	if err != nil {
		return summary{}, err
	}
	defer g.Close()
	mb, err := configure(ctx, g)
	if err != nil {
		return summary{}, err
	}
	st := mb.Stats()
	files, err := xmlFiles(dirs["in"])
	if err != nil {
		return summary{}, err
	}
	if pending := st.Entries - st.Suspended; len(files) == 0 && pending == 0 {
		if err := writeSampleOrders(dirs["in"], cfg.orders); err != nil {
			return summary{}, err
		}
		fmt.Fprintf(w, "wrote %d sample orders to %s\n", cfg.orders, dirs["in"])
	} else if pending > 0 {
		fmt.Fprintf(w, "carrying on: %d messages were in flight when the last run stopped\n", pending)
	}

	start := time.Now()
	opts, err := hostOptions(cfg.dir)
	if err != nil {
		return summary{}, err
	}
	hosts := map[string]*host.Instance{}
	stopAll := func() {
		for _, inst := range hosts {
			inst.Stop(context.Background()) // the instances report their own errors
		}
	}
	for _, name := range []string{"ReceiveHost", orchHost, "PartnerHost", "SendHost"} {
		inst, err := host.Start(ctx, g, name, opts)
		if err != nil {
			stopAll()
			return summary{}, err
		}
		hosts[name] = inst
	}
	partnerCtx, stopPartner := context.WithCancel(ctx)
	defer stopPartner()
	partnerDone := make(chan struct{})
	go func() { defer close(partnerDone); partner(partnerCtx, dirs["partner"], dirs["confirmations"]) }()

	progress := func() {
		st := mb.Stats()
		fmt.Fprintf(w, "\rreceived %d  sent %d  instances %d  in flight %d  suspended %d   ",
			hosts["ReceiveHost"].Stats().Received, hosts["SendHost"].Stats().Sent, st.Instances, st.Entries-st.Suspended, st.Suspended)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	for finished := false; !finished; {
		select {
		case <-ctx.Done():
			finished = true
		case <-tick.C:
			progress()
			finished = idle(mb, dirs)
		}
	}
	tick.Stop()
	stopAll()
	stopPartner()
	<-partnerDone
	progress()
	st = mb.Stats()
	sum := summary{in: int(hosts["ReceiveHost"].Stats().Received), out: int(hosts["SendHost"].Stats().Sent),
		suspended: st.Suspended, zombies: int(hosts[orchHost].Stats().Zombies), elapsed: time.Since(start), interrupted: ctx.Err() != nil}
	verb := "done"
	if sum.interrupted {
		verb = "stopped (run again to carry on)"
	}
	fmt.Fprintf(w, "\n%s: %d orders in, %d confirmed orders out, %d suspended (%d zombies this run), in %s (%.0f orders/s)\n",
		verb, sum.in, sum.out, sum.suspended, sum.zombies, sum.elapsed.Round(time.Millisecond), float64(sum.out)/sum.elapsed.Seconds())
	gs := g.Stats()
	fmt.Fprintf(w, "data: group in %s (log lsn %d, %.1f commits per fsync), output in %s\n",
		filepath.Join(cfg.dir, "group"), gs.LSN, gs.FramesPerFsync, dirs["out"])
	return sum, nil
}

// idle reports whether everything received has gone all the way through:
// no file waits in a folder, no entry but suspended ones is left, and no
// instance runs but zombies.
func idle(mb *messagebox.Store, dirs map[string]string) bool {
	for _, d := range []string{"in", "partner", "confirmations"} {
		if files, err := xmlFiles(dirs[d]); err != nil || len(files) > 0 {
			return false
		}
	}
	st := mb.Stats()
	return st.Entries == st.Suspended && st.Instances == st.Zombies
}

// hostOptions are the host instances' options: the FILE adapter on the
// run's folder, XMLReceive with the shop's schemas, and the orchestration.
func hostOptions(dir string) (*host.Options, error) {
	reg := host.NewRegistry()
	if err := file.Register(reg, &file.Options{Root: dir}); err != nil {
		return nil, err
	}
	sc, err := pipeline.NewSchemas(schemas...)
	if err != nil {
		return nil, err
	}
	return &host.Options{
		Adapters: reg, Pipelines: pipeline.NewRegistry(sc),
		Services: map[string]host.Service{"OrderProcess": orderProcess},
		// A stop lets work in flight finish for 3 s at most.
		ShutdownTimeout: 3 * time.Second,
	}, nil
}

// configure imports the bindings and subscribes the orchestration, once.
func configure(ctx context.Context, g *biztier.Group) (*messagebox.Store, error) {
	mg, err := g.Management()
	if err != nil {
		return nil, err
	}
	mb, err := g.MessageBox()
	if err != nil {
		return nil, err
	}
	if _, err := mg.ReceivePort("ReceiveConfirmations"); errors.Is(err, mgmt.ErrNotFound) {
		if _, err := mg.Import(ctx, bytes.NewReader(bindings), &mgmt.ImportOptions{Application: "Shop"}); err != nil {
			return nil, fmt.Errorf("import bindings: %w", err)
		}
		if err := mg.StartApplication(ctx, "Shop"); err != nil {
			return nil, fmt.Errorf("start application: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	if _, err := mb.Subscription(orchestrationSub); errors.Is(err, messagebox.ErrNotFound) {
		if err := mb.CreateHost(ctx, orchHost); err != nil {
			return nil, err
		}
		_, err := mb.Subscribe(ctx, messagebox.Subscription{
			ID: orchestrationSub, Name: "OrderProcess/ReceiveOrder", Host: orchHost,
			Kind: messagebox.Activation, Service: "OrderProcess",
			Predicate: messagebox.Or(messagebox.And(messagebox.Eq(propType, messagebox.String(typeOrder)))),
		})
		if err != nil {
			return nil, fmt.Errorf("subscribe orchestration: %w", err)
		}
	} else if err != nil {
		return nil, err
	}
	return mb, nil
}

// orderProcess is the OrderProcess orchestration, one step per message. Its
// state is the order's file name and body.
func orderProcess(_ context.Context, d *messagebox.Delivery) (messagebox.PersistPoint, error) {
	order, _ := d.Message.Property(propOrder)
	typ, _ := d.Message.Property(propType)
	switch typ.Value.Str() {
	case typeOrder:
		// Correlate on the order ID and ask for the confirmation in one
		// persistence point, so the answer can never arrive before the
		// instance is waiting for it.
		name, _ := d.Message.Property(file.PropReceivedFileName)
		return messagebox.PersistPoint{
			State: append([]byte(filepath.Base(name.Value.Str())+"\n"), d.Message.BodyPart().Body...),
			Initialize: []messagebox.CorrelationSet{{
				Name:       "order",
				Properties: []messagebox.Property{messagebox.Promoted(propOrder, order.Value)},
				Filter:     messagebox.And(messagebox.Eq(propType, messagebox.String(typeConfirmation))),
			}},
			Publish: []*messagebox.Message{messagebox.NewMessage(
				fmt.Appendf(nil, `<ConfirmationRequest xmlns="urn:shop"><OrderId>%s</OrderId></ConfirmationRequest>`, order.Value.Str()),
				messagebox.Promoted(propType, messagebox.String(typeRequest)),
				messagebox.Promoted(propOrder, order.Value))},
		}, nil
	case typeConfirmation:
		name, body, _ := bytes.Cut(d.Instance.Data, []byte("\n"))
		return messagebox.PersistPoint{
			Complete: true,
			Publish: []*messagebox.Message{messagebox.NewMessage(body,
				messagebox.Promoted(propType, messagebox.String(typeConfirmed)),
				messagebox.Promoted(propOrder, order.Value),
				// The send port names the output file after the order's.
				messagebox.Written(file.PropReceivedFileName, messagebox.String(string(name))))},
		}, nil
	}
	return messagebox.PersistPoint{}, fmt.Errorf("OrderProcess: unexpected message type %q", typ.Value.Str())
}

// partner stands in for the trading partner: it answers each confirmation
// request it finds in its inbox with a confirmation in its outbox, written
// under a temporary name and renamed into place, then removes the request.
func partner(ctx context.Context, inbox, outbox string) {
	for {
		files, _ := xmlFiles(inbox)
		for _, f := range files {
			body, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			id := between(string(body), "<OrderId>", "</OrderId>")
			answer := fmt.Sprintf(`<Confirmation xmlns="urn:shop"><OrderId>%s</OrderId></Confirmation>`, id)
			tmp := filepath.Join(outbox, "."+filepath.Base(f)+".tmp") // outside the location's mask
			if os.WriteFile(tmp, []byte(answer), 0o644) == nil && os.Rename(tmp, filepath.Join(outbox, filepath.Base(f))) == nil {
				_ = os.Remove(f)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// between returns the text of s between open and end.
func between(s, open, end string) string {
	_, rest, _ := strings.Cut(s, open)
	v, _, _ := strings.Cut(rest, end)
	return v
}

func xmlFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	slices.Sort(files)
	return files, err
}

func writeSampleOrders(dir string, n int) error {
	run := time.Now().UnixNano()
	for i := range n {
		id := fmt.Sprintf("PO-%d-%05d", run, i)
		body := fmt.Sprintf("<Order xmlns=\"urn:shop\"><Id>%s</Id><Total>%d</Total></Order>\n", id, 10+i%90)
		tmp := filepath.Join(dir, "."+id+".tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, id+".xml")); err != nil {
			return err
		}
	}
	return nil
}
