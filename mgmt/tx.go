package mgmt

import (
	"context"
	"fmt"
	"slices"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
)

// Tx is one atomic change to the configuration: any number of Put, Delete
// and state transitions, plus the MessageBox subscriptions they create or
// remove, committed as one group transaction by Store.Update. A Tx is not
// safe for concurrent use and is valid only inside the Update callback.
type Tx struct {
	s    *Store
	ctx  context.Context // Update's, for the Secrets keeper
	orig *model
	m    *model
	txn  GroupTxn
	// dirty lists the artifacts to write (or delete, when gone from m).
	dirty map[Ref]struct{}
}

// Update runs fn in a new Tx and commits what it did in one group commit,
// after which the change is visible to every reader. If fn returns an
// error nothing is committed and Update returns it. fn must not call back
// into the Store (its writers are serialised: that would deadlock); use
// the Tx's methods.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	ctx = store.Context(ctx)
	if s.closed.Load() {
		return ErrClosed
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	orig := s.model()
	tx := &Tx{s: s, ctx: ctx, orig: orig, m: orig.clone(), txn: s.db.Begin(), dirty: map[Ref]struct{}{}}
	defer tx.txn.Abort()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.finish(); err != nil {
		return err
	}
	if _, err := tx.txn.Commit(ctx); err != nil {
		return fmt.Errorf("mgmt: commit: %w", err)
	}
	s.mu.Lock()
	s.m = tx.m
	s.mu.Unlock()
	return nil
}

// finish reconciles the MessageBox subscriptions with the new model and
// writes every changed artifact into the transaction.
func (tx *Tx) finish() error {
	b, err := tx.txn.Batch(tx.s.db.Reader())
	if err != nil {
		return fmt.Errorf("mgmt: %w", err)
	}
	want := tx.m.desired()
	owners := map[Ref]struct{}{}
	for o := range want {
		owners[o] = struct{}{}
	}
	for o := range tx.m.subs {
		owners[o] = struct{}{}
	}
	for _, o := range sortedRefs(owners) {
		have, next := tx.m.subs[o], want[o]
		for _, h := range have {
			if slices.ContainsFunc(next, func(n Subscription) bool { return n.ID == h.ID }) {
				continue
			}
			if tx.s.subs == nil {
				return fmt.Errorf("%w: %w", ErrInvalid, errNoSubs)
			}
			if err := tx.s.subs.Unsubscribe(tx.txn, h.ID); err != nil {
				return fmt.Errorf("mgmt: unsubscribe %s: %w", h.Name, err)
			}
			if err := b.Delete(keys.AppendUUID(subsPrefix(o), h.ID), nil); err != nil {
				return err
			}
		}
		for i := range next {
			n := &next[i]
			j := slices.IndexFunc(have, func(h Subscription) bool { return h.ID == n.ID })
			if j >= 0 && have[j].Equal(n) {
				continue
			}
			if tx.s.subs == nil {
				return fmt.Errorf("%w: %w", ErrInvalid, errNoSubs)
			}
			if err := tx.s.subs.Subscribe(tx.txn, *n); err != nil {
				return fmt.Errorf("mgmt: subscribe %s: %w", n.Name, err)
			}
			if err := b.Set(keys.AppendUUID(subsPrefix(o), n.ID), encodeSubscription(n), nil); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			delete(tx.m.subs, o)
		} else {
			tx.m.subs[o] = next
		}
	}
	if err := tx.gateHosts(); err != nil {
		return err
	}
	for _, r := range sortedRefs(tx.dirty) {
		if err := tx.write(b, r); err != nil {
			return err
		}
	}
	return nil
}

// HostGate is implemented by a Subscriptions that can hold a host's queue:
// BizTalk delivers a host's messages only while one of its host instances
// runs. mgmt calls GateHost, in the configuration's transaction, for each
// host whose instances change between "none running" (held) and "one
// running" (released). Hosts with no host instance configured are never
// held, so a program that dequeues by itself needs none.
type HostGate interface {
	GateHost(tx GroupTx, host string, held bool) error
}

// heldHosts maps each host that has host instances to whether none of
// them runs.
func (m *model) heldHosts() map[string]bool {
	out := map[string]bool{}
	for _, h := range m.instances {
		running := h.State == HostInstanceRunning
		if held, seen := out[h.Host]; !seen {
			out[h.Host] = !running
		} else {
			out[h.Host] = held && !running
		}
	}
	return out
}

// gateHosts tells the MessageBox which hosts' queues changed between held
// and released.
func (tx *Tx) gateHosts() error {
	g, ok := tx.s.subs.(HostGate)
	if !ok {
		return nil
	}
	before, after := tx.orig.heldHosts(), tx.m.heldHosts()
	hosts := make([]string, 0, len(after)+len(before))
	for h := range after {
		hosts = append(hosts, h)
	}
	for h := range before {
		if _, ok := after[h]; !ok {
			hosts = append(hosts, h)
		}
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		was, now := before[h], after[h] // a host with no instance left is released
		if was == now {
			continue
		}
		if err := g.GateHost(tx.txn, h, now); err != nil {
			return fmt.Errorf("mgmt: host %q: %w", h, err)
		}
	}
	return nil
}

func sortedRefs(set map[Ref]struct{}) []Ref {
	out := make([]Ref, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Ref) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// write puts artifact r's current value (or its deletion) into b.
func (tx *Tx) write(b *pebble.Batch, r Ref) error {
	var key, val []byte
	m := tx.m
	switch r.Kind {
	case KindApplication:
		key = artifactKey(keys.TableMgmtApplications, r.Name)
		if a, ok := m.apps[r.Name]; ok {
			val = encodeApplication(a)
		}
	case KindHost:
		key = artifactKey(keys.TableMgmtHosts, r.Name)
		if h, ok := m.hosts[r.Name]; ok {
			val = encodeHost(h)
		}
	case KindHostInstance:
		h, ok := m.instances[r.Name]
		if ok {
			key, val = instanceKey(h.Host, h.Server), encodeHostInstance(h)
		} else if h, ok := tx.orig.instances[r.Name]; ok {
			key = instanceKey(h.Host, h.Server)
		} else {
			return nil // created and deleted in this Tx
		}
	case KindAdapter:
		key = artifactKey(keys.TableMgmtAdapters, r.Name)
		if a, ok := m.adapters[r.Name]; ok {
			val = encodeAdapter(a)
		}
	case KindAssembly:
		key = artifactKey(keys.TableMgmtAssemblies, r.Name)
		if a, ok := m.assemblies[r.Name]; ok {
			val = encodeAssembly(a)
		}
	case KindReceivePort:
		key = artifactKey(keys.TableMgmtReceivePorts, r.Name)
		if p, ok := m.receivePorts[r.Name]; ok {
			val = encodeReceivePort(p)
		}
	case KindSendPort:
		key = artifactKey(keys.TableMgmtSendPorts, r.Name)
		if p, ok := m.sendPorts[r.Name]; ok {
			val = encodeSendPort(p)
		}
	case KindSendPortGroup:
		key = artifactKey(keys.TableMgmtSendPortGroups, r.Name)
		if g, ok := m.groups[r.Name]; ok {
			val = encodeSendPortGroup(g)
		}
	case KindOrchestration:
		key = artifactKey(keys.TableMgmtOrchestrations, r.Name)
		if o, ok := m.orchs[r.Name]; ok {
			val = encodeOrchestration(o)
		}
	case KindParty:
		key = artifactKey(keys.TableMgmtParties, r.Name)
		if p, ok := m.parties[r.Name]; ok {
			val = encodeParty(p)
		}
	default:
		panic(fmt.Sprintf("mgmt: write of %s", r))
	}
	if val == nil {
		return b.Delete(key, nil)
	}
	return b.Set(key, val, nil)
}

// Has reports whether the artifact r exists in the Tx's view, which
// includes the Tx's own changes. (Store's queries, called inside Update,
// see the state before the Tx.)
func (tx *Tx) Has(r Ref) bool {
	m := tx.m
	var ok bool
	switch r.Kind {
	case KindApplication:
		_, ok = m.apps[r.Name]
	case KindHost:
		_, ok = m.hosts[r.Name]
	case KindHostInstance:
		_, ok = m.instances[r.Name]
	case KindAdapter:
		_, ok = m.adapters[r.Name]
	case KindAssembly:
		_, ok = m.assemblies[r.Name]
	case KindReceivePort:
		_, ok = m.receivePorts[r.Name]
	case KindReceiveLocation:
		_, ok = m.locations[r.Name]
	case KindSendPort:
		_, ok = m.sendPorts[r.Name]
	case KindSendPortGroup:
		_, ok = m.groups[r.Name]
	case KindOrchestration:
		_, ok = m.orchs[r.Name]
	case KindParty:
		_, ok = m.parties[r.Name]
	}
	return ok
}
