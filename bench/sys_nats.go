package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsSystem runs a scenario on NATS JetStream embedded in the process:
// one file-storage stream with interest retention (a message goes once
// every consumer it was routed to has acknowledged it), one durable pull
// consumer per queue filtered on the subjects of its routes, an
// in-process client connection (no sockets). With Sync durability the
// server runs with SyncAlways, so every stored message is fsynced.
// Publishes wait for their acks; every delivery is acknowledged, the
// last of each batch with a double ack, which returns once the server
// has processed it and so the acks before it.
type natsSystem struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg *Config

	// mu guards queues, filled by Setup.
	mu     sync.Mutex
	queues map[string]*natsQueue
}

type natsQueue struct {
	cc   jetstream.ConsumeContext
	msgs chan jetstream.Msg
}

var _ System = (*natsSystem)(nil)

const natsStream = "BIZTIER_BENCH"

// natsSubject maps a message type to a subject token-safe string.
func natsSubject(typ string) string {
	r := strings.NewReplacer(".", "_", ">", "_", "*", "_", " ", "_")
	return "bench." + r.Replace(typ)
}

func openNATS(ctx context.Context, dir string, cfg *Config) (System, error) {
	opts := &server.Options{
		ServerName: "biztierbench",
		DontListen: true,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: cfg.durable(),
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: 16 << 20,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("nats: server not ready after 10s")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("nats: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1<<16))
	if err != nil {
		nc.Close()
		srv.Shutdown()
		return nil, fmt.Errorf("nats: %w", err)
	}
	return &natsSystem{srv: srv, nc: nc, js: js, cfg: cfg, queues: map[string]*natsQueue{}}, nil
}

func (s *natsSystem) Setup(ctx context.Context, queues []string, routes []Route) error {
	st, err := s.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:      natsStream,
		Subjects:  []string{"bench.>"},
		Storage:   jetstream.FileStorage,
		Retention: jetstream.InterestPolicy,
	})
	if err != nil {
		return fmt.Errorf("nats: stream: %w", err)
	}
	filters := map[string][]string{}
	for _, r := range routes {
		filters[r.Queue] = append(filters[r.Queue], natsSubject(r.Match))
	}
	for _, q := range queues {
		// A consumer with thousands of filter subjects takes the server a
		// while to create: allow a minute rather than the client's default
		// API timeout.
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		cons, err := st.CreateOrUpdateConsumer(cctx, jetstream.ConsumerConfig{
			Durable:        q,
			FilterSubjects: filters[q],
			AckPolicy:      jetstream.AckExplicitPolicy,
			AckWait:        s.cfg.Lease,
			MaxAckPending:  -1,
		})
		cancel()
		if err != nil && len(filters[q]) >= 1000 {
			return fmt.Errorf("%w: JetStream consumer with %d filter subjects: %v", ErrUnsupported, len(filters[q]), err)
		}
		if err != nil {
			return fmt.Errorf("nats: consumer %s: %w", q, err)
		}
		nq := &natsQueue{msgs: make(chan jetstream.Msg, 1<<16)}
		nq.cc, err = cons.Consume(func(m jetstream.Msg) { nq.msgs <- m }, jetstream.PullMaxMessages(4*s.cfg.Batch))
		if err != nil {
			return fmt.Errorf("nats: consume %s: %w", q, err)
		}
		s.mu.Lock()
		s.queues[q] = nq
		s.mu.Unlock()
	}
	return nil
}

func (s *natsSystem) Publish(ctx context.Context, msgs []Msg) error {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		data := make([]byte, 0, 8+len(m.Context)+len(m.Body))
		data = binary.BigEndian.AppendUint64(data, uint64(m.Sent))
		data = append(data, m.Context...)
		data = append(data, m.Body...)
		f, err := s.js.PublishAsync(natsSubject(m.Type), data)
		if err != nil {
			return fmt.Errorf("nats: publish: %w", err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("nats: publish: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *natsSystem) queue(name string) (*natsQueue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return nil, fmt.Errorf("nats: unknown queue %q", name)
	}
	return q, nil
}

func (s *natsSystem) Next(ctx context.Context, queue string, done []Delivery, max int) ([]Delivery, error) {
	q, err := s.queue(queue)
	if err != nil {
		return nil, err
	}
	if len(done) > 0 {
		for _, d := range done[:len(done)-1] {
			if err := d.Handle.(jetstream.Msg).Ack(); err != nil {
				return nil, fmt.Errorf("nats: ack: %w", err)
			}
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err := done[len(done)-1].Handle.(jetstream.Msg).DoubleAck(actx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("nats: ack: %w", err)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var out []Delivery
	for len(out) < max {
		select {
		case m := <-q.msgs:
			out = append(out, natsDelivery(m))
		default:
			return out, nil
		}
	}
	return out, nil
}

func (s *natsSystem) Wait(ctx context.Context, queue string, max int) ([]Delivery, error) {
	q, err := s.queue(queue)
	if err != nil {
		return nil, err
	}
	select {
	case m := <-q.msgs:
		out := []Delivery{natsDelivery(m)}
		for len(out) < max {
			select {
			case m := <-q.msgs:
				out = append(out, natsDelivery(m))
			default:
				return out, nil
			}
		}
		return out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func natsDelivery(m jetstream.Msg) Delivery {
	d := Delivery{Handle: m, Size: len(m.Data())}
	if data := m.Data(); len(data) >= 8 {
		d.Sent = int64(binary.BigEndian.Uint64(data))
	}
	d.Type = m.Subject()
	return d
}

func (s *natsSystem) Close() error {
	s.mu.Lock()
	for _, q := range s.queues {
		q.cc.Stop()
	}
	s.mu.Unlock()
	s.nc.Close()
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	return nil
}
