package mgmt

import (
	"fmt"
	"slices"
	"strconv"
)

// Kind names a kind of artifact.
type Kind uint8

// Artifact kinds. Their numbers are stored (in subscription owner keys) and
// never change.
const (
	KindApplication     Kind = 1
	KindHost            Kind = 2
	KindHostInstance    Kind = 3
	KindAdapter         Kind = 4
	KindAssembly        Kind = 5
	KindReceivePort     Kind = 6
	KindReceiveLocation Kind = 7
	KindSendPort        Kind = 8
	KindSendPortGroup   Kind = 9
	KindOrchestration   Kind = 10
	KindParty           Kind = 11
)

var kindNames = [...]string{
	KindApplication:     "Application",
	KindHost:            "Host",
	KindHostInstance:    "HostInstance",
	KindAdapter:         "Adapter",
	KindAssembly:        "Assembly",
	KindReceivePort:     "ReceivePort",
	KindReceiveLocation: "ReceiveLocation",
	KindSendPort:        "SendPort",
	KindSendPortGroup:   "SendPortGroup",
	KindOrchestration:   "Orchestration",
	KindParty:           "Party",
}

// String returns the kind's name, such as "SendPort".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Ref names one artifact. Names are unique per kind in the group, as
// BizTalk requires for ports, groups and locations; a host instance's name
// is "host/server".
type Ref struct {
	Kind Kind
	Name string
}

// String renders the ref as "Kind:Name".
func (r Ref) String() string { return r.Kind.String() + ":" + r.Name }

// Application groups artifacts. An application may use artifacts of the
// applications it references.
type Application struct {
	Name        string
	Description string
	// References names the applications this one references.
	References []string
}

// HostType is a host's type, with BizTalk's WMI numbers.
type HostType uint8

const (
	// HostInProcess hosts orchestrations, send handlers and most receive
	// handlers.
	HostInProcess HostType = 1
	// HostIsolated hosts receive handlers that run in another process
	// (HTTP, SOAP in IIS).
	HostIsolated HostType = 2
)

// Host is a logical container for handlers and orchestrations.
type Host struct {
	Name        string
	Type        HostType
	NTGroupName string
	Trusted     bool
}

// HostInstanceState is a host instance's service state, with BizTalk's WMI
// numbers for the two stable states.
type HostInstanceState uint8

const (
	// HostInstanceStopped is the state of a new host instance.
	HostInstanceStopped HostInstanceState = 1
	// HostInstanceRunning is a started host instance.
	HostInstanceRunning HostInstanceState = 4
)

// String returns "Stopped" or "Running".
func (s HostInstanceState) String() string {
	switch s {
	case HostInstanceStopped:
		return "Stopped"
	case HostInstanceRunning:
		return "Running"
	}
	return "HostInstanceState(" + strconv.Itoa(int(s)) + ")"
}

// HostInstance is a host running on one server. There is at most one
// instance of a host per server.
type HostInstance struct {
	Host   string
	Server string
	State  HostInstanceState
}

// Name is the instance's Ref name, "host/server".
func (h *HostInstance) Name() string { return h.Host + "/" + h.Server }

// Adapter is a transport type, as binding files name it in <TransportType>.
type Adapter struct {
	Name               string
	Capabilities       int64
	ConfigurationClsid string
}

// Assembly is a deployed assembly: a binding file's <ModuleRef>. The
// pseudo-assembly "[Application:Name]" holds an application's own tracked
// schemas.
type Assembly struct {
	FullName       string
	Name           string
	Version        string
	Culture        string
	PublicKeyToken string
	Application    string
	// Extra holds the module reference's other elements, such as
	// <TrackedSchemas>, as they were imported.
	Extra []Raw
	// ExtraAttrs holds attributes mgmt does not interpret.
	ExtraAttrs []Attr
}

// Pipeline names a pipeline. The zero Pipeline means none.
type Pipeline struct {
	Name               string
	FullyQualifiedName string
	// Type is 1 for a receive pipeline, 2 for a send pipeline.
	Type           int
	TrackingOption string
	Description    string
	ExtraAttrs     []Attr
}

// IsZero reports whether p names no pipeline.
func (p *Pipeline) IsZero() bool {
	return p.Name == "" && p.FullyQualifiedName == "" && p.Type == 0 && p.TrackingOption == "" &&
		p.Description == "" && len(p.ExtraAttrs) == 0
}

// Map names a map (a binding file's <Transform>).
type Map struct {
	FullName              string
	AssemblyQualifiedName string
}

// ServiceWindow is a daily window outside which a port does not run. From
// and To are xs:dateTime text as binding files carry it; only the time of
// day matters.
type ServiceWindow struct {
	Enabled bool
	From    string
	To      string
}

// Transport is a send port's primary or backup transport.
type Transport struct {
	Address string
	// Adapter names the transport type; empty for a backup transport that
	// is not configured.
	Adapter string
	// TransportData is the adapter's configuration (<TransportTypeData>),
	// kept as opaque text.
	TransportData string
	// RetryCount defaults to 3 and RetryInterval (minutes) to 5 in BizTalk.
	RetryCount           int
	RetryInterval        int
	ServiceWindow        ServiceWindow
	OrderedDelivery      bool
	DeliveryNotification int
	// Handler is the host whose send handler runs the transport.
	Handler string
	Extra   []Raw
}

// PortState is the state of a send port or send port group.
type PortState uint8

const (
	// PortBound is neither enlisted nor started: no subscriptions.
	PortBound PortState = 1
	// PortStopped is enlisted but stopped: subscriptions exist but matching
	// messages are suspended (resumable) until the port starts.
	PortStopped PortState = 2
	// PortStarted is enlisted and started.
	PortStarted PortState = 3
)

// String returns "Bound", "Stopped" or "Started".
func (s PortState) String() string {
	switch s {
	case PortBound:
		return "Bound"
	case PortStopped:
		return "Stopped"
	case PortStarted:
		return "Started"
	}
	return "PortState(" + strconv.Itoa(int(s)) + ")"
}

// Enlisted reports whether the port has subscriptions.
func (s PortState) Enlisted() bool { return s == PortStopped || s == PortStarted }

// SendPort is a static or dynamic, one-way or solicit-response send port.
type SendPort struct {
	Name        string
	Application string
	Description string
	// Dynamic ports take their address from the message; they have no
	// transports.
	Dynamic       bool
	TwoWay        bool
	BindingOption int
	// SendPipeline is the binding file's <TransmitPipeline>.
	SendPipeline        Pipeline
	SendPipelineData    string
	ReceivePipeline     Pipeline
	ReceivePipelineData string
	// Primary is required for a static port. Backup is the secondary
	// transport; nil or with no Adapter when not configured.
	Primary  *Transport
	Backup   *Transport
	Tracking int
	Filter   Filter
	// OutboundMaps are applied to sent messages (<Transforms>), InboundMaps
	// to responses of a two-way port (<InboundTransforms>).
	OutboundMaps         []Map
	InboundMaps          []Map
	OrderedDelivery      bool
	Priority             int
	StopSendingOnFailure bool
	RouteFailedMessage   bool
	// State is set by the state transitions; Put and Import keep the stored
	// one.
	State      PortState
	ExtraAttrs []Attr
	Extra      []Raw
}

// SendPortGroup delivers a copy of each message it matches to every member.
type SendPortGroup struct {
	Name        string
	Application string
	Description string
	Filter      Filter
	// SendPorts names the members.
	SendPorts  []string
	State      PortState
	ExtraAttrs []Attr
	Extra      []Raw
}

// ReceivePort is a one-way or request-response receive port with its
// locations.
type ReceivePort struct {
	Name             string
	Application      string
	Description      string
	TwoWay           bool
	BindingOption    int
	SendPipelineData string
	Authentication   int
	Tracking         int
	// InboundMaps are applied to received messages (<Transforms>),
	// OutboundMaps to responses (<OutboundTransforms>).
	InboundMaps        []Map
	OutboundMaps       []Map
	RouteFailedMessage bool
	Locations          []ReceiveLocation
	ExtraAttrs         []Attr
	Extra              []Raw
}

// DateLimit is an optional start or end date of a receive location.
type DateLimit struct {
	Enabled bool
	Date    string
}

// ReceiveLocation is an address a receive port listens on.
type ReceiveLocation struct {
	Name                string
	Description         string
	Address             string
	PublicAddress       string
	Primary             bool
	ServiceWindow       ServiceWindow
	StartDate           DateLimit
	EndDate             DateLimit
	Adapter             string
	TransportData       string
	ReceivePipeline     Pipeline
	ReceivePipelineData string
	SendPipeline        Pipeline
	SendPipelineData    string
	// Enabled is the location's state (BizTalk creates locations disabled).
	Enabled bool
	// Handler is the host whose receive handler runs the location.
	Handler    string
	ExtraAttrs []Attr
	Extra      []Raw
}

// OrchestrationState is an orchestration's state.
type OrchestrationState uint8

const (
	// OrchestrationUnenlisted has no subscriptions.
	OrchestrationUnenlisted OrchestrationState = 1
	// OrchestrationEnlisted (stopped) has subscriptions, but activating
	// messages are suspended until it starts.
	OrchestrationEnlisted OrchestrationState = 2
	// OrchestrationStarted has active subscriptions.
	OrchestrationStarted OrchestrationState = 3
)

// String returns the state as binding files write it.
func (s OrchestrationState) String() string {
	switch s {
	case OrchestrationUnenlisted:
		return "Unenlisted"
	case OrchestrationEnlisted:
		return "Enlisted"
	case OrchestrationStarted:
		return "Started"
	}
	return "OrchestrationState(" + strconv.Itoa(int(s)) + ")"
}

// Enlisted reports whether the orchestration has subscriptions.
func (s OrchestrationState) Enlisted() bool {
	return s == OrchestrationEnlisted || s == OrchestrationStarted
}

// Port binding options that do not need a physical port.
const (
	// BindingDirect is a port bound directly to the MessageBox.
	BindingDirect = 2
)

// PortBinding binds one logical port of an orchestration. At most one of
// SendPort, SendPortGroup and ReceivePort is set.
type PortBinding struct {
	Name string
	// Modifier is 1 for a port the orchestration sends through (uses) and
	// 2 for one it receives on (implements).
	Modifier      int
	BindingOption int
	SendPort      string
	SendPortGroup string
	ReceivePort   string
}

// Bound reports whether the logical port is bound to something.
func (b *PortBinding) Bound() bool {
	return b.SendPort != "" || b.SendPortGroup != "" || b.ReceivePort != "" || b.BindingOption == BindingDirect
}

// Orchestration is an orchestration service and its bindings.
type Orchestration struct {
	// Name is the orchestration's full type name.
	Name string
	// Assembly is the FullName of the assembly that holds it.
	Assembly       string
	Application    string
	Description    string
	Host           string
	TrackingOption string
	Ports          []PortBinding
	// Activation is the filter of the orchestration's activating receive.
	// Binding files do not carry it (it is compiled into the
	// orchestration); Import keeps the stored one. Enlisting subscribes to
	// it, ANDed with BTS.ReceivePortName for each bound receive port.
	Activation Filter
	// ActivatingPorts names the logical receive ports whose receive shape
	// activates the orchestration (Activate=true). Like Activation it is
	// compiled into the orchestration, not written in binding files, and
	// Import keeps the stored one. A port bound to a receive port but not
	// listed is a correlated receive: enlisting makes no activation
	// subscription for it (its messages reach running instances through
	// their correlation sets). Empty means every bound receive port
	// activates.
	ActivatingPorts []string
	State           OrchestrationState
	ExtraAttrs      []Attr
	Extra           []Raw
}

// Party is a trading partner. Parties belong to the group, not to an
// application; mgmt keeps a party's name and its binding-file element as it
// was imported.
type Party struct {
	Name string
	// XML is the party's <Party> element.
	XML string
}

// Raw is an element mgmt does not interpret, kept so that Export writes it
// back. After names the known sibling it followed ("" for the first
// position), so Export puts it back in place.
type Raw struct {
	After string
	XML   string
}

// Attr is an attribute mgmt does not interpret. Name keeps its prefix, as
// in "xsi:type".
type Attr struct {
	Name  string
	Value string
}

// clone helpers: stored artifacts are immutable, so every change works on a
// copy.

func (a *Application) clone() *Application {
	c := *a
	c.References = slices.Clone(a.References)
	return &c
}

func (p *SendPort) clone() *SendPort {
	c := *p
	if p.Primary != nil {
		t := *p.Primary
		c.Primary = &t
	}
	if p.Backup != nil {
		t := *p.Backup
		c.Backup = &t
	}
	c.Filter = p.Filter.Clone()
	return &c
}

func (g *SendPortGroup) clone() *SendPortGroup {
	c := *g
	c.SendPorts = slices.Clone(g.SendPorts)
	c.Filter = g.Filter.Clone()
	return &c
}

func (p *ReceivePort) clone() *ReceivePort {
	c := *p
	c.Locations = slices.Clone(p.Locations)
	return &c
}

func (o *Orchestration) clone() *Orchestration {
	c := *o
	c.Ports = slices.Clone(o.Ports)
	c.Activation = o.Activation.Clone()
	c.ActivatingPorts = slices.Clone(o.ActivatingPorts)
	return &c
}

// location returns the index of the named location in p, or -1.
func (p *ReceivePort) location(name string) int {
	return slices.IndexFunc(p.Locations, func(l ReceiveLocation) bool { return l.Name == name })
}

func validName(kind Kind, name string) error {
	if name == "" {
		return fmt.Errorf("%w: %s with an empty name", ErrInvalid, kind)
	}
	return nil
}
