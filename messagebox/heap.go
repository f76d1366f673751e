package messagebox

// entryHeap is a binary min-heap of entries that keeps each entry's
// position in entry.idx, so an entry can be removed from the middle. The
// ready heap orders by (priority, id): priority first, then arrival, since
// ids are handed out in publish order. The timed heap orders by (at, id).
type entryHeap struct {
	byTime bool
	es     []*entry
}

func (h *entryHeap) Len() int { return len(h.es) }

func (h *entryHeap) less(i, j int) bool {
	a, b := h.es[i], h.es[j]
	if h.byTime {
		if a.at != b.at {
			return a.at < b.at
		}
	} else if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.id < b.id
}

func (h *entryHeap) swap(i, j int) {
	h.es[i], h.es[j] = h.es[j], h.es[i]
	h.es[i].idx = int32(i)
	h.es[j].idx = int32(j)
}

func (h *entryHeap) push(e *entry) {
	e.idx = int32(len(h.es))
	h.es = append(h.es, e)
	h.up(len(h.es) - 1)
}

// peek returns the smallest entry or nil.
func (h *entryHeap) peek() *entry {
	if len(h.es) == 0 {
		return nil
	}
	return h.es[0]
}

func (h *entryHeap) pop() *entry {
	if len(h.es) == 0 {
		return nil
	}
	return h.remove(h.es[0])
}

// remove takes e out of the heap; e must be in it.
func (h *entryHeap) remove(e *entry) *entry {
	i := int(e.idx)
	n := len(h.es) - 1
	if i != n {
		h.swap(i, n)
	}
	h.es[n] = nil
	h.es = h.es[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	e.idx = -1
	if cap(h.es) > 1024 && len(h.es) < cap(h.es)/4 {
		h.es = append([]*entry(nil), h.es...)
	}
	return e
}

// fix restores the order after e's key changed.
func (h *entryHeap) fix(e *entry) {
	if !h.down(int(e.idx)) {
		h.up(int(e.idx))
	}
}

func (h *entryHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *entryHeap) down(i0 int) bool {
	i, n := i0, len(h.es)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
