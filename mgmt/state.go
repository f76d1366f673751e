package mgmt

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/internal/store"
)

// State transitions, with BizTalk's rules:
//
//	send port, send port group   Bound --Enlist--> Stopped --Start--> Started
//	                             Started --Stop--> Stopped; Unenlist --> Bound
//	orchestration                Unenlisted --Enlist--> Enlisted --Start--> Started
//	                             Started --Stop--> Enlisted; Unenlist --> Unenlisted
//	receive location             Start enables it, Stop disables it
//	host instance                Start runs it, Stop stops it
//
// Start implies Enlist, Unenlist implies Stop. A transition to the state
// the artifact is already in does nothing. Enlisting creates the
// artifact's subscriptions, Stop keeps them but makes them inactive (their
// messages are suspended, resumable, until Start), Unenlist removes them;
// all in the same commit as the state change.

func (tx *Tx) stateErr(op string, r Ref, state fmt.Stringer, reason string) error {
	return &StateError{Op: op, Ref: r, State: state.String(), Reason: reason, Err: ErrState}
}

// Enlist enlists a send port, send port group or orchestration.
func (tx *Tx) Enlist(r Ref) error {
	switch r.Kind {
	case KindSendPort:
		p, ok := tx.m.sendPorts[r.Name]
		if !ok {
			return notFound(r)
		}
		if p.State == PortBound {
			tx.setPortState(p, PortStopped)
		}
		return nil
	case KindSendPortGroup:
		g, ok := tx.m.groups[r.Name]
		if !ok {
			return notFound(r)
		}
		if g.State == PortBound {
			tx.setGroupState(g, PortStopped)
		}
		return nil
	case KindOrchestration:
		o, ok := tx.m.orchs[r.Name]
		if !ok {
			return notFound(r)
		}
		if o.State.Enlisted() {
			return nil
		}
		if err := tx.checkBound(o); err != nil {
			return err
		}
		tx.setOrchState(o, OrchestrationEnlisted)
		return nil
	}
	return &StateError{Op: "enlist", Ref: r, State: "-", Reason: "only ports, groups and orchestrations are enlisted", Err: ErrState}
}

// checkBound applies "an orchestration must be bound before enlisting": a
// host, and every logical port bound.
func (tx *Tx) checkBound(o *Orchestration) error {
	r := Ref{KindOrchestration, o.Name}
	if o.Host == "" {
		return tx.stateErr("enlist", r, o.State, "no host")
	}
	for _, pb := range o.Ports {
		if !pb.Bound() {
			return tx.stateErr("enlist", r, o.State, fmt.Sprintf("port %q is not bound", pb.Name))
		}
	}
	return nil
}

// Start starts a send port, send port group or orchestration (enlisting it
// first if needed), enables a receive location or starts a host instance.
// A send port group needs at least one enlisted member.
func (tx *Tx) Start(r Ref) error {
	switch r.Kind {
	case KindSendPort:
		p, ok := tx.m.sendPorts[r.Name]
		if !ok {
			return notFound(r)
		}
		if p.State != PortStarted {
			tx.setPortState(p, PortStarted)
		}
		return nil
	case KindSendPortGroup:
		g, ok := tx.m.groups[r.Name]
		if !ok {
			return notFound(r)
		}
		if g.State == PortStarted {
			return nil
		}
		enlisted := false
		for _, m := range g.SendPorts {
			if p, ok := tx.m.sendPorts[m]; ok && p.State.Enlisted() {
				enlisted = true
			}
		}
		if !enlisted {
			return tx.stateErr("start", r, g.State, "a send port group needs an enlisted member port to start")
		}
		tx.setGroupState(g, PortStarted)
		return nil
	case KindOrchestration:
		o, ok := tx.m.orchs[r.Name]
		if !ok {
			return notFound(r)
		}
		if o.State == OrchestrationStarted {
			return nil
		}
		if !o.State.Enlisted() {
			if err := tx.checkBound(o); err != nil {
				return err
			}
		}
		tx.setOrchState(o, OrchestrationStarted)
		return nil
	case KindReceiveLocation:
		return tx.setLocation(r, true)
	case KindHostInstance:
		return tx.setInstance(r, HostInstanceRunning)
	}
	return &StateError{Op: "start", Ref: r, State: "-", Reason: "not a startable artifact", Err: ErrState}
}

// Stop stops a started send port, send port group or orchestration, keeping
// its subscriptions (matching messages are suspended, resumable), disables
// a receive location or stops a host instance. Stopping an artifact that is
// not enlisted fails.
func (tx *Tx) Stop(r Ref) error {
	switch r.Kind {
	case KindSendPort:
		p, ok := tx.m.sendPorts[r.Name]
		if !ok {
			return notFound(r)
		}
		switch p.State {
		case PortBound:
			return tx.stateErr("stop", r, p.State, "not enlisted")
		case PortStarted:
			tx.setPortState(p, PortStopped)
		}
		return nil
	case KindSendPortGroup:
		g, ok := tx.m.groups[r.Name]
		if !ok {
			return notFound(r)
		}
		switch g.State {
		case PortBound:
			return tx.stateErr("stop", r, g.State, "not enlisted")
		case PortStarted:
			tx.setGroupState(g, PortStopped)
		}
		return nil
	case KindOrchestration:
		o, ok := tx.m.orchs[r.Name]
		if !ok {
			return notFound(r)
		}
		switch o.State {
		case OrchestrationUnenlisted:
			return tx.stateErr("stop", r, o.State, "not enlisted")
		case OrchestrationStarted:
			tx.setOrchState(o, OrchestrationEnlisted)
		}
		return nil
	case KindReceiveLocation:
		return tx.setLocation(r, false)
	case KindHostInstance:
		return tx.setInstance(r, HostInstanceStopped)
	}
	return &StateError{Op: "stop", Ref: r, State: "-", Reason: "not a stoppable artifact", Err: ErrState}
}

// Unenlist unenlists a send port, send port group or orchestration,
// removing its subscriptions. Unless force is set it is refused with a
// *QueuedError while messages are queued or suspended for any of them
// (BizTalk's rule); and the last enlisted member of an enlisted group
// cannot be unenlisted.
func (tx *Tx) Unenlist(r Ref, force bool) error {
	switch r.Kind {
	case KindSendPort:
		p, ok := tx.m.sendPorts[r.Name]
		if !ok {
			return notFound(r)
		}
		if !p.State.Enlisted() {
			return nil
		}
		for _, g := range tx.m.groups {
			if !g.State.Enlisted() || !containsString(g.SendPorts, p.Name) {
				continue
			}
			others := false
			for _, m := range g.SendPorts {
				if q, ok := tx.m.sendPorts[m]; ok && m != p.Name && q.State.Enlisted() {
					others = true
				}
			}
			if !others {
				return tx.stateErr("unenlist", r, p.State, fmt.Sprintf("it is the last enlisted port of send port group %q, which is %s", g.Name, g.State))
			}
		}
		if err := tx.checkQueued(r, force); err != nil {
			return err
		}
		tx.setPortState(p, PortBound)
		return nil
	case KindSendPortGroup:
		g, ok := tx.m.groups[r.Name]
		if !ok {
			return notFound(r)
		}
		if !g.State.Enlisted() {
			return nil
		}
		if err := tx.checkQueued(r, force); err != nil {
			return err
		}
		tx.setGroupState(g, PortBound)
		return nil
	case KindOrchestration:
		o, ok := tx.m.orchs[r.Name]
		if !ok {
			return notFound(r)
		}
		if !o.State.Enlisted() {
			return nil
		}
		if err := tx.checkQueued(r, force); err != nil {
			return err
		}
		tx.setOrchState(o, OrchestrationUnenlisted)
		return nil
	}
	return &StateError{Op: "unenlist", Ref: r, State: "-", Reason: "only ports, groups and orchestrations are enlisted", Err: ErrState}
}

// checkQueued refuses an unforced unenlist of r while any subscription it
// owns, or that delivers to it, has messages.
func (tx *Tx) checkQueued(r Ref, force bool) error {
	if force {
		return nil
	}
	if tx.s.subs == nil {
		return fmt.Errorf("%w: %w", ErrInvalid, errNoSubs)
	}
	for _, o := range sortedRefs(refSet(tx.m.subs)) {
		for _, sub := range tx.m.subs[o] {
			if sub.Owner != r && sub.Target != r {
				continue
			}
			n, err := tx.s.subs.Queued(sub.ID)
			if err != nil {
				return fmt.Errorf("mgmt: unenlist %s: count queued messages: %w", r, err)
			}
			if n > 0 {
				return &QueuedError{Ref: r, Subscription: sub.ID, Count: n}
			}
		}
	}
	return nil
}

func refSet(m map[Ref][]Subscription) map[Ref]struct{} {
	out := make(map[Ref]struct{}, len(m))
	for r := range m {
		out[r] = struct{}{}
	}
	return out
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (tx *Tx) setPortState(p *SendPort, st PortState) {
	c := p.clone()
	c.State = st
	tx.m.sendPorts[p.Name] = c
	tx.touch(Ref{KindSendPort, p.Name})
}

func (tx *Tx) setGroupState(g *SendPortGroup, st PortState) {
	c := g.clone()
	c.State = st
	tx.m.groups[g.Name] = c
	tx.touch(Ref{KindSendPortGroup, g.Name})
}

func (tx *Tx) setOrchState(o *Orchestration, st OrchestrationState) {
	c := o.clone()
	c.State = st
	tx.m.orchs[o.Name] = c
	tx.touch(Ref{KindOrchestration, o.Name})
}

func (tx *Tx) setLocation(r Ref, enabled bool) error {
	pn, ok := tx.m.locations[r.Name]
	if !ok {
		return notFound(r)
	}
	p := tx.m.receivePorts[pn]
	i := p.location(r.Name)
	if p.Locations[i].Enabled == enabled {
		return nil
	}
	c := p.clone()
	c.Locations[i].Enabled = enabled
	tx.m.receivePorts[pn] = c
	tx.touch(Ref{KindReceivePort, pn})
	return nil
}

func (tx *Tx) setInstance(r Ref, st HostInstanceState) error {
	h, ok := tx.m.instances[r.Name]
	if !ok {
		return notFound(r)
	}
	if h.State == st {
		return nil
	}
	c := *h
	c.State = st
	tx.m.instances[r.Name] = &c
	tx.touch(r)
	return nil
}

// StartApplication starts everything in app, as BizTalk's application
// Start does: it enlists and starts orchestrations, send ports and send
// port groups, enables receive locations and starts the instances of the
// hosts they use.
func (tx *Tx) StartApplication(app string) error {
	if _, ok := tx.m.apps[app]; !ok {
		return notFound(Ref{KindApplication, app})
	}
	hosts := map[string]bool{}
	for _, n := range sortedKeys(tx.m.sendPorts) {
		p := tx.m.sendPorts[n]
		if p.Application != app {
			continue
		}
		if err := tx.Start(Ref{KindSendPort, n}); err != nil {
			return err
		}
		hosts[portHost(p)] = true
	}
	for _, n := range sortedKeys(tx.m.groups) {
		g := tx.m.groups[n]
		if g.Application != app {
			continue
		}
		if err := tx.Enlist(Ref{KindSendPortGroup, n}); err != nil {
			return err
		}
		if err := tx.Start(Ref{KindSendPortGroup, n}); err != nil {
			return err
		}
	}
	for _, n := range sortedKeys(tx.m.orchs) {
		o := tx.m.orchs[n]
		if o.Application != app {
			continue
		}
		if err := tx.Start(Ref{KindOrchestration, n}); err != nil {
			return err
		}
		hosts[o.Host] = true
	}
	for _, n := range sortedKeys(tx.m.receivePorts) {
		p := tx.m.receivePorts[n]
		if p.Application != app {
			continue
		}
		for _, l := range p.Locations {
			if err := tx.Start(Ref{KindReceiveLocation, l.Name}); err != nil {
				return err
			}
			hosts[l.Handler] = true
		}
	}
	for _, n := range sortedKeys(tx.m.instances) {
		if h := tx.m.instances[n]; hosts[h.Host] {
			if err := tx.Start(Ref{KindHostInstance, n}); err != nil {
				return err
			}
		}
	}
	return nil
}

// StopMode is how StopApplication stops an application.
type StopMode uint8

const (
	// StopReceiving only disables receive locations: running instances
	// continue ("partial stop, allow running instances").
	StopReceiving StopMode = 1
	// StopSuspend also stops orchestrations, send ports and groups, which
	// keep their subscriptions ("partial stop, suspend running
	// instances").
	StopSuspend StopMode = 2
	// StopFull also unenlists everything, whatever is queued ("full stop,
	// terminate instances").
	StopFull StopMode = 3
)

// StopApplication stops app in the given mode.
func (tx *Tx) StopApplication(app string, mode StopMode) error {
	if _, ok := tx.m.apps[app]; !ok {
		return notFound(Ref{KindApplication, app})
	}
	for _, n := range sortedKeys(tx.m.receivePorts) {
		p := tx.m.receivePorts[n]
		if p.Application != app {
			continue
		}
		for _, l := range p.Locations {
			if err := tx.Stop(Ref{KindReceiveLocation, l.Name}); err != nil {
				return err
			}
		}
	}
	if mode < StopSuspend {
		return nil
	}
	var refs []Ref
	for _, n := range sortedKeys(tx.m.orchs) {
		if o := tx.m.orchs[n]; o.Application == app && o.State.Enlisted() {
			refs = append(refs, Ref{KindOrchestration, n})
		}
	}
	for _, n := range sortedKeys(tx.m.groups) {
		if g := tx.m.groups[n]; g.Application == app && g.State.Enlisted() {
			refs = append(refs, Ref{KindSendPortGroup, n})
		}
	}
	for _, n := range sortedKeys(tx.m.sendPorts) {
		if p := tx.m.sendPorts[n]; p.Application == app && p.State.Enlisted() {
			refs = append(refs, Ref{KindSendPort, n})
		}
	}
	for _, r := range refs {
		var err error
		if mode == StopFull {
			err = tx.Unenlist(r, true)
		} else {
			err = tx.Stop(r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Store-level transitions: each runs in its own Update.

// Enlist enlists a send port, send port group or orchestration (see
// Tx.Enlist).
func (s *Store) Enlist(ctx context.Context, r Ref) error {
	ctx = store.Context(ctx)
	return s.Update(ctx, func(tx *Tx) error { return tx.Enlist(r) })
}

// Start starts an artifact (see Tx.Start).
func (s *Store) Start(ctx context.Context, r Ref) error {
	ctx = store.Context(ctx)
	return s.Update(ctx, func(tx *Tx) error { return tx.Start(r) })
}

// Stop stops an artifact (see Tx.Stop).
func (s *Store) Stop(ctx context.Context, r Ref) error {
	ctx = store.Context(ctx)
	return s.Update(ctx, func(tx *Tx) error { return tx.Stop(r) })
}

// Unenlist unenlists an artifact (see Tx.Unenlist).
func (s *Store) Unenlist(ctx context.Context, r Ref, force bool) error {
	ctx = store.Context(ctx)
	return s.Update(ctx, func(tx *Tx) error { return tx.Unenlist(r, force) })
}

// StartApplication starts everything in app (see Tx.StartApplication).
func (s *Store) StartApplication(ctx context.Context, app string) error {
	ctx = store.Context(ctx)
	return s.Update(ctx, func(tx *Tx) error { return tx.StartApplication(app) })
}

// StopApplication stops app (see Tx.StopApplication).
func (s *Store) StopApplication(ctx context.Context, app string, mode StopMode) error {
	ctx = store.Context(ctx)
	return s.Update(ctx, func(tx *Tx) error { return tx.StopApplication(app, mode) })
}
