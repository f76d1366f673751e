package backup

import (
	"context"
	"sync"
	"time"
)

// Schedule runs a job at once and then every interval, on a clock, until
// Stop: the Backup BizTalk Server job's and the standby's restore job's
// timing. It is safe for concurrent use; the zero Schedule is stopped.
type Schedule struct {
	// mu guards cancel, which is non-nil while the schedule runs.
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start runs fn now and then interval after each run ends, until Stop;
// after is the clock's timer (time.After for the wall clock). fn gets a
// context that Stop cancels. Start on a running schedule does nothing.
func (s *Schedule) Start(ctx context.Context, interval time.Duration, after func(time.Duration) <-chan time.Time, fn func(context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-after(interval):
			}
		}
	}()
}

// Stop ends the schedule and waits for a run in progress, or for ctx. It
// is safe to call twice and before Start.
func (s *Schedule) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
