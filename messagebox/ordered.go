package messagebox

// Ordered delivery keeps one entry of an ordered subscription in flight:
// the subscription's holder. The ready heap yields a subscription's
// entries in publish order (they share its priority), so the first one a
// dequeue meets becomes the holder; the others it meets are parked on the
// subscription, off the host's ready heap, so later dequeues do not pass
// over them again. When the holder is completed, terminated, or
// suspended under OrderedSkip, the first parked entry goes back to the
// ready heap. Under OrderedStop a suspended holder keeps the subscription
// stopped until it is resumed (and then delivered) or terminated. Entries
// of a suspended service instance are parked on the instance the same
// way until it is resumed.

// takeOrderedLocked reports whether ready entry e, just popped, may be
// delivered now, making it its ordered subscription's holder; if not, it
// parks e.
func (s *Store) takeOrderedLocked(e *entry) bool {
	st := s.mu.routing.subs[e.sub]
	if st == nil || st.Ordered == Unordered {
		return true
	}
	if st.holder != 0 && st.holder != e.id {
		parkLocked(e, &st.parked)
		return false
	}
	st.holder = e.id
	return true
}

// parkLocked holds e, popped from its host's ready heap, in h.
func parkLocked(e *entry, h *entryHeap) {
	e.state, e.parked = stParked, h
	h.push(e)
	e.host.parked++
}

// unparkLocked makes parked entry e ready again.
func unparkLocked(e *entry) {
	e.parked = nil
	e.host.parked--
	e.state = stReady
	e.host.ready.push(e)
	e.host.wakeLocked()
}

// unparkAllLocked makes every entry parked in h ready again.
func (s *Store) unparkAllLocked(h *entryHeap) {
	for e := h.pop(); e != nil; e = h.pop() {
		unparkLocked(e)
	}
}

// releaseHolderLocked lets the next entry of e's ordered subscription go
// if e was the one in flight.
func (s *Store) releaseHolderLocked(e *entry) {
	st := s.mu.routing.subs[e.sub]
	if st == nil || st.holder != e.id {
		return
	}
	st.holder = 0
	if next := st.parked.pop(); next != nil {
		unparkLocked(next)
	}
	if e.host != nil {
		e.host.wakeLocked()
	}
}
