package messagebox

import (
	"context"
	"fmt"
)

// ThrottleState is a throttling condition, with the codes of BizTalk's
// "Message publishing throttling state" and "Message delivery throttling
// state" counters.
type ThrottleState uint8

// Throttling states used by the store.
const (
	// ThrottleNone: not throttled.
	ThrottleNone ThrottleState = 0
	// ThrottleInFlight (delivery state 3): the in-process (leased) count
	// reached Options.InFlightLimit; Dequeue hands out no more until
	// entries are settled.
	ThrottleInFlight ThrottleState = 3
	// ThrottleDatabase (publishing state 6, database growth): the entries
	// reached Options.MessageCountLimit, or the spool its multiple;
	// Publish waits until entries are completed or terminated.
	ThrottleDatabase ThrottleState = 6
)

// String names the state.
func (t ThrottleState) String() string {
	switch t {
	case ThrottleNone:
		return "none"
	case ThrottleInFlight:
		return "in-process message count"
	case ThrottleDatabase:
		return "database growth"
	}
	return fmt.Sprintf("ThrottleState(%d)", uint8(t))
}

// publishThrottleLocked returns the publishing throttling state.
func (s *Store) publishThrottleLocked() ThrottleState {
	limit := s.opts.MessageCountLimit
	if limit > 0 && len(s.mu.entries) >= limit {
		return ThrottleDatabase
	}
	if limit > 0 && s.opts.SpoolMultiplier > 0 && len(s.mu.msgs) >= limit*s.opts.SpoolMultiplier {
		return ThrottleDatabase
	}
	return ThrottleNone
}

// leasedLocked counts the leased entries of every host.
func (s *Store) leasedLocked() int {
	n := 0
	for _, h := range s.mu.hosts {
		n += h.leased
	}
	return n
}

// deliveryThrottleLocked returns the delivery throttling state.
func (s *Store) deliveryThrottleLocked() ThrottleState {
	if s.opts.InFlightLimit > 0 && s.leasedLocked() >= s.opts.InFlightLimit {
		return ThrottleInFlight
	}
	return ThrottleNone
}

// deliveryRoomLocked caps a dequeue of max entries by the in-flight limit.
func (s *Store) deliveryRoomLocked(max int) int {
	if s.opts.InFlightLimit <= 0 {
		return max
	}
	return min(max, s.opts.InFlightLimit-s.leasedLocked())
}

// throttle waits while publishing is throttled: backpressure, not an
// error. It returns ctx's error if ctx ends first, ErrClosed on Close.
func (s *Store) throttle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if s.publishThrottleLocked() == ThrottleNone {
			s.mu.Unlock()
			return nil
		}
		if s.mu.relief == nil {
			s.mu.relief = make(chan struct{})
		}
		ch := s.mu.relief
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		case <-ch:
		}
	}
}

// reliefLocked wakes publishers held back by throttling, after entries or
// messages were removed.
func (s *Store) reliefLocked() {
	if s.mu.relief != nil {
		close(s.mu.relief)
		s.mu.relief = nil
	}
}
