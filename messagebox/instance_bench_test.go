package messagebox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSimpleOrchestration is BizTalk Benchmark Wizard's "simple
// orchestration" scenario, durable: a 2 KiB message is received
// (published), activates an instance, the instance publishes one message
// and completes in one persistence point, and a send subscription
// completes that message. kind=messaging runs the plain messaging
// scenario (publish, send completes) in the same run for comparison; the
// goal is an orchestration rate of at least 0.4 times it.
func BenchmarkSimpleOrchestration(b *testing.B) {
	if testing.Short() {
		b.Skip("durable benchmark; skipped under -short")
	}
	for _, orch := range []bool{false, true} {
		kind := "messaging"
		if orch {
			kind = "orchestration"
		}
		b.Run(fmt.Sprintf("kind=%s/pubs=8", kind), func(b *testing.B) {
			set := diskSet(b)
			s, err := Open(dbOf(set), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			bg := context.Background()
			for _, h := range []string{"orch", "send"} {
				if err := s.CreateHost(bg, h); err != nil {
					b.Fatal(err)
				}
			}
			in := Subscription{Host: "send", Predicate: Or(And(Eq(typeProp, String("urn:bench#T0"))))}
			if orch {
				in = Subscription{Host: "orch", Service: "Simple", Predicate: in.Predicate}
				if _, err := s.Subscribe(bg, Subscription{Host: "send", Predicate: Or(And(Eq(typeProp, String("urn:bench#Out"))))}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.Subscribe(bg, in); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(benchBody)
			b.ResetTimer()
			start := time.Now()
			simpleOrchestration(b, s, b.N, 8, orch)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// simpleOrchestration publishes n messages from pubs goroutines and waits
// until the send host has completed n.
func simpleOrchestration(b *testing.B, s *Store, n, pubs int, orch bool) {
	body := make([]byte, benchBody)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		sent atomic.Int64
		next atomic.Int64
		wg   sync.WaitGroup
	)
	errc := make(chan error, 64)
	report := func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			select {
			case errc <- err:
			default:
			}
		}
	}
	for range pubs {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, _, err := s.Publish(ctx, benchMessage(body)); err != nil {
					report(err)
					return
				}
			}
		})
	}
	if orch {
		out := NewMessage(body, Promoted(typeProp, String("urn:bench#Out")))
		for range 16 {
			wg.Go(func() {
				for ctx.Err() == nil {
					ds, err := s.DequeueWait(ctx, "orch", 1, time.Minute)
					if err != nil {
						report(err)
						return
					}
					for _, d := range ds {
						_, err := s.Persist(ctx, PersistPoint{Instance: d.Instance.ID, Consumed: []Lease{d.Lease},
							Publish: []*Message{out}, Complete: true})
						if err != nil {
							report(err)
							return
						}
					}
				}
			})
		}
	}
	for range 2 {
		wg.Go(func() {
			var pending []Lease
			for ctx.Err() == nil {
				ds, err := s.dequeue(ctx, pending, "send", 512, time.Minute)
				if err == nil && len(ds) == 0 && len(pending) == 0 {
					ds, err = s.DequeueWait(ctx, "send", 512, time.Minute)
				}
				if err != nil {
					report(err)
					return
				}
				if sent.Add(int64(len(pending))) >= int64(n) {
					cancel()
				}
				pending = pending[:0]
				for _, d := range ds {
					pending = append(pending, d.Lease)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		b.Fatal(err)
	}
}
