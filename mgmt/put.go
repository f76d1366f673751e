package mgmt

import (
	"fmt"
	"slices"
	"strings"
)

// Put methods create an artifact or replace its configuration. They copy
// their argument. The artifact's state is not configuration: Put keeps the
// stored state of an existing artifact and gives a new one its initial
// state (send ports and groups Bound, orchestrations Unenlisted, host
// instances Stopped); use the transitions to change it. A receive
// location's Enabled flag is configuration in binding files and is taken
// as given.
//
// Names are unique in the group per kind: putting an artifact whose name
// another application's artifact has fails with ErrExists. References to
// artifacts that do not exist fail with ErrInvalid.

func (tx *Tx) touch(r Ref) { tx.dirty[r] = struct{}{} }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func (tx *Tx) needApp(kind Kind, name, app string) error {
	if app == "" {
		return invalidf("%s %q has no application", kind, name)
	}
	if _, ok := tx.m.apps[app]; !ok {
		return invalidf("%s %q: application %q does not exist", kind, name, app)
	}
	return nil
}

func (tx *Tx) needHost(what, host string) error {
	if host == "" {
		return nil
	}
	if _, ok := tx.m.hosts[host]; !ok {
		return invalidf("%s: host %q does not exist", what, host)
	}
	return nil
}

func (tx *Tx) needAdapter(what, adapter string) error {
	if adapter == "" {
		return nil
	}
	if _, ok := tx.m.adapters[adapter]; !ok {
		return invalidf("%s: adapter %q does not exist", what, adapter)
	}
	return nil
}

// visible applies BizTalk's rule that an artifact may use another
// application's artifacts only if its application references that one.
func (tx *Tx) visible(what, from, to string) error {
	if from == to {
		return nil
	}
	if a, ok := tx.m.apps[from]; ok && slices.Contains(a.References, to) {
		return nil
	}
	return invalidf("%s in application %q uses an artifact of application %q, which %q does not reference", what, from, to, from)
}

// needInProcess checks that host, if set, can run orchestrations and send
// handlers: isolated hosts only run receive handlers.
func (tx *Tx) needInProcess(what, host string) error {
	if h, ok := tx.m.hosts[host]; ok && h.Type == HostIsolated {
		return invalidf("%s: host %q is isolated; only in-process hosts run orchestrations and send handlers", what, host)
	}
	return nil
}

func sameApp(kind Kind, name, old, app string) error {
	if old != app {
		return fmt.Errorf("%w: %s %q belongs to application %q, not %q", ErrExists, kind, name, old, app)
	}
	return nil
}

// PutApplication creates or replaces an application. Its references must
// exist.
func (tx *Tx) PutApplication(a *Application) error {
	if err := validName(KindApplication, a.Name); err != nil {
		return err
	}
	for _, r := range a.References {
		if r == a.Name {
			return invalidf("application %q references itself", a.Name)
		}
		if _, ok := tx.m.apps[r]; !ok {
			return invalidf("application %q references %q, which does not exist", a.Name, r)
		}
	}
	tx.m.apps[a.Name] = a.clone()
	tx.touch(Ref{KindApplication, a.Name})
	return nil
}

// PutHost creates or replaces a host. Type defaults to HostInProcess.
func (tx *Tx) PutHost(h *Host) error {
	if err := validName(KindHost, h.Name); err != nil {
		return err
	}
	c := *h
	if c.Type == 0 {
		c.Type = HostInProcess
	}
	if c.Type != HostInProcess && c.Type != HostIsolated {
		return invalidf("host %q: type %d", h.Name, h.Type)
	}
	tx.m.hosts[h.Name] = &c
	tx.touch(Ref{KindHost, h.Name})
	return nil
}

// PutHostInstance creates a host instance (stopped) or keeps an existing
// one. Its host must exist.
func (tx *Tx) PutHostInstance(h *HostInstance) error {
	if h.Host == "" || h.Server == "" {
		return invalidf("host instance needs a host and a server")
	}
	if err := tx.needHost("host instance", h.Host); err != nil {
		return err
	}
	c := *h
	if old, ok := tx.m.instances[c.Name()]; ok {
		c.State = old.State
	} else {
		c.State = HostInstanceStopped
	}
	tx.m.instances[c.Name()] = &c
	tx.touch(Ref{KindHostInstance, c.Name()})
	return nil
}

// PutAdapter creates or replaces an adapter.
func (tx *Tx) PutAdapter(a *Adapter) error {
	if err := validName(KindAdapter, a.Name); err != nil {
		return err
	}
	c := *a
	tx.m.adapters[a.Name] = &c
	tx.touch(Ref{KindAdapter, a.Name})
	return nil
}

// PutAssembly creates or replaces an assembly, keyed by FullName.
func (tx *Tx) PutAssembly(a *Assembly) error {
	if err := validName(KindAssembly, a.FullName); err != nil {
		return err
	}
	if err := tx.needApp(KindAssembly, a.FullName, a.Application); err != nil {
		return err
	}
	if (isAppModule(a.Name) || strings.HasPrefix(a.FullName, appModulePrefix)) &&
		(a.Name != appModuleName(a.Application) || a.FullName != appModuleFullName(a.Application)) {
		return invalidf("assembly %q: an application's own module reference must be named %q", a.FullName, appModuleName(a.Application))
	}
	if old, ok := tx.m.assemblies[a.FullName]; ok {
		if err := sameApp(KindAssembly, a.FullName, old.Application, a.Application); err != nil {
			return err
		}
	}
	c := *a
	c.Extra, c.ExtraAttrs = slices.Clone(a.Extra), slices.Clone(a.ExtraAttrs)
	tx.m.assemblies[a.FullName] = &c
	tx.touch(Ref{KindAssembly, a.FullName})
	return nil
}

// PutSendPort creates or replaces a send port. A static port needs a
// primary transport with an adapter; adapters and send handler hosts must
// exist. Changing an enlisted port's filter or host updates its
// subscriptions in the same commit.
func (tx *Tx) PutSendPort(p *SendPort) error {
	if err := validName(KindSendPort, p.Name); err != nil {
		return err
	}
	if err := tx.needApp(KindSendPort, p.Name, p.Application); err != nil {
		return err
	}
	c := p.clone()
	c.State = PortBound
	if old, ok := tx.m.sendPorts[p.Name]; ok {
		if err := sameApp(KindSendPort, p.Name, old.Application, p.Application); err != nil {
			return err
		}
		c.State = old.State
	}
	normalizeSendPort(c)
	what := fmt.Sprintf("send port %q", p.Name)
	if !c.Dynamic && (c.Primary == nil || c.Primary.Adapter == "") {
		return invalidf("%s is static but has no primary transport adapter", what)
	}
	for _, t := range []*Transport{c.Primary, c.Backup} {
		if t == nil {
			continue
		}
		if err := tx.needAdapter(what, t.Adapter); err != nil {
			return err
		}
		if err := tx.needHost(what, t.Handler); err != nil {
			return err
		}
		if err := tx.needInProcess(what, t.Handler); err != nil {
			return err
		}
	}
	if err := validateFilter(c.Filter); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if c.Priority < 0 || c.Priority > 10 {
		return invalidf("%s: priority %d is outside 1..10", what, c.Priority)
	}
	ref := Ref{KindSendPort, p.Name}
	for i, t := range []*Transport{c.Primary, c.Backup} {
		if t != nil {
			if err := tx.protect(ref, []string{"primary", "backup"}[i], &t.TransportData); err != nil {
				return err
			}
		}
	}
	tx.m.sendPorts[p.Name] = c
	tx.touch(Ref{KindSendPort, p.Name})
	return nil
}

// PutSendPortGroup creates or replaces a send port group. Its members must
// exist.
func (tx *Tx) PutSendPortGroup(g *SendPortGroup) error {
	if err := validName(KindSendPortGroup, g.Name); err != nil {
		return err
	}
	if err := tx.needApp(KindSendPortGroup, g.Name, g.Application); err != nil {
		return err
	}
	c := g.clone()
	c.State = PortBound
	if old, ok := tx.m.groups[g.Name]; ok {
		if err := sameApp(KindSendPortGroup, g.Name, old.Application, g.Application); err != nil {
			return err
		}
		c.State = old.State
	}
	for _, m := range c.SendPorts {
		p, ok := tx.m.sendPorts[m]
		if !ok {
			return invalidf("send port group %q: member %q does not exist", g.Name, m)
		}
		if err := tx.visible(fmt.Sprintf("send port group %q", g.Name), c.Application, p.Application); err != nil {
			return err
		}
	}
	if err := validateFilter(c.Filter); err != nil {
		return fmt.Errorf("send port group %q: %w", g.Name, err)
	}
	tx.m.groups[g.Name] = c
	tx.touch(Ref{KindSendPortGroup, g.Name})
	return nil
}

// PutReceivePort creates or replaces a receive port and its locations.
// Location names are unique in the group; adapters and receive handler
// hosts must exist.
func (tx *Tx) PutReceivePort(p *ReceivePort) error {
	if err := validName(KindReceivePort, p.Name); err != nil {
		return err
	}
	if err := tx.needApp(KindReceivePort, p.Name, p.Application); err != nil {
		return err
	}
	if old, ok := tx.m.receivePorts[p.Name]; ok {
		if err := sameApp(KindReceivePort, p.Name, old.Application, p.Application); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, l := range p.Locations {
		what := fmt.Sprintf("receive location %q", l.Name)
		if err := validName(KindReceiveLocation, l.Name); err != nil {
			return err
		}
		if seen[l.Name] {
			return invalidf("receive port %q has two locations named %q", p.Name, l.Name)
		}
		seen[l.Name] = true
		if owner, ok := tx.m.locations[l.Name]; ok && owner != p.Name {
			return fmt.Errorf("%w: %s belongs to receive port %q", ErrExists, what, owner)
		}
		if l.Adapter == "" {
			return invalidf("%s has no adapter", what)
		}
		if err := tx.needAdapter(what, l.Adapter); err != nil {
			return err
		}
		if err := tx.needHost(what, l.Handler); err != nil {
			return err
		}
	}
	c := p.clone()
	for i := range c.Locations {
		if err := tx.protect(Ref{KindReceivePort, p.Name}, c.Locations[i].Name, &c.Locations[i].TransportData); err != nil {
			return err
		}
	}
	if old, ok := tx.m.receivePorts[p.Name]; ok {
		for _, l := range old.Locations {
			delete(tx.m.locations, l.Name)
		}
	}
	for i := range c.Locations {
		normalizeLocation(&c.Locations[i])
		tx.m.locations[c.Locations[i].Name] = c.Name
	}
	tx.m.receivePorts[p.Name] = c
	tx.touch(Ref{KindReceivePort, p.Name})
	return nil
}

// PutOrchestration creates or replaces an orchestration. Its host and the
// ports it is bound to must exist. The bindings (host and ports) of an
// enlisted orchestration cannot change: unenlist it first (BizTalk's rule).
func (tx *Tx) PutOrchestration(o *Orchestration) error {
	if err := validName(KindOrchestration, o.Name); err != nil {
		return err
	}
	if err := tx.needApp(KindOrchestration, o.Name, o.Application); err != nil {
		return err
	}
	c := o.clone()
	if c.Assembly == "" {
		// Exported under the application's own module reference.
		c.Assembly = appModuleFullName(c.Application)
	}
	c.State = OrchestrationUnenlisted
	if old, ok := tx.m.orchs[o.Name]; ok {
		if err := sameApp(KindOrchestration, o.Name, old.Application, o.Application); err != nil {
			return err
		}
		c.State = old.State
		if old.State.Enlisted() && (old.Host != c.Host || !slices.Equal(old.Ports, c.Ports) || !old.Activation.Equal(c.Activation) ||
			!slices.Equal(old.ActivatingPorts, c.ActivatingPorts)) {
			return &StateError{Op: "rebind", Ref: Ref{KindOrchestration, o.Name}, State: old.State.String(),
				Reason: "bindings can change only while unenlisted", Err: ErrState}
		}
	}
	what := fmt.Sprintf("orchestration %q", o.Name)
	for _, p := range c.ActivatingPorts {
		if !slices.ContainsFunc(c.Ports, func(pb PortBinding) bool { return pb.Name == p }) {
			return invalidf("%s: activating port %q is not one of its ports", what, p)
		}
	}
	if err := tx.needHost(what, c.Host); err != nil {
		return err
	}
	if err := tx.needInProcess(what, c.Host); err != nil {
		return err
	}
	if a, ok := tx.m.assemblies[c.Assembly]; ok && a.Application != c.Application {
		return invalidf("%s is in application %q but its assembly %q is in %q", what, c.Application, c.Assembly, a.Application)
	}
	for _, pb := range c.Ports {
		switch {
		case pb.SendPort != "":
			sp, ok := tx.m.sendPorts[pb.SendPort]
			if !ok {
				return invalidf("%s port %q: send port %q does not exist", what, pb.Name, pb.SendPort)
			}
			if err := tx.visible(what, c.Application, sp.Application); err != nil {
				return err
			}
		case pb.SendPortGroup != "":
			g, ok := tx.m.groups[pb.SendPortGroup]
			if !ok {
				return invalidf("%s port %q: send port group %q does not exist", what, pb.Name, pb.SendPortGroup)
			}
			if err := tx.visible(what, c.Application, g.Application); err != nil {
				return err
			}
		case pb.ReceivePort != "":
			rp, ok := tx.m.receivePorts[pb.ReceivePort]
			if !ok {
				return invalidf("%s port %q: receive port %q does not exist", what, pb.Name, pb.ReceivePort)
			}
			if err := tx.visible(what, c.Application, rp.Application); err != nil {
				return err
			}
		}
	}
	if err := validateFilter(c.Activation); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	tx.m.orchs[o.Name] = c
	tx.touch(Ref{KindOrchestration, o.Name})
	return nil
}

// PutParty creates or replaces a party.
func (tx *Tx) PutParty(p *Party) error {
	if err := validName(KindParty, p.Name); err != nil {
		return err
	}
	c := *p
	tx.m.parties[p.Name] = &c
	tx.touch(Ref{KindParty, p.Name})
	return nil
}

// Delete removes an artifact. An enlisted port, group or orchestration, a
// running host instance, and an artifact something else uses (an
// application with artifacts, a host with instances or handlers, a port an
// orchestration is bound to...) cannot be deleted. Deleting what does not
// exist fails with ErrNotFound.
func (tx *Tx) Delete(r Ref) error {
	m := tx.m
	if r.Kind == KindReceiveLocation {
		// A location is part of its port's record.
		pn, ok := m.locations[r.Name]
		if !ok {
			return notFound(r)
		}
		p := m.receivePorts[pn].clone()
		p.Locations = slices.Delete(p.Locations, p.location(r.Name), p.location(r.Name)+1)
		m.receivePorts[pn] = p
		delete(m.locations, r.Name)
		tx.touch(Ref{KindReceivePort, pn})
		return nil
	}
	check, ok := deleteChecks[r.Kind]
	if !ok {
		return invalidf("cannot delete %s", r)
	}
	if err := check(m, r); err != nil {
		return err
	}
	switch r.Kind {
	case KindApplication:
		delete(m.apps, r.Name)
	case KindHost:
		delete(m.hosts, r.Name)
	case KindHostInstance:
		delete(m.instances, r.Name)
	case KindAdapter:
		delete(m.adapters, r.Name)
	case KindAssembly:
		delete(m.assemblies, r.Name)
	case KindSendPort:
		delete(m.sendPorts, r.Name)
	case KindSendPortGroup:
		delete(m.groups, r.Name)
	case KindReceivePort:
		for _, l := range m.receivePorts[r.Name].Locations {
			delete(m.locations, l.Name)
		}
		delete(m.receivePorts, r.Name)
	case KindOrchestration:
		delete(m.orchs, r.Name)
	case KindParty:
		delete(m.parties, r.Name)
	}
	tx.touch(r)
	return nil
}

// deleteChecks say, per kind, why an artifact cannot be deleted: it does
// not exist (ErrNotFound), another artifact uses it, or its state forbids
// it (stop or unenlist it first).
var deleteChecks = map[Kind]func(m *model, r Ref) error{
	KindApplication:   (*model).checkDeleteApplication,
	KindHost:          (*model).checkDeleteHost,
	KindHostInstance:  (*model).checkDeleteHostInstance,
	KindAdapter:       (*model).checkDeleteAdapter,
	KindAssembly:      (*model).checkDeleteAssembly,
	KindSendPort:      (*model).checkDeleteSendPort,
	KindSendPortGroup: (*model).checkDeleteSendPortGroup,
	KindReceivePort:   (*model).checkDeleteReceivePort,
	KindOrchestration: (*model).checkDeleteOrchestration,
	KindParty:         (*model).checkDeleteParty,
}

func inUse(r Ref, by string) error {
	return fmt.Errorf("%w: %s is used by %s", ErrInvalid, r, by)
}

// boundBy returns an error naming the orchestration that binds a logical
// port as match says, nil if none does.
func (m *model) boundBy(r Ref, match func(*PortBinding) bool) error {
	for _, o := range m.orchs {
		for i := range o.Ports {
			if match(&o.Ports[i]) {
				return inUse(r, "orchestration "+o.Name)
			}
		}
	}
	return nil
}

func (m *model) checkDeleteApplication(r Ref) error {
	if _, ok := m.apps[r.Name]; !ok {
		return notFound(r)
	}
	for _, a := range m.apps {
		if slices.Contains(a.References, r.Name) {
			return inUse(r, "application "+a.Name)
		}
	}
	for _, p := range m.sendPorts {
		if p.Application == r.Name {
			return inUse(r, "send port "+p.Name)
		}
	}
	for _, p := range m.receivePorts {
		if p.Application == r.Name {
			return inUse(r, "receive port "+p.Name)
		}
	}
	for _, g := range m.groups {
		if g.Application == r.Name {
			return inUse(r, "send port group "+g.Name)
		}
	}
	for _, o := range m.orchs {
		if o.Application == r.Name {
			return inUse(r, "orchestration "+o.Name)
		}
	}
	for _, a := range m.assemblies {
		if a.Application == r.Name {
			return inUse(r, "assembly "+a.FullName)
		}
	}
	return nil
}

func (m *model) checkDeleteHost(r Ref) error {
	if _, ok := m.hosts[r.Name]; !ok {
		return notFound(r)
	}
	for _, h := range m.instances {
		if h.Host == r.Name {
			return inUse(r, "host instance "+h.Name())
		}
	}
	for _, o := range m.orchs {
		if o.Host == r.Name {
			return inUse(r, "orchestration "+o.Name)
		}
	}
	return m.usedByTransport(r, func(handler, _ string) string { return handler })
}

func (m *model) checkDeleteHostInstance(r Ref) error {
	h, ok := m.instances[r.Name]
	if !ok {
		return notFound(r)
	}
	if h.State != HostInstanceStopped {
		return &StateError{Op: "delete", Ref: r, State: h.State.String(), Reason: "stop it first", Err: ErrState}
	}
	return nil
}

func (m *model) checkDeleteAdapter(r Ref) error {
	if _, ok := m.adapters[r.Name]; !ok {
		return notFound(r)
	}
	return m.usedByTransport(r, func(_, adapter string) string { return adapter })
}

// usedByTransport refuses to delete r if a send port's transport or a
// receive location names it, as pick takes the name (its handler host or
// its adapter) from the transport's handler and adapter.
func (m *model) usedByTransport(r Ref, pick func(handler, adapter string) string) error {
	for _, p := range m.sendPorts {
		for _, t := range []*Transport{p.Primary, p.Backup} {
			if t != nil && pick(t.Handler, t.Adapter) == r.Name {
				return inUse(r, "send port "+p.Name)
			}
		}
	}
	for _, p := range m.receivePorts {
		for _, l := range p.Locations {
			if pick(l.Handler, l.Adapter) == r.Name {
				return inUse(r, "receive location "+l.Name)
			}
		}
	}
	return nil
}

func (m *model) checkDeleteAssembly(r Ref) error {
	if _, ok := m.assemblies[r.Name]; !ok {
		return notFound(r)
	}
	for _, o := range m.orchs {
		if o.Assembly == r.Name {
			return inUse(r, "orchestration "+o.Name)
		}
	}
	return nil
}

func (m *model) checkDeleteSendPort(r Ref) error {
	p, ok := m.sendPorts[r.Name]
	if !ok {
		return notFound(r)
	}
	if p.State.Enlisted() {
		return &StateError{Op: "delete", Ref: r, State: p.State.String(), Reason: "unenlist it first", Err: ErrState}
	}
	for _, g := range m.groups {
		if slices.Contains(g.SendPorts, r.Name) {
			return inUse(r, "send port group "+g.Name)
		}
	}
	return m.boundBy(r, func(b *PortBinding) bool { return b.SendPort == r.Name })
}

func (m *model) checkDeleteSendPortGroup(r Ref) error {
	g, ok := m.groups[r.Name]
	if !ok {
		return notFound(r)
	}
	if g.State.Enlisted() {
		return &StateError{Op: "delete", Ref: r, State: g.State.String(), Reason: "unenlist it first", Err: ErrState}
	}
	return m.boundBy(r, func(b *PortBinding) bool { return b.SendPortGroup == r.Name })
}

func (m *model) checkDeleteReceivePort(r Ref) error {
	if _, ok := m.receivePorts[r.Name]; !ok {
		return notFound(r)
	}
	return m.boundBy(r, func(b *PortBinding) bool { return b.ReceivePort == r.Name })
}

func (m *model) checkDeleteOrchestration(r Ref) error {
	o, ok := m.orchs[r.Name]
	if !ok {
		return notFound(r)
	}
	if o.State.Enlisted() {
		return &StateError{Op: "delete", Ref: r, State: o.State.String(), Reason: "unenlist it first", Err: ErrState}
	}
	return nil
}

func (m *model) checkDeleteParty(r Ref) error {
	if _, ok := m.parties[r.Name]; !ok {
		return notFound(r)
	}
	return nil
}

// BizTalk's defaults for what a binding file must carry. Put fills them in
// so that every stored artifact exports to a file BizTalk accepts and
// re-imports unchanged.
const (
	defaultWindowFrom = "2000-01-01T00:00:00"
	defaultWindowTo   = "2000-01-01T23:59:59"
)

var (
	passThruTransmit = Pipeline{
		Name:               "Microsoft.BizTalk.DefaultPipelines.PassThruTransmit",
		FullyQualifiedName: "Microsoft.BizTalk.DefaultPipelines.PassThruTransmit, Microsoft.BizTalk.DefaultPipelines, Version=3.0.1.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35",
		Type:               2,
		TrackingOption:     "ServiceStartEnd MessageSendReceive PipelineEvents",
	}
	passThruReceive = Pipeline{
		Name:               "Microsoft.BizTalk.DefaultPipelines.PassThruReceive",
		FullyQualifiedName: "Microsoft.BizTalk.DefaultPipelines.PassThruReceive, Microsoft.BizTalk.DefaultPipelines, Version=3.0.1.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35",
		Type:               1,
		TrackingOption:     "ServiceStartEnd MessageSendReceive PipelineEvents",
	}
)

func normalizeWindow(w *ServiceWindow) {
	if w.From == "" {
		w.From = defaultWindowFrom
	}
	if w.To == "" {
		w.To = defaultWindowTo
	}
}

func normalizeSendPort(p *SendPort) {
	if p.Priority == 0 {
		p.Priority = defaultPortPriority
	}
	if p.SendPipeline.IsZero() {
		p.SendPipeline = passThruTransmit
	}
	for _, t := range []*Transport{p.Primary, p.Backup} {
		if t != nil {
			normalizeWindow(&t.ServiceWindow)
		}
	}
}

func normalizeLocation(l *ReceiveLocation) {
	if l.ReceivePipeline.IsZero() {
		l.ReceivePipeline = passThruReceive
	}
	normalizeWindow(&l.ServiceWindow)
	if l.StartDate.Date == "" {
		l.StartDate.Date = defaultWindowFrom
	}
	if l.EndDate.Date == "" {
		l.EndDate.Date = defaultWindowTo
	}
}
