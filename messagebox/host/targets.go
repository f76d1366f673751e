package host

import (
	"sync"

	"github.com/biztier/biztier/mgmt"
	"github.com/google/uuid"
)

// target is what a subscription delivers to: a send port, with the port's
// configuration as it was when the cache was filled.
type target struct {
	ref  mgmt.Ref
	port *mgmt.SendPort
}

// targets caches which send port each Management subscription delivers
// to, as a BizTalk host instance caches its configuration: filled at
// start, on a subscription it does not know, and at each refresh.
type targets struct {
	mg *mgmt.Store
	// mu guards bySub and unknown, the subscriptions found in neither
	// since the last refresh (made by hand, not by Management): they are
	// not looked for again until the next refresh.
	mu      sync.RWMutex
	bySub   map[uuid.UUID]target
	unknown map[uuid.UUID]bool
}

func newTargets(mg *mgmt.Store) *targets {
	t := &targets{mg: mg}
	t.refresh()
	return t
}

// refresh rereads the subscriptions and their send ports.
func (t *targets) refresh() {
	m := map[uuid.UUID]target{}
	ports := map[string]*mgmt.SendPort{}
	for _, s := range t.mg.AllSubscriptions() {
		tg := target{ref: s.Target}
		if s.Target.Kind == mgmt.KindSendPort {
			p, ok := ports[s.Target.Name]
			if !ok {
				p, _ = t.mg.SendPort(s.Target.Name)
				ports[s.Target.Name] = p
			}
			tg.port = p
		}
		m[s.ID] = tg
	}
	t.mu.Lock()
	t.bySub, t.unknown = m, map[uuid.UUID]bool{}
	t.mu.Unlock()
}

// lookup returns the target of subscription id, refreshing once if it is
// not known (a port enlisted since the last refresh).
func (t *targets) lookup(id uuid.UUID) (target, bool) {
	t.mu.RLock()
	tg, ok := t.bySub[id]
	miss := t.unknown[id]
	t.mu.RUnlock()
	if ok || miss {
		return tg, ok
	}
	t.refresh()
	t.mu.Lock()
	defer t.mu.Unlock()
	tg, ok = t.bySub[id]
	if !ok {
		t.unknown[id] = true
	}
	return tg, ok
}
