package tracking

import (
	"encoding/binary"
	"time"

	"github.com/biztier/biztier/internal/event"
	"github.com/google/uuid"
)

// This file turns the MessageBox's events (package internal/event, the
// records it stages in its commits) into tracking events.
//
// The MessageBox reports messages and host-queue entries. An entry (one
// message delivered to one subscription) outside any service instance is
// tracked as a messaging service instance of its own, whose ID is derived
// from the entry ID (see EntryInstanceID): delivered starts it, completed
// completes it, suspended, resumed and terminated move it, retries and
// backup-transport moves are failures on it. The entry of a send port's
// subscription is that port's instance. Publishing and routing belong to
// no instance. Events of a service instance (an orchestration) belong to
// the service instance itself.

// Wants reports what of a published message the current profile keeps
// anywhere: its promoted properties, and its body and context. The
// MessageBox asks it so it records them only then.
func (s *Store) Wants() (properties, bodies bool) {
	p := s.profile.Load()
	add := func(st Settings) {
		properties = properties || len(st.Properties) > 0
		bodies = bodies || st.Bodies
	}
	add(p.Default)
	for _, st := range p.Subscriptions {
		add(st)
	}
	for _, st := range p.Ports {
		add(st)
	}
	for _, st := range p.Orchestrations {
		add(st)
	}
	return properties, bodies
}

// entryNamespace starts the IDs of the instances that stand for host-queue
// entries. Its seventh byte is 0, so such an ID has version 0 and cannot
// collide with a random (version 4 or 7) UUID.
var entryNamespace = [8]byte{'b', 'z', 't', 'e', 'n', 't', 0, 0}

// EntryInstanceID is the ID of the messaging service instance that stands
// for a MessageBox host-queue entry outside any service instance (a
// message delivered to a send port or any other subscription): look it up
// with Store.Instance to see what became of the delivery.
func EntryInstanceID(entry uint64) uuid.UUID {
	var id uuid.UUID
	copy(id[:8], entryNamespace[:])
	binary.BigEndian.PutUint64(id[8:], entry)
	return id
}

// fromMessageBox appends to dst the tracking events of the MessageBox's
// events.
func fromMessageBox(dst []Event, evs []event.Event) []Event {
	for i := range evs {
		e := &evs[i]
		if e.Instance != uuid.Nil {
			dst = serviceEvents(dst, e)
			continue
		}
		o := eventOf{e: e, inst: EntryInstanceID(e.Entry), stype: ServiceMessaging}
		switch {
		case e.Port != "":
			o.service, o.port, o.stype = e.Port, e.Port, ServiceSendPort
		case e.Service != "":
			o.service, o.stype = e.Service, ServiceOrchestration
		}
		switch e.Kind {
		case event.Published:
			ev := o.message(MessageSent, DirectionOut)
			ev.InstanceID, ev.ServiceType = uuid.Nil, ServiceUnknown
			published(&ev, e.Message)
			dst = append(dst, ev)
		case event.Routed:
			ev := o.message(MessageRouted, DirectionNone)
			ev.InstanceID = uuid.Nil
			dst = append(dst, ev)
		case event.RoutingFailure:
			// BizTalk keeps a suspended routing failure report.
			dst = append(dst, o.lifecycle(InstanceStarted), o.lifecycle(InstanceSuspended),
				o.message(MessageFailed, DirectionNone))
		case event.Delivered:
			dst = append(dst, o.lifecycle(InstanceStarted), o.message(MessageReceived, DirectionIn))
		case event.Completed:
			dst = append(dst, o.lifecycle(InstanceCompleted))
		case event.Retry, event.Backup:
			dst = append(dst, o.message(MessageFailed, DirectionNone))
		case event.Suspended:
			dst = append(dst, o.lifecycle(InstanceSuspended))
		case event.Resumed:
			dst = append(dst, o.lifecycle(InstanceResumed))
		case event.Terminated:
			dst = append(dst, o.lifecycle(InstanceTerminated))
		}
	}
	return dst
}

// serviceEvents appends the tracking events of an event of a service
// instance (an orchestration): the instance is the service instance itself,
// not one per queue entry, so a message flow walks from the message that
// activated it, through it, to the messages it published. Its activation
// starts it; later deliveries (its correlated receives) find it running;
// its end completes it.
func serviceEvents(dst []Event, e *event.Event) []Event {
	o := eventOf{e: e, inst: e.Instance, stype: ServiceOrchestration}
	if e.Activation {
		o.service = e.Service
	}
	switch e.Kind {
	case event.Delivered:
		k := InstanceRehydrated
		if e.Activation {
			k = InstanceStarted
		}
		dst = append(dst, o.lifecycle(k), o.message(MessageReceived, DirectionIn))
	case event.Published:
		ev := o.message(MessageSent, DirectionOut)
		published(&ev, e.Message)
		dst = append(dst, ev)
	case event.InstanceEnded:
		dst = append(dst, o.lifecycle(InstanceCompleted))
	case event.Retry, event.Backup:
		dst = append(dst, o.message(MessageFailed, DirectionNone))
	case event.Suspended:
		dst = append(dst, o.lifecycle(InstanceSuspended))
	case event.Resumed:
		dst = append(dst, o.lifecycle(InstanceResumed))
	case event.Terminated:
		dst = append(dst, o.lifecycle(InstanceTerminated))
	}
	// Completed (a persistence point consumed the entry) and Routed leave
	// the instance as it is.
	return dst
}

// published fills a published message's size, receive side, properties
// and body.
func published(ev *Event, m *event.Message) {
	if m == nil {
		return
	}
	ev.Size, ev.Port, ev.Adapter, ev.URL = m.Size, m.ReceivePort, m.Adapter, m.URL
	for _, p := range m.Properties {
		ev.Properties = append(ev.Properties, Property{Name: p.Name, Value: p.Value})
	}
	if b := m.Body; b != nil {
		body := &Body{}
		for _, p := range b.Context {
			body.Context = append(body.Context, Property{Name: p.Name, Value: p.Value})
		}
		for _, p := range b.Parts {
			body.Parts = append(body.Parts, Part{Name: p.Name, ContentType: p.ContentType, Data: p.Data})
		}
		ev.Body = body
	}
}

// eventOf builds the tracking events of one MessageBox event for the
// instance inst.
type eventOf struct {
	e             *event.Event
	inst          uuid.UUID
	service, port string
	stype         ServiceType
}

func (o eventOf) at() time.Time { return time.Unix(0, o.e.At) }

func (o eventOf) lifecycle(k EventKind) Event {
	return Event{Kind: k, At: o.at(), InstanceID: o.inst, ServiceType: o.stype, Service: o.service,
		Subscription: o.e.Subscription, Host: o.e.Host, Error: o.e.Reason}
}

func (o eventOf) message(k EventKind, d Direction) Event {
	return Event{Kind: k, At: o.at(), InstanceID: o.inst, MessageID: o.e.MessageID, Direction: d,
		Service: o.service, ServiceType: o.stype, Port: o.port, Subscription: o.e.Subscription, Host: o.e.Host, Error: o.e.Reason}
}
