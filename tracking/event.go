package tracking

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// EventKind is what an Event records: a service instance's lifecycle step
// or something that happened to a message.
type EventKind uint8

// Service instance lifecycle events. They need Event.InstanceID.
const (
	InstanceStarted    EventKind = iota + 1 // the instance was created and started running (again: its record is replaced, its history kept)
	InstanceDehydrated                      // its state was persisted and it left memory
	InstanceRehydrated                      // it was loaded back and runs again
	InstanceSuspended                       // it was suspended (Event.Error says why)
	InstanceResumed                         // a suspended instance was resumed
	InstanceCompleted                       // it ended normally
	InstanceTerminated                      // it was terminated (Event.Error may say why)

	// Message events. They need Event.MessageID.

	MessageReceived // a message entered the instance (or the group, from an adapter)
	MessageSent     // a message left the instance (published, or sent by an adapter)
	MessageRouted   // a published message was queued for a subscription
	MessageFailed   // processing a message failed (routing failure, send failure)

	maxEventKind = MessageFailed
)

var eventKindNames = [...]string{
	InstanceStarted:    "InstanceStarted",
	InstanceDehydrated: "InstanceDehydrated",
	InstanceRehydrated: "InstanceRehydrated",
	InstanceSuspended:  "InstanceSuspended",
	InstanceResumed:    "InstanceResumed",
	InstanceCompleted:  "InstanceCompleted",
	InstanceTerminated: "InstanceTerminated",
	MessageReceived:    "MessageReceived",
	MessageSent:        "MessageSent",
	MessageRouted:      "MessageRouted",
	MessageFailed:      "MessageFailed",
}

// String returns the kind's name, such as "MessageSent".
func (k EventKind) String() string {
	if k >= 1 && k <= maxEventKind {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// IsInstanceEvent reports whether k is a service instance lifecycle event.
func (k EventKind) IsInstanceEvent() bool { return k >= InstanceStarted && k <= InstanceTerminated }

// IsMessageEvent reports whether k is a message event.
func (k EventKind) IsMessageEvent() bool { return k >= MessageReceived && k <= MessageFailed }

// InstanceState is a tracked service instance's state, as the lifecycle
// events it has seen leave it.
type InstanceState uint8

// Instance states.
const (
	StateRunning    InstanceState = iota + 1 // started, rehydrated or resumed
	StateDehydrated                          // persisted and out of memory
	StateSuspended                           // suspended, waiting to be resumed or terminated
	StateCompleted                           // ended normally (final)
	StateTerminated                          // terminated (final)

	maxState = StateTerminated
)

var stateNames = [...]string{
	StateRunning:    "Running",
	StateDehydrated: "Dehydrated",
	StateSuspended:  "Suspended",
	StateCompleted:  "Completed",
	StateTerminated: "Terminated",
}

// String returns the state's name, such as "Completed".
func (s InstanceState) String() string {
	if s >= 1 && s <= maxState {
		return stateNames[s]
	}
	return "InstanceState(" + strconv.Itoa(int(s)) + ")"
}

// Final reports whether s ends an instance (Completed or Terminated). Only
// final instances are purged after the live window; others wait for the
// hard-delete age.
func (s InstanceState) Final() bool { return s == StateCompleted || s == StateTerminated }

// stateAfter is the state an instance lifecycle event leaves.
func stateAfter(k EventKind) InstanceState {
	switch k {
	case InstanceDehydrated:
		return StateDehydrated
	case InstanceSuspended:
		return StateSuspended
	case InstanceCompleted:
		return StateCompleted
	case InstanceTerminated:
		return StateTerminated
	}
	return StateRunning
}

// ServiceType is the kind of artifact a service instance runs.
type ServiceType uint8

// Service types.
const (
	ServiceUnknown       ServiceType = iota // not given
	ServiceOrchestration                    // an orchestration (Event.Service names it)
	ServiceReceivePort                      // a receive port's messaging instance
	ServiceSendPort                         // a send port's messaging instance
	ServiceMessaging                        // another messaging service
)

// String returns the type's name, such as "Orchestration".
func (t ServiceType) String() string {
	switch t {
	case ServiceUnknown:
		return "Unknown"
	case ServiceOrchestration:
		return "Orchestration"
	case ServiceReceivePort:
		return "ReceivePort"
	case ServiceSendPort:
		return "SendPort"
	case ServiceMessaging:
		return "Messaging"
	}
	return "ServiceType(" + strconv.Itoa(int(t)) + ")"
}

// Direction says whether a message entered or left the instance that
// tracked it. Message flow follows it: an instance's In messages were
// produced by the instances before it, its Out messages consumed by the
// instances after it.
type Direction uint8

// Directions.
const (
	DirectionNone Direction = iota // neither (a routing event, a failure)
	DirectionIn                    // the message entered the instance
	DirectionOut                   // the message left the instance
)

// String returns "In", "Out" or "None".
func (d Direction) String() string {
	switch d {
	case DirectionIn:
		return "In"
	case DirectionOut:
		return "Out"
	case DirectionNone:
		return "None"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// defaultDirection is the direction of a message event that does not set
// one.
func defaultDirection(k EventKind) Direction {
	switch k {
	case MessageReceived:
		return DirectionIn
	case MessageSent:
		return DirectionOut
	}
	return DirectionNone
}

// Property is a context property value chosen for tracking. Values are
// kept as text: the caller formats them (see Settings.Properties).
type Property struct {
	// Name is the property's name, "namespace#name".
	Name string
	// Value is the property's value as text.
	Value string
}

// Part is one part of a tracked message body.
type Part struct {
	Name        string
	ContentType string
	Data        []byte
}

// Body is a tracked copy of a message: its parts and its whole context.
// It is stored only when the event's Settings have Bodies on.
type Body struct {
	// Context holds every context property of the message, as text.
	Context []Property
	// Parts holds the message's parts, body part first.
	Parts []Part
}

// Event is one tracked fact, passed to Store.Record. Which fields matter
// depends on Kind; the others are ignored.
//
// Events are selected for tracking by the Settings that apply to them (see
// Profile): lifecycle events need Settings.Instances, message events need
// Settings.Messages, Properties are kept only for names in
// Settings.Properties, and Body only with Settings.Bodies.
type Event struct {
	// Kind is what happened. Required.
	Kind EventKind
	// At is when it happened. Defaults to the store's clock. Queries,
	// ordering and purge use the time the event was recorded (see
	// Options.Clock); At is kept for display.
	At time.Time
	// InstanceID is the service instance the event belongs to. Required
	// for lifecycle events; for message events it may be zero (a message
	// event outside any instance, such as a routing failure).
	InstanceID uuid.UUID
	// Service names the artifact the instance runs (orchestration or port
	// name) and ServiceType says what it is. Taken from the first event of
	// an instance that carries them.
	Service     string
	ServiceType ServiceType
	// Host is the host the instance or message ran on.
	Host string
	// Error is the error text of a suspension, termination or failure.
	Error string

	// MessageID is the message of a message event. Required for message
	// events.
	MessageID uuid.UUID
	// Port is the receive or send port (or orchestration logical port).
	Port string
	// Adapter is the adapter (transport type), such as "FILE".
	Adapter string
	// URL is the adapter address.
	URL string
	// Direction defaults to In for MessageReceived, Out for MessageSent and
	// None otherwise.
	Direction Direction
	// Size is the message size in bytes.
	Size int64
	// Subscription is the subscription a routed message was queued for.
	Subscription uuid.UUID
	// Properties are promoted property values the caller offers for
	// tracking; only names the Settings choose are kept.
	Properties []Property
	// Body is the message's body and context, kept only when the Settings
	// track bodies. Record copies it.
	Body *Body
}
