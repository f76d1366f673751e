package mgmt

import (
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
)

// Stored values. Each starts with a format-version byte (codec); the
// schemas below are version 2 (version 1 subscriptions had no Delivery).
// Decoders must keep accepting every version ever written.
const valueVersion = 2

// Keys: the table byte, then the artifact's name; host instances add the
// server; owned subscriptions are keyed by owner kind, owner name and ID.

func artifactKey(t keys.Table, name string) []byte {
	return keys.AppendString(keys.AppendTable(nil, t), name)
}

func instanceKey(host, server string) []byte {
	return keys.AppendString(artifactKey(keys.TableMgmtHostInstances, host), server)
}

func subsPrefix(owner Ref) []byte {
	k := keys.AppendTable(nil, keys.TableMgmtSubscriptions)
	k = keys.AppendUint64(k, uint64(owner.Kind))
	return keys.AppendString(k, owner.Name)
}

type enc struct{ codec.Encoder }

func newEnc() *enc {
	e := &enc{}
	e.Version(valueVersion)
	return e
}

func (e *enc) strs(ss []string) {
	e.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

func (e *enc) attrs(as []Attr) {
	e.Uvarint(uint64(len(as)))
	for _, a := range as {
		e.String(a.Name)
		e.String(a.Value)
	}
}

func (e *enc) raws(rs []Raw) {
	e.Uvarint(uint64(len(rs)))
	for _, r := range rs {
		e.String(r.After)
		e.String(r.XML)
	}
}

func (e *enc) filter(f Filter) {
	e.Uvarint(uint64(len(f)))
	for _, g := range f {
		e.Uvarint(uint64(len(g)))
		for _, s := range g {
			// Values are kept as text, as binding files hold them: a typed
			// value is stored as its literal (the MessageBox types it again).
			e.String(s.Property)
			e.Uvarint(uint64(s.Op))
			e.String(s.Value.Literal())
		}
	}
}

func (e *enc) pipeline(p Pipeline) {
	e.String(p.Name)
	e.String(p.FullyQualifiedName)
	e.Varint(int64(p.Type))
	e.String(p.TrackingOption)
	e.String(p.Description)
	e.attrs(p.ExtraAttrs)
}

func (e *enc) maps(ms []Map) {
	e.Uvarint(uint64(len(ms)))
	for _, m := range ms {
		e.String(m.FullName)
		e.String(m.AssemblyQualifiedName)
	}
}

func (e *enc) window(w ServiceWindow) {
	e.Bool(w.Enabled)
	e.String(w.From)
	e.String(w.To)
}

func (e *enc) transport(t *Transport) {
	e.Bool(t != nil)
	if t == nil {
		return
	}
	e.String(t.Address)
	e.String(t.Adapter)
	e.String(t.TransportData)
	e.Varint(int64(t.RetryCount))
	e.Varint(int64(t.RetryInterval))
	e.window(t.ServiceWindow)
	e.Bool(t.OrderedDelivery)
	e.Varint(int64(t.DeliveryNotification))
	e.String(t.Handler)
	e.raws(t.Extra)
}

type dec struct {
	codec.Decoder
	// err records a count that cannot be right; codec's own errors stay
	// in the Decoder.
	err error
	// version is the value's format version.
	version uint8
}

// count reads a slice length. Every element takes at least one byte, so a
// count above the bytes left is corruption, caught before it becomes a
// huge allocation.
func (d *dec) count() int {
	n := d.Uvarint()
	if n > uint64(d.Remaining()) {
		if d.err == nil {
			d.err = fmt.Errorf("%w: count %d with %d bytes left", codec.ErrCorrupt, n, d.Remaining())
		}
		return 0
	}
	return int(n)
}

func (d *dec) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, 0, codec.Prealloc(uint64(n)))
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, d.Text())
	}
	return out
}

func (d *dec) attrs() []Attr {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]Attr, 0, codec.Prealloc(uint64(n)))
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, Attr{Name: d.Text(), Value: d.Text()})
	}
	return out
}

func (d *dec) raws() []Raw {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]Raw, 0, codec.Prealloc(uint64(n)))
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, Raw{After: d.Text(), XML: d.Text()})
	}
	return out
}

func (d *dec) filter() Filter {
	n := d.count()
	if n == 0 {
		return nil
	}
	f := make(Filter, 0, codec.Prealloc(uint64(n)))
	for i := 0; i < n && d.Err() == nil; i++ {
		m := d.count()
		g := make(Group, 0, codec.Prealloc(uint64(m)))
		for j := 0; j < m && d.Err() == nil; j++ {
			st := Statement{Property: d.Text(), Op: Operator(d.Uvarint())}
			if v := d.Text(); st.Op != OpExists || v != "" {
				st.Value = Text(v)
			}
			g = append(g, st)
		}
		f = append(f, g)
	}
	return f
}

func (d *dec) pipeline() Pipeline {
	return Pipeline{
		Name:               d.Text(),
		FullyQualifiedName: d.Text(),
		Type:               int(d.Varint()),
		TrackingOption:     d.Text(),
		Description:        d.Text(),
		ExtraAttrs:         d.attrs(),
	}
}

func (d *dec) maps() []Map {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]Map, 0, codec.Prealloc(uint64(n)))
	for i := 0; i < n && d.Err() == nil; i++ {
		out = append(out, Map{FullName: d.Text(), AssemblyQualifiedName: d.Text()})
	}
	return out
}

func (d *dec) window() ServiceWindow {
	return ServiceWindow{Enabled: d.Bool(), From: d.Text(), To: d.Text()}
}

func (d *dec) transport() *Transport {
	if !d.Bool() {
		return nil
	}
	return &Transport{
		Address:              d.Text(),
		Adapter:              d.Text(),
		TransportData:        d.Text(),
		RetryCount:           int(d.Varint()),
		RetryInterval:        int(d.Varint()),
		ServiceWindow:        d.window(),
		OrderedDelivery:      d.Bool(),
		DeliveryNotification: int(d.Varint()),
		Handler:              d.Text(),
		Extra:                d.raws(),
	}
}

// decode runs fn over value v and wraps any failure as corruption of what.
func decode(v []byte, what string, fn func(d *dec)) error {
	d := &dec{}
	d.Reset(v)
	ver, err := d.ExpectVersion(valueVersion)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorruption, what, err)
	}
	d.version = ver
	fn(d)
	if d.err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorruption, what, d.err)
	}
	if err := d.Finish(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorruption, what, err)
	}
	return nil
}

func encodeApplication(a *Application) []byte {
	e := newEnc()
	e.String(a.Name)
	e.String(a.Description)
	e.strs(a.References)
	return e.Encoded()
}

func decodeApplication(v []byte) (*Application, error) {
	a := &Application{}
	return a, decode(v, "application", func(d *dec) {
		a.Name, a.Description, a.References = d.Text(), d.Text(), d.strs()
	})
}

func encodeHost(h *Host) []byte {
	e := newEnc()
	e.String(h.Name)
	e.Uvarint(uint64(h.Type))
	e.String(h.NTGroupName)
	e.Bool(h.Trusted)
	return e.Encoded()
}

func decodeHost(v []byte) (*Host, error) {
	h := &Host{}
	return h, decode(v, "host", func(d *dec) {
		h.Name, h.Type, h.NTGroupName, h.Trusted = d.Text(), HostType(d.Uvarint()), d.Text(), d.Bool()
	})
}

func encodeHostInstance(h *HostInstance) []byte {
	e := newEnc()
	e.String(h.Host)
	e.String(h.Server)
	e.Uvarint(uint64(h.State))
	return e.Encoded()
}

func decodeHostInstance(v []byte) (*HostInstance, error) {
	h := &HostInstance{}
	return h, decode(v, "host instance", func(d *dec) {
		h.Host, h.Server, h.State = d.Text(), d.Text(), HostInstanceState(d.Uvarint())
	})
}

func encodeAdapter(a *Adapter) []byte {
	e := newEnc()
	e.String(a.Name)
	e.Varint(a.Capabilities)
	e.String(a.ConfigurationClsid)
	return e.Encoded()
}

func decodeAdapter(v []byte) (*Adapter, error) {
	a := &Adapter{}
	return a, decode(v, "adapter", func(d *dec) {
		a.Name, a.Capabilities, a.ConfigurationClsid = d.Text(), d.Varint(), d.Text()
	})
}

func encodeAssembly(a *Assembly) []byte {
	e := newEnc()
	e.String(a.FullName)
	e.String(a.Name)
	e.String(a.Version)
	e.String(a.Culture)
	e.String(a.PublicKeyToken)
	e.String(a.Application)
	e.raws(a.Extra)
	e.attrs(a.ExtraAttrs)
	return e.Encoded()
}

func decodeAssembly(v []byte) (*Assembly, error) {
	a := &Assembly{}
	return a, decode(v, "assembly", func(d *dec) {
		a.FullName, a.Name, a.Version, a.Culture, a.PublicKeyToken, a.Application = d.Text(), d.Text(), d.Text(), d.Text(), d.Text(), d.Text()
		a.Extra, a.ExtraAttrs = d.raws(), d.attrs()
	})
}

func encodeSendPort(p *SendPort) []byte {
	e := newEnc()
	e.String(p.Name)
	e.String(p.Application)
	e.String(p.Description)
	e.Bool(p.Dynamic)
	e.Bool(p.TwoWay)
	e.Varint(int64(p.BindingOption))
	e.pipeline(p.SendPipeline)
	e.String(p.SendPipelineData)
	e.pipeline(p.ReceivePipeline)
	e.String(p.ReceivePipelineData)
	e.transport(p.Primary)
	e.transport(p.Backup)
	e.Varint(int64(p.Tracking))
	e.filter(p.Filter)
	e.maps(p.OutboundMaps)
	e.maps(p.InboundMaps)
	e.Bool(p.OrderedDelivery)
	e.Varint(int64(p.Priority))
	e.Bool(p.StopSendingOnFailure)
	e.Bool(p.RouteFailedMessage)
	e.Uvarint(uint64(p.State))
	e.attrs(p.ExtraAttrs)
	e.raws(p.Extra)
	return e.Encoded()
}

func decodeSendPort(v []byte) (*SendPort, error) {
	p := &SendPort{}
	return p, decode(v, "send port", func(d *dec) {
		p.Name, p.Application, p.Description = d.Text(), d.Text(), d.Text()
		p.Dynamic, p.TwoWay, p.BindingOption = d.Bool(), d.Bool(), int(d.Varint())
		p.SendPipeline, p.SendPipelineData = d.pipeline(), d.Text()
		p.ReceivePipeline, p.ReceivePipelineData = d.pipeline(), d.Text()
		p.Primary, p.Backup = d.transport(), d.transport()
		p.Tracking = int(d.Varint())
		p.Filter = d.filter()
		p.OutboundMaps, p.InboundMaps = d.maps(), d.maps()
		p.OrderedDelivery, p.Priority, p.StopSendingOnFailure, p.RouteFailedMessage = d.Bool(), int(d.Varint()), d.Bool(), d.Bool()
		p.State = PortState(d.Uvarint())
		p.ExtraAttrs, p.Extra = d.attrs(), d.raws()
	})
}

func encodeSendPortGroup(g *SendPortGroup) []byte {
	e := newEnc()
	e.String(g.Name)
	e.String(g.Application)
	e.String(g.Description)
	e.filter(g.Filter)
	e.strs(g.SendPorts)
	e.Uvarint(uint64(g.State))
	e.attrs(g.ExtraAttrs)
	e.raws(g.Extra)
	return e.Encoded()
}

func decodeSendPortGroup(v []byte) (*SendPortGroup, error) {
	g := &SendPortGroup{}
	return g, decode(v, "send port group", func(d *dec) {
		g.Name, g.Application, g.Description = d.Text(), d.Text(), d.Text()
		g.Filter, g.SendPorts, g.State = d.filter(), d.strs(), PortState(d.Uvarint())
		g.ExtraAttrs, g.Extra = d.attrs(), d.raws()
	})
}

func encodeReceivePort(p *ReceivePort) []byte {
	e := newEnc()
	e.String(p.Name)
	e.String(p.Application)
	e.String(p.Description)
	e.Bool(p.TwoWay)
	e.Varint(int64(p.BindingOption))
	e.String(p.SendPipelineData)
	e.Varint(int64(p.Authentication))
	e.Varint(int64(p.Tracking))
	e.maps(p.InboundMaps)
	e.maps(p.OutboundMaps)
	e.Bool(p.RouteFailedMessage)
	e.Uvarint(uint64(len(p.Locations)))
	for i := range p.Locations {
		l := &p.Locations[i]
		e.String(l.Name)
		e.String(l.Description)
		e.String(l.Address)
		e.String(l.PublicAddress)
		e.Bool(l.Primary)
		e.window(l.ServiceWindow)
		e.Bool(l.StartDate.Enabled)
		e.String(l.StartDate.Date)
		e.Bool(l.EndDate.Enabled)
		e.String(l.EndDate.Date)
		e.String(l.Adapter)
		e.String(l.TransportData)
		e.pipeline(l.ReceivePipeline)
		e.String(l.ReceivePipelineData)
		e.pipeline(l.SendPipeline)
		e.String(l.SendPipelineData)
		e.Bool(l.Enabled)
		e.String(l.Handler)
		e.attrs(l.ExtraAttrs)
		e.raws(l.Extra)
	}
	e.attrs(p.ExtraAttrs)
	e.raws(p.Extra)
	return e.Encoded()
}

func decodeReceivePort(v []byte) (*ReceivePort, error) {
	p := &ReceivePort{}
	return p, decode(v, "receive port", func(d *dec) {
		p.Name, p.Application, p.Description = d.Text(), d.Text(), d.Text()
		p.TwoWay, p.BindingOption, p.SendPipelineData = d.Bool(), int(d.Varint()), d.Text()
		p.Authentication, p.Tracking = int(d.Varint()), int(d.Varint())
		p.InboundMaps, p.OutboundMaps = d.maps(), d.maps()
		p.RouteFailedMessage = d.Bool()
		n := d.count()
		if n > 0 {
			p.Locations = make([]ReceiveLocation, 0, codec.Prealloc(uint64(n)))
		}
		for i := 0; i < n && d.Err() == nil; i++ {
			p.Locations = append(p.Locations, ReceiveLocation{})
			l := &p.Locations[len(p.Locations)-1]
			l.Name, l.Description, l.Address, l.PublicAddress = d.Text(), d.Text(), d.Text(), d.Text()
			l.Primary = d.Bool()
			l.ServiceWindow = d.window()
			l.StartDate = DateLimit{Enabled: d.Bool(), Date: d.Text()}
			l.EndDate = DateLimit{Enabled: d.Bool(), Date: d.Text()}
			l.Adapter, l.TransportData = d.Text(), d.Text()
			l.ReceivePipeline, l.ReceivePipelineData = d.pipeline(), d.Text()
			l.SendPipeline, l.SendPipelineData = d.pipeline(), d.Text()
			l.Enabled, l.Handler = d.Bool(), d.Text()
			l.ExtraAttrs, l.Extra = d.attrs(), d.raws()
		}
		p.ExtraAttrs, p.Extra = d.attrs(), d.raws()
	})
}

func encodeOrchestration(o *Orchestration) []byte {
	e := newEnc()
	e.String(o.Name)
	e.String(o.Assembly)
	e.String(o.Application)
	e.String(o.Description)
	e.String(o.Host)
	e.String(o.TrackingOption)
	e.Uvarint(uint64(len(o.Ports)))
	for _, p := range o.Ports {
		e.String(p.Name)
		e.Varint(int64(p.Modifier))
		e.Varint(int64(p.BindingOption))
		e.String(p.SendPort)
		e.String(p.SendPortGroup)
		e.String(p.ReceivePort)
	}
	e.filter(o.Activation)
	e.Uvarint(uint64(o.State))
	e.attrs(o.ExtraAttrs)
	e.raws(o.Extra)
	e.strs(o.ActivatingPorts)
	return e.Encoded()
}

func decodeOrchestration(v []byte) (*Orchestration, error) {
	o := &Orchestration{}
	return o, decode(v, "orchestration", func(d *dec) {
		o.Name, o.Assembly, o.Application, o.Description = d.Text(), d.Text(), d.Text(), d.Text()
		o.Host, o.TrackingOption = d.Text(), d.Text()
		n := d.count()
		if n > 0 {
			o.Ports = make([]PortBinding, 0, codec.Prealloc(uint64(n)))
		}
		for i := 0; i < n && d.Err() == nil; i++ {
			o.Ports = append(o.Ports, PortBinding{Name: d.Text(), Modifier: int(d.Varint()), BindingOption: int(d.Varint()),
				SendPort: d.Text(), SendPortGroup: d.Text(), ReceivePort: d.Text()})
		}
		o.Activation = d.filter()
		o.State = OrchestrationState(d.Uvarint())
		o.ExtraAttrs, o.Extra = d.attrs(), d.raws()
		if d.version >= 2 {
			o.ActivatingPorts = d.strs()
		}
	})
}

func encodeParty(p *Party) []byte {
	e := newEnc()
	e.String(p.Name)
	e.String(p.XML)
	return e.Encoded()
}

func decodeParty(v []byte) (*Party, error) {
	p := &Party{}
	return p, decode(v, "party", func(d *dec) {
		p.Name, p.XML = d.Text(), d.Text()
	})
}

func encodeSubscription(s *Subscription) []byte {
	e := newEnc()
	e.UUID(s.ID)
	e.String(s.Name)
	e.Uvarint(uint64(s.Owner.Kind))
	e.String(s.Owner.Name)
	e.Uvarint(uint64(s.Target.Kind))
	e.String(s.Target.Name)
	e.String(s.Host)
	e.Varint(int64(s.Priority))
	e.Bool(s.Active)
	e.filter(s.Filter)
	e.Bool(s.Delivery != nil)
	if dl := s.Delivery; dl != nil {
		e.Varint(int64(dl.RetryCount))
		e.Varint(int64(dl.RetryInterval))
		e.String(dl.BackupHost)
		e.Varint(int64(dl.BackupRetryCount))
		e.Varint(int64(dl.BackupRetryInterval))
		e.Bool(dl.Ordered)
		e.Bool(dl.StopOnFailure)
		e.Bool(dl.Window != nil)
		if dl.Window != nil {
			e.Varint(int64(dl.Window.Start))
			e.Varint(int64(dl.Window.Stop))
		}
	}
	e.String(s.Service)
	return e.Encoded()
}

func decodeSubscription(v []byte) (*Subscription, error) {
	s := &Subscription{}
	return s, decode(v, "subscription", func(d *dec) {
		s.ID, s.Name = d.UUID(), d.Text()
		s.Owner = Ref{Kind(d.Uvarint()), d.Text()}
		s.Target = Ref{Kind(d.Uvarint()), d.Text()}
		s.Host, s.Priority, s.Active = d.Text(), int(d.Varint()), d.Bool()
		s.Filter = d.filter()
		if d.version >= 2 && d.Bool() {
			dl := &Delivery{RetryCount: int(d.Varint()), RetryInterval: time.Duration(d.Varint()), BackupHost: d.Text(),
				BackupRetryCount: int(d.Varint()), BackupRetryInterval: time.Duration(d.Varint()),
				Ordered: d.Bool(), StopOnFailure: d.Bool()}
			if d.Bool() {
				dl.Window = &Window{Start: time.Duration(d.Varint()), Stop: time.Duration(d.Varint())}
			}
			s.Delivery = dl
		}
		if d.version >= 2 {
			s.Service = d.Text()
		}
	})
}
