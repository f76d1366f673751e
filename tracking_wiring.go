package biztier

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/tracking"
	"github.com/google/uuid"
)

// messageBoxTracker records the MessageBox's events in the tracking
// database, in the MessageBox's own transaction: it is the
// messagebox.Tracker the Group gives the MessageBox when tracking is open.
//
// The MessageBox reports messages and host-queue entries, not service
// instances. Each entry (one message delivered to one subscription) is
// tracked as a messaging service instance of its own, whose ID is derived
// from the entry ID (see entryInstance): delivered starts it, completed
// completes it, suspended, resumed and terminated move it, retries and
// backup-transport moves are failures on it. Publishing and routing belong
// to no instance.
type messageBoxTracker struct {
	s       *tracking.Store
	targets *subscriptionTargets
}

var _ messagebox.Tracker = messageBoxTracker{}

// newMessageBoxTracker returns the Tracker to put in the MessageBox's
// options so that its operations are tracked by s.
func newMessageBoxTracker(s *tracking.Store, targets *subscriptionTargets) messagebox.Tracker {
	return messageBoxTracker{s: s, targets: targets}
}

// Track implements messagebox.Tracker.
func (t messageBoxTracker) Track(tx messagebox.Tx, events []messagebox.Event) error {
	return t.s.Record(tx, trackingEvents(make([]tracking.Event, 0, 2*len(events)), events, wants(t.s.Profile()), t.targets))
}

// subscriptionTargets maps the IDs of subscriptions Management made to the
// send port or orchestration they deliver to, so that tracking names the
// service and port of every delivery ("what did send port X send"). The
// MessageBox knows only subscription IDs. Safe for concurrent use.
type subscriptionTargets struct {
	// mu guards m. Entries are never removed: events of a subscription
	// that is gone still name its port.
	mu sync.RWMutex
	m  map[uuid.UUID]mgmt.Ref
}

func (s *subscriptionTargets) set(id uuid.UUID, target mgmt.Ref) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[uuid.UUID]mgmt.Ref)
	}
	s.m[id] = target
}

func (s *subscriptionTargets) get(id uuid.UUID) (mgmt.Ref, bool) {
	if s == nil {
		return mgmt.Ref{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.m[id]
	return r, ok
}

// Context properties the receive side promotes, which tracking reads for
// the port, adapter and address of a published message.
var (
	propReceivePortName = messagebox.CanonicalName("BTS.ReceivePortName")
	propInboundType     = messagebox.CanonicalName("BTS.InboundTransportType")
	propInboundLocation = messagebox.CanonicalName("BTS.InboundTransportLocation")
)

// receiveSide fills a published message's port, adapter and address from
// its context.
func receiveSide(ev *tracking.Event, m *messagebox.Message) {
	if m == nil {
		return
	}
	for _, p := range m.Context {
		switch p.Name {
		case propReceivePortName:
			ev.Port = p.Value.Str()
		case propInboundType:
			ev.Adapter = p.Value.Str()
		case propInboundLocation:
			ev.URL = p.Value.Str()
		}
	}
}

// wanted says which costly parts of a published message the profile can
// keep anywhere, so they are built only then.
type wanted struct{ properties, bodies bool }

func wants(p *tracking.Profile) wanted {
	var w wanted
	add := func(s tracking.Settings) {
		w.properties = w.properties || len(s.Properties) > 0
		w.bodies = w.bodies || s.Bodies
	}
	add(p.Default)
	for _, s := range p.Subscriptions {
		add(s)
	}
	for _, s := range p.Ports {
		add(s)
	}
	for _, s := range p.Orchestrations {
		add(s)
	}
	return w
}

// publishedDetail fills a published message's size and, if the profile can
// keep them, its promoted properties and its body and context. Part data
// is shared with the message, which outlives Record.
func publishedDetail(ev *tracking.Event, m *messagebox.Message, w wanted) {
	if m == nil {
		return
	}
	for _, p := range m.Parts {
		ev.Size += int64(len(p.Body))
	}
	if w.properties {
		for _, p := range m.Context {
			if p.Promoted {
				ev.Properties = append(ev.Properties, tracking.Property{Name: p.Name, Value: valueText(p.Value)})
			}
		}
	}
	if w.bodies {
		b := &tracking.Body{}
		for _, p := range m.Context {
			b.Context = append(b.Context, tracking.Property{Name: p.Name, Value: valueText(p.Value)})
		}
		if bp := m.BodyPart(); bp != nil {
			b.Parts = append(b.Parts, tracking.Part{Name: bp.Name, ContentType: bp.ContentType, Data: bp.Body})
		}
		for i := range m.Parts {
			if p := &m.Parts[i]; p != m.BodyPart() {
				b.Parts = append(b.Parts, tracking.Part{Name: p.Name, ContentType: p.ContentType, Data: p.Body})
			}
		}
		ev.Body = b
	}
}

// valueText renders a context value as tracking keeps it: as text.
func valueText(v messagebox.Value) string {
	switch v.Type() {
	case messagebox.TypeInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case messagebox.TypeFloat64:
		return strconv.FormatFloat(v.Float64(), 'g', -1, 64)
	case messagebox.TypeBool:
		return strconv.FormatBool(v.Bool())
	case messagebox.TypeTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	case messagebox.TypeBytes:
		return hex.EncodeToString(v.Bytes())
	}
	return v.Str()
}

// entryNamespace starts the IDs of the instances that stand for host-queue
// entries. Its seventh byte is 0, so such an ID has version 0 and cannot
// collide with a random (version 4 or 7) UUID.
var entryNamespace = [8]byte{'b', 'z', 't', 'e', 'n', 't', 0, 0}

// entryInstance is the tracking instance ID of a host-queue entry.
func entryInstance(e messagebox.EntryID) uuid.UUID {
	var id uuid.UUID
	copy(id[:8], entryNamespace[:])
	binary.BigEndian.PutUint64(id[8:], uint64(e))
	return id
}

// trackingEvents appends to dst the tracking events of events. A delivery
// to a subscription Management made is the messaging instance of its send
// port (or the orchestration's), named as its service and port.
func trackingEvents(dst []tracking.Event, events []messagebox.Event, w wanted, targets *subscriptionTargets) []tracking.Event {
	for _, e := range events {
		if e.Instance != uuid.Nil {
			dst = orchestrationEvents(dst, e, w, targets)
			continue
		}
		inst := entryInstance(e.Entry)
		service, port, stype := "", "", tracking.ServiceMessaging
		if ref, ok := targets.get(e.Subscription); ok {
			service = ref.Name
			switch ref.Kind {
			case mgmt.KindSendPort:
				port, stype = ref.Name, tracking.ServiceSendPort
			case mgmt.KindOrchestration:
				stype = tracking.ServiceOrchestration
			}
		}
		o := eventOf{e: &e, inst: inst, service: service, port: port, stype: stype}
		base := o.message(0, tracking.DirectionNone)
		base.InstanceID = uuid.Nil
		lifecycle, message := o.lifecycle, o.message
		switch e.Kind {
		case messagebox.EventPublished:
			ev := base
			ev.Kind, ev.Direction, ev.ServiceType = tracking.MessageSent, tracking.DirectionOut, tracking.ServiceUnknown
			receiveSide(&ev, e.Message)
			publishedDetail(&ev, e.Message, w)
			dst = append(dst, ev)
		case messagebox.EventRouted:
			ev := base
			ev.Kind = tracking.MessageRouted
			dst = append(dst, ev)
		case messagebox.EventRoutingFailure:
			// BizTalk keeps a suspended routing failure report.
			dst = append(dst, lifecycle(tracking.InstanceStarted), lifecycle(tracking.InstanceSuspended),
				message(tracking.MessageFailed, tracking.DirectionNone))
		case messagebox.EventDelivered:
			dst = append(dst, lifecycle(tracking.InstanceStarted), message(tracking.MessageReceived, tracking.DirectionIn))
		case messagebox.EventCompleted:
			dst = append(dst, lifecycle(tracking.InstanceCompleted))
		case messagebox.EventRetry, messagebox.EventBackup:
			dst = append(dst, message(tracking.MessageFailed, tracking.DirectionNone))
		case messagebox.EventSuspended:
			dst = append(dst, lifecycle(tracking.InstanceSuspended))
		case messagebox.EventResumed:
			dst = append(dst, lifecycle(tracking.InstanceResumed))
		case messagebox.EventTerminated:
			dst = append(dst, lifecycle(tracking.InstanceTerminated))
		}
	}
	return dst
}

// orchestrationEvents appends the tracking events of a MessageBox event of
// a service instance (an orchestration): the instance is the service
// instance itself, not one instance per queue entry, so that a message
// flow walks from the message that activated it, through it, to the
// messages it published. Its activation starts it; later deliveries (its
// correlated receives) find it running; its end completes it.
func orchestrationEvents(dst []tracking.Event, e messagebox.Event, w wanted, targets *subscriptionTargets) []tracking.Event {
	service := ""
	activation := false
	if ref, ok := targets.get(e.Subscription); ok && ref.Kind == mgmt.KindOrchestration {
		service, activation = ref.Name, true
	}
	o := eventOf{e: &e, inst: e.Instance, service: service, stype: tracking.ServiceOrchestration}
	lifecycle, message := o.lifecycle, o.message
	switch e.Kind {
	case messagebox.EventDelivered:
		k := tracking.InstanceRehydrated
		if activation {
			k = tracking.InstanceStarted
		}
		dst = append(dst, lifecycle(k), message(tracking.MessageReceived, tracking.DirectionIn))
	case messagebox.EventPublished:
		ev := message(tracking.MessageSent, tracking.DirectionOut)
		receiveSide(&ev, e.Message)
		publishedDetail(&ev, e.Message, w)
		dst = append(dst, ev)
	case messagebox.EventInstanceEnded:
		dst = append(dst, lifecycle(tracking.InstanceCompleted))
	case messagebox.EventRetry, messagebox.EventBackup:
		dst = append(dst, message(tracking.MessageFailed, tracking.DirectionNone))
	case messagebox.EventSuspended:
		dst = append(dst, lifecycle(tracking.InstanceSuspended))
	case messagebox.EventResumed:
		dst = append(dst, lifecycle(tracking.InstanceResumed))
	case messagebox.EventTerminated:
		dst = append(dst, lifecycle(tracking.InstanceTerminated))
	}
	// EventCompleted of a consumed entry, and EventRouted, leave the
	// instance as it is: a persistence point consumed a message.
	return dst
}

// eventOf builds the tracking events of one MessageBox event for the
// instance inst.
type eventOf struct {
	e             *messagebox.Event
	inst          uuid.UUID
	service, port string
	stype         tracking.ServiceType
}

func (o eventOf) lifecycle(k tracking.EventKind) tracking.Event {
	return tracking.Event{Kind: k, At: o.e.At, InstanceID: o.inst, ServiceType: o.stype, Service: o.service,
		Subscription: o.e.Subscription, Host: o.e.Host, Error: o.e.Reason}
}

func (o eventOf) message(k tracking.EventKind, d tracking.Direction) tracking.Event {
	return tracking.Event{Kind: k, At: o.e.At, InstanceID: o.inst, MessageID: o.e.MessageID, Direction: d,
		Service: o.service, ServiceType: o.stype, Port: o.port, Subscription: o.e.Subscription, Host: o.e.Host, Error: o.e.Reason}
}
