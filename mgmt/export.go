package mgmt

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/biztier/biztier/internal/store"
)

// Export writes the bindings of app as a BizTalk binding file (a
// <BindingInfo> document in the layout BizTalk's own exports use), or of
// the whole group when app is "". Importing the result gives back the same
// configuration. Orchestration states are written (State="Started");
// Import applies them only with ImportOptions.ApplyStates. Unknown elements kept from an import are
// written back where they were. Application descriptions and references,
// host instances and orchestration activation filters are not part of
// binding files and are not written. It fails with ErrNotFound for an
// application that does not exist.
func (s *Store) Export(ctx context.Context, w io.Writer, app string) error {
	ctx = store.Context(ctx)
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m := s.model()
	var apps []string
	if app == "" {
		apps = sortedKeys(m.apps)
	} else {
		if _, ok := m.apps[app]; !ok {
			return notFound(Ref{KindApplication, app})
		}
		apps = []string{app}
	}
	in := func(a string) bool { return slices.Contains(apps, a) }
	x := &exporter{m: m, w: &xw{}}
	out := x.w

	// Orchestration endpoints decide the binding status.
	var total, bound int
	for _, n := range sortedKeys(m.orchs) {
		if o := m.orchs[n]; in(o.Application) {
			for _, pb := range o.Ports {
				total++
				if pb.Bound() {
					bound++
				}
			}
		}
	}
	status := "NoBindings"
	switch {
	case total > 0 && bound == total:
		status = "FullyBound"
	case bound > 0:
		status = "PartiallyBound"
	}
	out.b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
	out.open("BindingInfo", nil,
		"xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance",
		"xmlns:xsd", "http://www.w3.org/2001/XMLSchema",
		"Assembly", "Microsoft.BizTalk.Deployment, Version=3.0.1.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35",
		"Version", "3.5.1.0",
		"BindingStatus", status,
		"BoundEndpoints", strconv.Itoa(bound),
		"TotalEndpoints", strconv.Itoa(total))
	out.leaf("Timestamp", s.opts.Now().Format("2006-01-02T15:04:05.0000000-07:00"))

	// Module references: per application its pseudo reference first, then
	// its assemblies, each with the orchestrations it holds.
	var mods []func()
	for _, a := range apps {
		pseudo := m.assemblies[appModuleFullName(a)]
		var asms []*Assembly
		for _, n := range sortedKeys(m.assemblies) {
			if as := m.assemblies[n]; as.Application == a && !isAppModule(as.Name) {
				asms = append(asms, as)
			}
		}
		// Orchestrations of assemblies that are not stored get a reference
		// made from the assembly's display name.
		missing := map[string]*Assembly{}
		for _, n := range sortedKeys(m.orchs) {
			o := m.orchs[n]
			if o.Application != a {
				continue
			}
			// o.Assembly is a full name: an application's pseudo reference
			// is written once, above, not again as a missing assembly.
			if _, ok := m.assemblies[o.Assembly]; !ok && !isAppModule(parseFullName(o.Assembly).Name) {
				missing[o.Assembly] = parseFullName(o.Assembly)
			}
		}
		for _, n := range sortedKeys(missing) {
			as := missing[n]
			as.Application = a
			as.Extra = []Raw{{After: "Services", XML: "<TrackedSchemas />"}}
			asms = append(asms, as)
		}
		// BizTalk writes an application's pseudo reference whether or not
		// it holds anything; it also names the application of the module
		// references after it.
		if pseudo == nil {
			pseudo = &Assembly{Name: appModuleName(a), FullName: appModuleFullName(a), Application: a,
				Extra: []Raw{{After: "Services", XML: "<TrackedSchemas />"}}}
		}
		mods = append(mods, func() { x.moduleRef(pseudo, a) })
		for _, as := range asms {
			mods = append(mods, func() { x.moduleRef(as, a) })
		}
	}
	if len(mods) == 0 {
		out.empty("ModuleRefCollection", nil)
	} else {
		out.open("ModuleRefCollection", nil)
		for _, f := range mods {
			f()
		}
		out.close("ModuleRefCollection")
	}

	collection(out, "SendPortCollection", sortedKeys(m.sendPorts), func(n string) bool { return in(m.sendPorts[n].Application) },
		func(n string) { x.sendPort(m.sendPorts[n]) })
	collection(out, "DistributionListCollection", sortedKeys(m.groups), func(n string) bool { return in(m.groups[n].Application) },
		func(n string) { x.group(m.groups[n]) })
	collection(out, "ReceivePortCollection", sortedKeys(m.receivePorts), func(n string) bool { return in(m.receivePorts[n].Application) },
		func(n string) { x.receivePort(m.receivePorts[n]) })
	// Parties belong to the group: every export carries them.
	parties := sortedKeys(m.parties)
	if len(parties) == 0 {
		out.empty("PartyCollection", nil, "xsi:nil", "true")
	} else {
		out.open("PartyCollection", nil)
		for _, n := range parties {
			out.raw(m.parties[n].XML)
		}
		out.close("PartyCollection")
	}
	out.depth--
	out.indent()
	out.b.WriteString("</BindingInfo>")
	if _, err := w.Write(out.b.Bytes()); err != nil {
		return fmt.Errorf("mgmt: export: %w", err)
	}
	return nil
}

func collection(w *xw, name string, names []string, keep func(string) bool, write func(string)) {
	var sel []string
	for _, n := range names {
		if keep(n) {
			sel = append(sel, n)
		}
	}
	if len(sel) == 0 {
		w.empty(name, nil)
		return
	}
	w.open(name, nil)
	for _, n := range sel {
		write(n)
	}
	w.close(name)
}

type exporter struct {
	m *model
	w *xw
}

func (x *exporter) moduleRef(a *Assembly, app string) {
	w := x.w
	w.open("ModuleRef", a.ExtraAttrs, "Name", a.Name, "Version", a.Version, "Culture", a.Culture,
		"PublicKeyToken", a.PublicKeyToken, "FullName", a.FullName)
	c := w.children(a.Extra)
	var orchs []*Orchestration
	for _, n := range sortedKeys(x.m.orchs) {
		if o := x.m.orchs[n]; o.Application == app && o.Assembly == a.FullName {
			orchs = append(orchs, o)
		}
	}
	if len(orchs) == 0 {
		w.empty("Services", nil)
	} else {
		w.open("Services", nil)
		for _, o := range orchs {
			x.service(o)
		}
		w.close("Services")
	}
	c.after("Services")
	c.rest()
	w.close("ModuleRef")
}

func (x *exporter) service(o *Orchestration) {
	w := x.w
	kv := []string{"Name", o.Name, "State", o.State.String(), "TrackingOption", o.TrackingOption}
	if o.Description != "" {
		kv = append(kv, "Description", o.Description)
	}
	w.open("Service", o.ExtraAttrs, kv...)
	c := w.children(o.Extra)
	if len(o.Ports) == 0 {
		w.empty("Ports", nil)
	} else {
		w.open("Ports", nil)
		for _, pb := range o.Ports {
			w.open("Port", nil, "Name", pb.Name, "Modifier", strconv.Itoa(pb.Modifier), "BindingOption", strconv.Itoa(pb.BindingOption))
			ref := func(name, v string) {
				if v == "" {
					w.empty(name, nil, "xsi:nil", "true")
				} else {
					w.empty(name, nil, "Name", v)
				}
			}
			ref("SendPortRef", pb.SendPort)
			ref("DistributionListRef", pb.SendPortGroup)
			ref("ReceivePortRef", pb.ReceivePort)
			w.close("Port")
		}
		w.close("Ports")
	}
	c.after("Ports")
	if h, ok := x.m.hosts[o.Host]; ok {
		w.empty("Host", nil, "Name", h.Name, "NTGroupName", h.NTGroupName, "Type", strconv.Itoa(int(h.Type)),
			"Trusted", strconv.FormatBool(h.Trusted))
	} else {
		w.empty("Host", nil, "xsi:nil", "true")
	}
	c.after("Host")
	c.rest()
	w.close("Service")
}

func (x *exporter) pipeline(name string, p Pipeline) {
	if p.IsZero() {
		x.w.empty(name, nil, "xsi:nil", "true")
		return
	}
	x.w.empty(name, p.ExtraAttrs, "Name", p.Name, "FullyQualifiedName", p.FullyQualifiedName,
		"Type", strconv.Itoa(p.Type), "TrackingOption", p.TrackingOption, "Description", p.Description)
}

func (x *exporter) transportType(name, adapter string) {
	a, ok := x.m.adapters[adapter]
	if !ok {
		a = &Adapter{Name: adapter}
	}
	x.w.empty(name, nil, "Name", a.Name, "Capabilities", strconv.FormatInt(a.Capabilities, 10), "ConfigurationClsid", a.ConfigurationClsid)
}

func (x *exporter) handler(name, host, adapter string) {
	w := x.w
	if host == "" {
		w.empty(name, nil, "xsi:nil", "true")
		return
	}
	trusted := false
	if h, ok := x.m.hosts[host]; ok {
		trusted = h.Trusted
	}
	w.open(name, nil, "Name", host, "HostTrusted", strconv.FormatBool(trusted))
	if adapter != "" {
		x.transportType("TransportType", adapter)
	}
	w.close(name)
}

func (x *exporter) maps(name string, ms []Map) {
	w := x.w
	if len(ms) == 0 {
		w.empty(name, nil)
		return
	}
	w.open(name, nil)
	for _, m := range ms {
		w.empty("Transform", nil, "FullName", m.FullName, "AssemblyQualifiedName", m.AssemblyQualifiedName)
	}
	w.close(name)
}

func (x *exporter) filter(f Filter) {
	if len(f) == 0 {
		x.w.empty("Filter", nil)
		return
	}
	x.w.leaf("Filter", formatFilter(f))
}

func (x *exporter) transport(name string, t *Transport, primary bool) {
	w := x.w
	w.open(name, nil)
	c := w.children(t.Extra)
	step := func(n string, write func()) {
		write()
		c.after(n)
	}
	step("Address", func() { w.leaf("Address", t.Address) })
	if t.Adapter != "" {
		step("TransportType", func() { x.transportType("TransportType", t.Adapter) })
	}
	if t.Adapter != "" || t.TransportData != "" {
		step("TransportTypeData", func() { w.leaf("TransportTypeData", t.TransportData) })
	}
	step("RetryCount", func() { w.intLeaf("RetryCount", t.RetryCount) })
	step("RetryInterval", func() { w.intLeaf("RetryInterval", t.RetryInterval) })
	step("ServiceWindowEnabled", func() { w.boolLeaf("ServiceWindowEnabled", t.ServiceWindow.Enabled) })
	step("FromTime", func() { w.leaf("FromTime", t.ServiceWindow.From) })
	step("ToTime", func() { w.leaf("ToTime", t.ServiceWindow.To) })
	step("Primary", func() { w.boolLeaf("Primary", primary) })
	step("OrderedDelivery", func() { w.boolLeaf("OrderedDelivery", t.OrderedDelivery) })
	step("DeliveryNotification", func() { w.intLeaf("DeliveryNotification", t.DeliveryNotification) })
	step("SendHandler", func() { x.handler("SendHandler", t.Handler, t.Adapter) })
	c.rest()
	w.close(name)
}

func (x *exporter) sendPort(p *SendPort) {
	w := x.w
	w.open("SendPort", p.ExtraAttrs, "Name", p.Name, "IsStatic", strconv.FormatBool(!p.Dynamic),
		"IsTwoWay", strconv.FormatBool(p.TwoWay), "BindingOption", strconv.Itoa(p.BindingOption))
	c := w.children(p.Extra)
	step := func(n string, write func()) {
		write()
		c.after(n)
	}
	step("Description", func() { w.nilLeaf("Description", p.Description) })
	step("TransmitPipeline", func() { x.pipeline("TransmitPipeline", p.SendPipeline) })
	if p.SendPipelineData != "" {
		step("SendPipelineData", func() { w.leaf("SendPipelineData", p.SendPipelineData) })
	}
	if p.Primary != nil {
		step("PrimaryTransport", func() { x.transport("PrimaryTransport", p.Primary, true) })
	}
	if p.Backup != nil {
		step("SecondaryTransport", func() { x.transport("SecondaryTransport", p.Backup, false) })
	}
	if !p.ReceivePipeline.IsZero() {
		step("ReceivePipeline", func() { x.pipeline("ReceivePipeline", p.ReceivePipeline) })
	}
	step("ReceivePipelineData", func() { w.nilLeaf("ReceivePipelineData", p.ReceivePipelineData) })
	step("Tracking", func() { w.intLeaf("Tracking", p.Tracking) })
	step("Filter", func() { x.filter(p.Filter) })
	step("Transforms", func() { x.maps("Transforms", p.OutboundMaps) })
	if p.TwoWay || len(p.InboundMaps) > 0 {
		step("InboundTransforms", func() { x.maps("InboundTransforms", p.InboundMaps) })
	}
	step("OrderedDelivery", func() { w.boolLeaf("OrderedDelivery", p.OrderedDelivery) })
	step("Priority", func() { w.intLeaf("Priority", p.Priority) })
	step("StopSendingOnFailure", func() { w.boolLeaf("StopSendingOnFailure", p.StopSendingOnFailure) })
	step("RouteFailedMessage", func() { w.boolLeaf("RouteFailedMessage", p.RouteFailedMessage) })
	step("ApplicationName", func() { w.leaf("ApplicationName", p.Application) })
	c.rest()
	w.close("SendPort")
}

func (x *exporter) group(g *SendPortGroup) {
	w := x.w
	w.open("DistributionList", g.ExtraAttrs, "Name", g.Name)
	c := w.children(g.Extra)
	if len(g.SendPorts) == 0 {
		w.empty("SendPorts", nil)
	} else {
		w.open("SendPorts", nil)
		for _, n := range g.SendPorts {
			w.empty("SendPortRef", nil, "Name", n)
		}
		w.close("SendPorts")
	}
	c.after("SendPorts")
	x.filter(g.Filter)
	c.after("Filter")
	w.leaf("ApplicationName", g.Application)
	c.after("ApplicationName")
	w.nilLeaf("Description", g.Description)
	c.after("Description")
	c.rest()
	w.close("DistributionList")
}

func (x *exporter) receivePort(p *ReceivePort) {
	w := x.w
	w.open("ReceivePort", p.ExtraAttrs, "Name", p.Name, "IsTwoWay", strconv.FormatBool(p.TwoWay),
		"BindingOption", strconv.Itoa(p.BindingOption))
	c := w.children(p.Extra)
	w.nilLeaf("Description", p.Description)
	c.after("Description")
	if len(p.Locations) == 0 {
		w.empty("ReceiveLocations", nil)
	} else {
		w.open("ReceiveLocations", nil)
		for i := range p.Locations {
			x.location(&p.Locations[i])
		}
		w.close("ReceiveLocations")
	}
	c.after("ReceiveLocations")
	step := func(n string, write func()) {
		write()
		c.after(n)
	}
	step("SendPipelineData", func() { w.nilLeaf("SendPipelineData", p.SendPipelineData) })
	step("Authentication", func() { w.intLeaf("Authentication", p.Authentication) })
	step("Tracking", func() { w.intLeaf("Tracking", p.Tracking) })
	step("Transforms", func() { x.maps("Transforms", p.InboundMaps) })
	if p.TwoWay || len(p.OutboundMaps) > 0 {
		step("OutboundTransforms", func() { x.maps("OutboundTransforms", p.OutboundMaps) })
	}
	step("RouteFailedMessage", func() { w.boolLeaf("RouteFailedMessage", p.RouteFailedMessage) })
	step("ApplicationName", func() { w.leaf("ApplicationName", p.Application) })
	c.rest()
	w.close("ReceivePort")
}

func (x *exporter) location(l *ReceiveLocation) {
	w := x.w
	w.open("ReceiveLocation", l.ExtraAttrs, "Name", l.Name)
	c := w.children(l.Extra)
	step := func(n string, write func()) {
		write()
		c.after(n)
	}
	step("Description", func() { w.nilLeaf("Description", l.Description) })
	step("Address", func() { w.leaf("Address", l.Address) })
	step("PublicAddress", func() { w.leaf("PublicAddress", l.PublicAddress) })
	step("Primary", func() { w.boolLeaf("Primary", l.Primary) })
	step("ReceiveLocationServiceWindowEnabled", func() { w.boolLeaf("ReceiveLocationServiceWindowEnabled", l.ServiceWindow.Enabled) })
	step("ReceiveLocationFromTime", func() { w.leaf("ReceiveLocationFromTime", l.ServiceWindow.From) })
	step("ReceiveLocationToTime", func() { w.leaf("ReceiveLocationToTime", l.ServiceWindow.To) })
	step("ReceiveLocationStartDateEnabled", func() { w.boolLeaf("ReceiveLocationStartDateEnabled", l.StartDate.Enabled) })
	step("ReceiveLocationStartDate", func() { w.leaf("ReceiveLocationStartDate", l.StartDate.Date) })
	step("ReceiveLocationEndDateEnabled", func() { w.boolLeaf("ReceiveLocationEndDateEnabled", l.EndDate.Enabled) })
	step("ReceiveLocationEndDate", func() { w.leaf("ReceiveLocationEndDate", l.EndDate.Date) })
	step("ReceiveLocationTransportType", func() { x.transportType("ReceiveLocationTransportType", l.Adapter) })
	step("ReceiveLocationTransportTypeData", func() { w.leaf("ReceiveLocationTransportTypeData", l.TransportData) })
	step("ReceivePipeline", func() { x.pipeline("ReceivePipeline", l.ReceivePipeline) })
	step("ReceivePipelineData", func() { w.nilLeaf("ReceivePipelineData", l.ReceivePipelineData) })
	step("SendPipeline", func() { x.pipeline("SendPipeline", l.SendPipeline) })
	step("SendPipelineData", func() { w.nilLeaf("SendPipelineData", l.SendPipelineData) })
	step("Enable", func() { w.boolLeaf("Enable", l.Enabled) })
	step("ReceiveHandler", func() { x.handler("ReceiveHandler", l.Handler, l.Adapter) })
	c.rest()
	w.close("ReceiveLocation")
}
