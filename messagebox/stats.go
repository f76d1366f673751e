package messagebox

import "time"

// rate counts events per second over the last minute. The zero rate is
// ready to use; it is not safe for concurrent use.
type rate struct {
	secs   [60]int64
	counts [60]uint64
}

func (r *rate) add(nowNanos int64, n uint64) {
	sec := nowNanos / int64(time.Second)
	i := int(sec % 60)
	if i < 0 {
		i += 60
	}
	if r.secs[i] != sec {
		r.secs[i], r.counts[i] = sec, 0
	}
	r.counts[i] += n
}

// perSecond is the average over the 60 seconds before nowNanos.
func (r *rate) perSecond(nowNanos int64) float64 {
	sec := nowNanos / int64(time.Second)
	var sum uint64
	for i := range r.secs {
		if r.secs[i] > sec-60 && r.secs[i] <= sec {
			sum += r.counts[i]
		}
	}
	return float64(sum) / 60
}

// QueueStats describes one host's queue.
type QueueStats struct {
	// Ready entries can be dequeued now.
	Ready int
	// Delayed entries wait for an abandon delay or retry interval.
	Delayed int
	// Leased entries are being processed.
	Leased int
	// Suspended entries of this host.
	Suspended int
}

// Depth is the number of entries on the queue, suspended ones excluded.
func (q QueueStats) Depth() int { return q.Ready + q.Delayed + q.Leased }

// Stats is a snapshot of the MessageBox's counters.
type Stats struct {
	// Messages is the spool size: messages stored (referenced by at least
	// one entry).
	Messages int
	// Entries is the number of queue and suspended entries.
	Entries int
	// Hosts maps each host to its queue.
	Hosts map[string]QueueStats
	// Suspended counts suspended entries; SuspendedResumable those that
	// can be resumed, RoutingFailures the routing failure reports.
	Suspended, SuspendedResumable, RoutingFailures int
	// Published, Delivered and Completed count messages published,
	// deliveries handed out (a redelivery counts again) and entries
	// completed since Open.
	Published, Delivered, Completed uint64
	// PublishRate and CompleteRate are per-second averages over the last
	// minute of the store's Clock.
	PublishRate, CompleteRate float64
	// PublishThrottle and DeliveryThrottle are the throttling states.
	PublishThrottle, DeliveryThrottle ThrottleState
	// Instances counts the service instances, Zombies among them those
	// that completed with discarded messages (state
	// CompletedWithDiscardedMessages): they stay until terminated.
	Instances, Zombies int
}

// Stats returns the store's counters. It costs time proportional to the
// number of suspended entries, instances and hosts.
func (s *Store) Stats() Stats {
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Messages:     len(s.mu.msgs),
		Entries:      len(s.mu.entries),
		Hosts:        make(map[string]QueueStats, len(s.mu.hosts)),
		Published:    s.published.Load(),
		Delivered:    s.delivered.Load(),
		Completed:    s.completed.Load(),
		PublishRate:  s.mu.pubRate.perSecond(now),
		CompleteRate: s.mu.doneRate.perSecond(now),
		Instances:    len(s.mu.instances.byID),
	}
	st.PublishThrottle = s.publishThrottleLocked()
	st.DeliveryThrottle = s.deliveryThrottleLocked()
	for _, inst := range s.mu.instances.byID {
		if inst.state == StateCompletedWithDiscardedMessages {
			st.Zombies++
		}
	}
	for name, h := range s.mu.hosts {
		st.Hosts[name] = QueueStats{Ready: h.ready.Len() + h.parked, Leased: h.leased, Delayed: h.timed.Len() - h.leased}
	}
	for _, e := range s.mu.suspended {
		st.Suspended++
		if e.flags&flagResumable != 0 {
			st.SuspendedResumable++
		}
		if e.kind == RoutingFailure {
			st.RoutingFailures++
		}
		if e.host != nil {
			q := st.Hosts[e.host.name]
			q.Suspended++
			st.Hosts[e.host.name] = q
		}
	}
	return st
}
