package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
)

// bizSystem runs a scenario on a biztier group: each queue is a host,
// each route a subscription on MessageType.
type bizSystem struct {
	g   *biztier.Group
	mb  *messagebox.Store
	tr  *tracking.Store // nil with tracking off
	cfg *Config
}

var (
	_ System    = (*bizSystem)(nil)
	_ Forwarder = (*bizSystem)(nil)
)

func openBiztier(ctx context.Context, dir string, cfg *Config) (System, error) {
	return openBiztierWith(ctx, dir, cfg, false)
}

// openBiztierNoTrack opens a group whose MessageBox records no tracking
// events, to show what tracking (on by default, as in BizTalk) costs.
func openBiztierNoTrack(ctx context.Context, dir string, cfg *Config) (System, error) {
	return openBiztierWith(ctx, dir, cfg, true)
}

func openBiztierWith(_ context.Context, dir string, cfg *Config, noTrack bool) (System, error) {
	g, err := biztier.Open(dir, &biztier.Options{Durability: cfg.Durability, DisableTracking: noTrack})
	if err != nil {
		return nil, err
	}
	mb, err := g.MessageBox()
	if err != nil {
		return nil, errors.Join(err, g.Close())
	}
	s := &bizSystem{g: g, mb: mb, cfg: cfg}
	if !noTrack {
		if s.tr, err = g.Tracking(); err != nil {
			return nil, errors.Join(err, g.Close())
		}
	}
	return s, nil
}

// Settle waits for the tracking decoder to take in what the round's
// operations staged.
func (s *bizSystem) Settle(ctx context.Context) error {
	if s.tr == nil {
		return nil
	}
	return s.tr.WaitCaughtUp(ctx)
}

func (s *bizSystem) Setup(ctx context.Context, queues []string, routes []Route) error {
	for _, q := range queues {
		if err := s.mb.CreateHost(ctx, q); err != nil {
			return err
		}
	}
	// Subscribe from several goroutines so that the commits share fsyncs
	// (10,000 subscriptions one by one would take minutes).
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for w := range errs {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(routes)); i = next.Add(1) - 1 {
				r := routes[i]
				_, err := s.mb.Subscribe(ctx, messagebox.Subscription{
					Name: r.Name, Host: r.Queue,
					Predicate: messagebox.Or(messagebox.And(messagebox.Eq(propMessageType, messagebox.String(r.Match)))),
				})
				if err != nil {
					errs[w] = fmt.Errorf("subscribe %s: %w", r.Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// message builds the biztier message for m: one XML body part and a
// context with MessageType and the receive port promoted, the rest
// written.
func (s *bizSystem) message(m Msg) *messagebox.Message {
	ctx := make([]messagebox.Property, 0, len(contextProps)+2)
	ctx = append(ctx,
		messagebox.Promoted(propMessageType, messagebox.String(m.Type)),
		messagebox.Promoted(propReceivePort, messagebox.String(contextProps[0][1])))
	for _, p := range contextProps[1:] {
		ctx = append(ctx, messagebox.Written(p[0], messagebox.String(p[1])))
	}
	ctx = append(ctx, messagebox.Written(propSent, messagebox.Int64(m.Sent)))
	return &messagebox.Message{
		Parts:   []messagebox.Part{{Name: "body", ContentType: "text/xml", Body: m.Body, IsBody: true}},
		Context: ctx,
	}
}

func (s *bizSystem) Publish(ctx context.Context, msgs []Msg) error {
	if len(msgs) == 1 {
		_, _, err := s.mb.Publish(ctx, s.message(msgs[0]))
		return err
	}
	batch := make([]*messagebox.Message, len(msgs))
	for i, m := range msgs {
		batch[i] = s.message(m)
	}
	_, err := s.mb.PublishBatch(ctx, batch)
	return err
}

func (s *bizSystem) Next(ctx context.Context, queue string, done []Delivery, max int) ([]Delivery, error) {
	if len(done) == 0 {
		if max == 0 {
			return nil, nil
		}
		ds, err := s.mb.Dequeue(ctx, queue, max, s.cfg.Lease)
		return deliveries(ds), err
	}
	leases := make([]messagebox.Lease, len(done))
	for i, d := range done {
		leases[i] = d.Handle.(messagebox.Lease)
	}
	// CompleteAndDequeue settles and fetches in one commit, but waits when
	// the queue is empty, so it is used only when entries are ready;
	// otherwise the completion commits alone and the caller waits.
	if max > 0 && s.mb.Stats().Hosts[queue].Ready > 0 {
		ds, err := s.mb.CompleteAndDequeue(ctx, leases, queue, max, s.cfg.Lease)
		if err == nil || ctx.Err() == nil {
			return deliveries(ds), err
		}
		// ctx ended: either before the commit (nothing completed) or
		// while waiting after it. Completing again settles the first case
		// and reports ErrLeaseLost in the second.
		if err := s.mb.Complete(context.WithoutCancel(ctx), leases...); err != nil && !errors.Is(err, messagebox.ErrLeaseLost) {
			return nil, err
		}
		return nil, ctx.Err()
	}
	return nil, s.mb.Complete(context.WithoutCancel(ctx), leases...)
}

// Forward publishes out, completes done and dequeues up to max of queue
// in one commit. The commit is not cancelled with ctx, so that out and
// done are committed when it returns, as Forwarder requires; it does not
// wait for deliveries.
func (s *bizSystem) Forward(ctx context.Context, queue string, out []Msg, done []Delivery, max int) ([]Delivery, error) {
	msgs := make([]*messagebox.Message, len(out))
	for i, m := range out {
		msgs[i] = s.message(m)
	}
	leases := make([]messagebox.Lease, len(done))
	for i, d := range done {
		leases[i] = d.Handle.(messagebox.Lease)
	}
	_, ds, err := s.mb.PublishCompleteAndDequeue(context.WithoutCancel(ctx), msgs, leases, queue, max, s.cfg.Lease)
	return deliveries(ds), err
}

func (s *bizSystem) Wait(ctx context.Context, queue string, max int) ([]Delivery, error) {
	ds, err := s.mb.DequeueWait(ctx, queue, max, s.cfg.Lease)
	return deliveries(ds), err
}

func deliveries(ds []*messagebox.Delivery) []Delivery {
	if len(ds) == 0 {
		return nil
	}
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i].Handle = d.Lease
		if p, ok := d.Message.Property(propSent); ok {
			out[i].Sent = p.Value.Int64()
		}
		if p, ok := d.Message.Property(propMessageType); ok {
			out[i].Type = p.Value.Str()
		}
		if b := d.Message.BodyPart(); b != nil {
			out[i].Size = len(b.Body)
		}
	}
	return out
}

func (s *bizSystem) Close() error {
	return errors.Join(s.mb.Close(), s.g.Close())
}
