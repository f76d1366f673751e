// Command console serves the operator's console (package mgmt/console) and
// Prometheus metrics (package mgmt/metrics) of a biztier group on localhost
// while messages flow through it:
//
//	go run ./examples/console                       # http://127.0.0.1:8080
//	go run ./examples/console -addr 127.0.0.1:9090 -rate 200
//
// The group lives in a temporary directory (or -dir). Two hosts each have a
// subscription; a publisher sends orders and invoices at -rate messages per
// second, a host instance per host dequeues and completes them, and one
// message in -fail is suspended as a failed send, so the suspended page has
// something to resume. A log-shipping job backs the group up every 30 seconds.
//
// Pages are open to anyone on localhost; writes (resume, terminate) ask for
// HTTP basic authentication as user "operator" with the password printed at
// start (or -password): the example's Authorizer. /metrics is for Prometheus.
// Ctrl-C stops it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt/console"
	"github.com/biztier/biztier/mgmt/metrics"
)

// config is the command line.
type config struct {
	addr     string
	dir      string
	rate     int
	fail     int
	password string
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8080", "where to listen")
	flag.StringVar(&c.dir, "dir", "", "the group directory (default a new temporary one)")
	flag.IntVar(&c.rate, "rate", 50, "messages published per second")
	flag.IntVar(&c.fail, "fail", 20, "suspend one message in this many (0: none)")
	flag.StringVar(&c.password, "password", "", "the operator's password (default a random one, printed)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// hosts are the example's hosts and the message type each one's
// subscription takes.
var hosts = map[string]string{"SendHost": "urn:shop#Order", "BillingHost": "urn:shop#Invoice"}

// run serves until ctx is done. ready, if set, receives the listener's
// address once it serves (tests listen on port 0).
func run(ctx context.Context, c config, out io.Writer, ready chan<- string) error {
	if c.dir == "" {
		d, err := os.MkdirTemp("", "biztier-console-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	if c.password == "" {
		var b [9]byte
		rand.Read(b[:])
		c.password = hex.EncodeToString(b[:])
	}
	g, err := biztier.Open(c.dir+"/group", nil)
	if err != nil {
		return err
	}
	defer g.Close()
	if err := setup(ctx, g); err != nil {
		return err
	}
	ship, err := g.NewLogShipping(biztier.LogShippingOptions{Backup: biztier.DirShipper(nil, c.dir+"/backup"), Interval: 30 * time.Second})
	if err != nil {
		return err
	}
	if err := ship.Start(ctx); err != nil {
		return err
	}
	defer ship.Stop(context.Background())

	h, err := console.New(console.Options{Group: g, Shipping: ship, Authorizer: basicAuth(c.password)})
	if err != nil {
		return err
	}
	col, err := metrics.New(metrics.Options{Group: g, Shipping: ship})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", h)

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "console  http://%s/\nmetrics  http://%s/metrics\nwrites   user operator, password %s\ngroup    %s\n", ln.Addr(), ln.Addr(), c.password, c.dir)

	// The flow, and the server, stop with ctx; run waits for both.
	fctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(1)
	go func() { defer wg.Done(); errs <- publish(fctx, g, c) }()
	for name := range hosts {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- hostInstance(fctx, g, name, c.fail) }()
	}
	go func() {
		<-fctx.Done()
		srv.Shutdown(context.Background())
	}()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	serveErr := srv.Serve(ln)
	cancel()
	wg.Wait()
	close(errs)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	for err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			serveErr = errors.Join(serveErr, err)
		}
	}
	return serveErr
}

// basicAuth is the example's Authorizer: HTTP basic authentication as
// "operator". A real application plugs in its own identity provider here.
func basicAuth(password string) console.Authorizer {
	return console.AuthorizerFunc(func(r *http.Request, a console.Action) (string, error) {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return "", console.ErrUnauthenticated
		}
		if user != "operator" || pass != password {
			return "", console.ErrForbidden
		}
		return user, nil
	})
}

// setup creates the hosts and their subscriptions (once: a reopened group
// has them).
func setup(ctx context.Context, g *biztier.Group) error {
	mb, err := g.MessageBox()
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, s := range mb.Subscriptions() {
		have[s.Name] = true
	}
	for host, typ := range hosts {
		if err := mb.CreateHost(ctx, host); err != nil {
			return err
		}
		if have[host+"Port"] {
			continue
		}
		if _, err := mb.Subscribe(ctx, messagebox.Subscription{
			Name: host + "Port", Host: host,
			Predicate: messagebox.Or(messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String(typ)))),
		}); err != nil {
			return err
		}
	}
	return nil
}

// publish sends c.rate messages a second, orders and invoices in turn.
func publish(ctx context.Context, g *biztier.Group, c config) error {
	mb, err := g.MessageBox()
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second / time.Duration(max(c.rate, 1)))
	defer tick.Stop()
	types := []string{"urn:shop#Order", "urn:shop#Invoice"}
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		typ := types[i%2]
		body := fmt.Sprintf("<%s xmlns=%q><Id>%d</Id><Customer>C-%03d</Customer></%s>", "Doc", typ, i, i%97, "Doc")
		if _, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte(body),
			messagebox.Promoted("BTS.MessageType", messagebox.String(typ)),
			messagebox.Written("urn:shop#Customer", messagebox.String(fmt.Sprintf("C-%03d", i%97))))); err != nil {
			return err
		}
	}
}

// hostInstance delivers host's messages: it completes them, and suspends
// one in fail as a failed send would.
func hostInstance(ctx context.Context, g *biztier.Group, host string, fail int) error {
	mb, err := g.MessageBox()
	if err != nil {
		return err
	}
	n := 0
	for {
		ds, err := mb.DequeueWait(ctx, host, 32, time.Minute)
		if err != nil {
			return err
		}
		var done []messagebox.Lease
		for _, d := range ds {
			n++
			if fail > 0 && n%fail == 0 {
				if err := mb.Suspend(ctx, d.Lease, "the remote host refused the connection"); err != nil {
					return err
				}
				continue
			}
			done = append(done, d.Lease)
		}
		if len(done) > 0 {
			if err := mb.Complete(ctx, done...); err != nil {
				return err
			}
		}
	}
}
