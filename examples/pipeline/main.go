// Command pipeline runs a small BizTalk-style integration on a biztier
// group on disk: receive → orchestration with correlation → send.
//
//	go run ./examples/pipeline                 # data in ./biztier-data
//	go run ./examples/pipeline -dir /tmp/shop -orders 500
//
// It configures the group from a binding file of its own (a receive port
// and location, two send ports with filters, on three hosts), subscribes an
// orchestration service, and runs four goroutines:
//
//   - receive reads order files from <dir>/in (writing sample orders there
//     first when it is empty) and publishes each with promoted properties;
//   - the OrderProcess orchestration is activated by an order, initializes
//     a correlation set on the order ID and, in the same persistence point,
//     asks the trading partner for a confirmation; the confirmation is
//     routed back to the same instance, which publishes the confirmed order
//     and completes;
//   - partner stands in for the trading partner: it answers each request
//     with a confirmation;
//   - send writes confirmed orders to <dir>/out.
//
// It prints progress while it runs and a summary at the end; Ctrl-C stops
// it cleanly with the summary so far. Everything is durable: stop it at any
// point, even with kill -9, and run it again, and it carries on from the
// stored state (an order file is removed only once its message is
// committed). Delivery is at least once, so after a crash the partner may
// answer a request twice; the second confirmation reaches an instance that
// has already completed, and the MessageBox suspends it as a zombie, as
// BizTalk does: the summary counts them.
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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
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
	lease    = 30 * time.Second
)

// orchestrationSub is the OrderProcess activation subscription's ID, fixed
// so that a second run finds it.
var orchestrationSub = uuid.NewSHA1(uuid.NameSpaceURL, []byte("biztier:examples/pipeline/OrderProcess"))

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
	flag.StringVar(&cfg.dir, "dir", "biztier-data", "group directory (in/ and out/ folders go inside it)")
	flag.IntVar(&cfg.orders, "orders", 200, "sample orders to write to the input folder when it is empty")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, cfg config, w io.Writer) (summary, error) {
	in, out := filepath.Join(cfg.dir, "in"), filepath.Join(cfg.dir, "out")
	for _, d := range []string{in, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
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
	mg, err := g.Management()
	if err != nil {
		return summary{}, err
	}
	st := mb.Stats()
	pending := st.Entries - st.Suspended
	files, err := orderFiles(in)
	if err != nil {
		return summary{}, err
	}
	if len(files) == 0 && pending == 0 {
		if err := writeSampleOrders(in, cfg.orders); err != nil {
			return summary{}, err
		}
		fmt.Fprintf(w, "wrote %d sample orders to %s\n", cfg.orders, in)
	} else if pending > 0 {
		fmt.Fprintf(w, "carrying on: %d messages were in flight when the last run stopped\n", pending)
	}

	start := time.Now()
	var received, sent, zombies atomic.Int64
	var receiveDone atomic.Bool
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		defer receiveDone.Store(true)
		return receive(ctx, mb, mg, in, &received)
	})
	eg.Go(func() error { return orchestrate(ctx, mb, &zombies) })
	eg.Go(func() error { return partner(ctx, mb) })
	eg.Go(func() error { return send(ctx, mb, out, &sent) })
	eg.Go(func() error {
		// Progress, and the end: everything received has gone all the way
		// through (no entry but suspended ones left, no instance running).
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			st := mb.Stats()
			fmt.Fprintf(w, "\rreceived %d  sent %d  instances %d  in flight %d  suspended %d   ",
				received.Load(), sent.Load(), st.Instances, st.Entries-st.Suspended, st.Suspended)
			if receiveDone.Load() && st.Entries == st.Suspended && st.Instances == st.Zombies {
				cancel()
				return nil
			}
		}
	})
	if err := eg.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return summary{}, err
	}
	st = mb.Stats()
	sum := summary{in: int(received.Load()), out: int(sent.Load()), suspended: st.Suspended, zombies: int(zombies.Load()),
		elapsed: time.Since(start), interrupted: parent.Err() != nil}
	verb := "done"
	if sum.interrupted {
		verb = "stopped (run again to carry on)"
	}
	fmt.Fprintf(w, "\n%s: %d orders in, %d confirmed orders out, %d suspended (%d zombies this run), in %s (%.0f orders/s)\n",
		verb, sum.in, sum.out, sum.suspended, sum.zombies, sum.elapsed.Round(time.Millisecond), float64(sum.out)/sum.elapsed.Seconds())
	gs := g.Stats()
	fmt.Fprintf(w, "data: group in %s (log lsn %d, %.1f commits per fsync), output in %s\n",
		filepath.Join(cfg.dir, "group"), gs.LSN, gs.FramesPerFsync, out)
	return sum, nil
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
	if _, err := mg.SendPort("SendConfirmedOrders"); errors.Is(err, mgmt.ErrNotFound) {
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

func orderFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	slices.Sort(files)
	return files, err
}

func writeSampleOrders(dir string, n int) error {
	run := time.Now().UnixNano()
	for i := range n {
		id := fmt.Sprintf("PO-%d-%05d", run, i)
		body := fmt.Sprintf("<Order xmlns=\"urn:shop\"><Id>%s</Id><Total>%d</Total></Order>\n", id, 10+i%90)
		if err := os.WriteFile(filepath.Join(dir, id+".xml"), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// receive publishes every order file, then removes it: a crash in between
// publishes it again on the next run (at least once, as a BizTalk file
// receive location).
func receive(ctx context.Context, mb *messagebox.Store, mg *mgmt.Store, dir string, n *atomic.Int64) error {
	rl, _, err := mg.ReceiveLocation("ReceiveOrders_FILE")
	if err != nil {
		return err
	}
	if !rl.Accepting(time.Now()) {
		// A disabled location, or one outside its dates or service window,
		// receives nothing; the files wait for a run when it accepts.
		return nil
	}
	location := rl.Address
	files, err := orderFiles(dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if ctx.Err() != nil {
			return nil
		}
		body, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		id := strings.TrimSuffix(filepath.Base(f), ".xml")
		m := messagebox.NewMessage(body,
			messagebox.Promoted(propType, messagebox.String(typeOrder)),
			messagebox.Promoted(propOrder, messagebox.String(id)),
			messagebox.Promoted("BTS.ReceivePortName", messagebox.String("ReceiveOrders")),
			messagebox.Promoted("BTS.InboundTransportLocation", messagebox.String(location)),
			messagebox.Written("BTS.ReceivedFileName", messagebox.String(f)))
		if _, _, err := mb.Publish(ctx, m); err != nil && !errors.Is(err, messagebox.ErrNoSubscribers) {
			return fmt.Errorf("publish %s: %w", f, err)
		}
		if err := os.Remove(f); err != nil {
			return err
		}
		n.Add(1)
	}
	return nil
}

// orchestrate runs the OrderProcess orchestration's instances. A message
// for an instance that has already completed is a zombie: the MessageBox
// has suspended it, and it is only counted here.
func orchestrate(ctx context.Context, mb *messagebox.Store, zombies *atomic.Int64) error {
	for {
		ds, err := mb.DequeueWait(ctx, orchHost, 64, lease)
		if err != nil {
			return ignoreCancel(err)
		}
		for _, d := range ds {
			order, _ := d.Message.Property(propOrder)
			typ, _ := d.Message.Property(propType)
			p := messagebox.PersistPoint{Instance: d.Instance.ID, Consumed: []messagebox.Lease{d.Lease}}
			switch typ.Value.Str() {
			case typeOrder:
				// Correlate on the order ID and ask for the confirmation in
				// one persistence point, so the answer can never arrive
				// before the instance is waiting for it.
				p.State = d.Message.BodyPart().Body
				p.Initialize = []messagebox.CorrelationSet{{
					Name:       "order",
					Properties: []messagebox.Property{messagebox.Promoted(propOrder, order.Value)},
					Filter:     messagebox.And(messagebox.Eq(propType, messagebox.String(typeConfirmation))),
				}}
				p.Publish = []*messagebox.Message{messagebox.NewMessage([]byte("<ConfirmationRequest/>"),
					messagebox.Promoted(propType, messagebox.String(typeRequest)),
					messagebox.Promoted(propOrder, order.Value))}
			case typeConfirmation:
				p.Publish = []*messagebox.Message{messagebox.NewMessage(d.Instance.Data,
					messagebox.Promoted(propType, messagebox.String(typeConfirmed)),
					messagebox.Promoted(propOrder, order.Value))}
				p.Complete = true
			}
			if _, err := mb.Persist(ctx, p); err != nil {
				if errors.Is(err, messagebox.ErrInstanceBusy) {
					continue // the lease expires and the message comes back
				}
				if errors.Is(err, messagebox.ErrZombie) {
					zombies.Add(1)
					continue
				}
				return ignoreCancel(fmt.Errorf("persist %s: %w", order.Value.Str(), err))
			}
		}
	}
}

// partner answers every confirmation request.
func partner(ctx context.Context, mb *messagebox.Store) error {
	for {
		ds, err := mb.DequeueWait(ctx, "PartnerHost", 64, lease)
		if err != nil {
			return ignoreCancel(err)
		}
		var msgs []*messagebox.Message
		var leases []messagebox.Lease
		for _, d := range ds {
			order, _ := d.Message.Property(propOrder)
			msgs = append(msgs, messagebox.NewMessage([]byte("<Confirmation/>"),
				messagebox.Promoted(propType, messagebox.String(typeConfirmation)),
				messagebox.Promoted(propOrder, order.Value)))
			leases = append(leases, d.Lease)
		}
		if _, err := mb.PublishBatch(ctx, msgs); err != nil && !errors.Is(err, messagebox.ErrNoSubscribers) {
			return ignoreCancel(err)
		}
		if err := mb.Complete(ctx, leases...); err != nil {
			return ignoreCancel(err)
		}
	}
}

// send writes confirmed orders to the output folder.
func send(ctx context.Context, mb *messagebox.Store, dir string, n *atomic.Int64) error {
	for {
		ds, err := mb.DequeueWait(ctx, "SendHost", 64, lease)
		if err != nil {
			return ignoreCancel(err)
		}
		var leases []messagebox.Lease
		for _, d := range ds {
			order, _ := d.Message.Property(propOrder)
			if err := os.WriteFile(filepath.Join(dir, order.Value.Str()+".xml"), d.Message.BodyPart().Body, 0o644); err != nil {
				return err
			}
			leases = append(leases, d.Lease)
		}
		if err := mb.Complete(ctx, leases...); err != nil {
			return ignoreCancel(err)
		}
		n.Add(int64(len(leases)))
	}
}

func ignoreCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
