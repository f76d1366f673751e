// Package event is the one vocabulary of what happens in the MessageBox,
// as the MessageBox records it for the database that watches it, Tracking
// (BAM's streams write their own records into the caller's transaction,
// so they need none of this). The MessageBox stages encoded events
// in its own commit (BizTalk's TrackingData tables); the watcher takes
// them, in order, and writes its own rows from them in a commit of its own
// (BizTalk's Tracking Data Decode Service). Neither side knows the other's
// types: this package is all they share.
package event

import (
	"fmt"

	"github.com/google/uuid"
)

// Kind is what happened.
type Kind uint8

// Event kinds. Their values are stored and never change.
const (
	Published      Kind = 1  // a message was published (one per message)
	Routed         Kind = 2  // an entry was queued for a subscription
	RoutingFailure Kind = 3  // a message matched nothing and was suspended
	Delivered      Kind = 4  // an entry was dequeued
	Completed      Kind = 5  // an entry was completed
	Retry          Kind = 6  // an entry was abandoned or failed and will be retried
	Backup         Kind = 7  // an entry moved to its backup transport's host
	Suspended      Kind = 8  // an entry was suspended
	Resumed        Kind = 9  // a suspended entry was resumed
	Terminated     Kind = 10 // a suspended entry was terminated
	InstanceEnded  Kind = 11 // a service instance completed

	maxKind = InstanceEnded
)

// String names the kind.
func (k Kind) String() string {
	if k >= Published && k <= maxKind {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

var kindNames = [...]string{"", "Published", "Routed", "RoutingFailure", "Delivered", "Completed",
	"Retry", "Backup", "Suspended", "Resumed", "Terminated", "InstanceEnded"}

// Event is one change in the MessageBox.
type Event struct {
	Kind Kind
	// At is when it happened, in Unix nanoseconds on the group's clock.
	At        int64
	MessageID uuid.UUID
	// Entry is the host-queue entry (one message for one subscription).
	Entry uint64
	// Subscription is the entry's subscription; Port and Service name
	// what it delivers to: a send port, or an orchestration (Service),
	// which the subscription starts when Activation is set.
	Subscription uuid.UUID
	Port         string
	Service      string
	Activation   bool
	Host         string
	// Reason is the error text of retries and suspensions.
	Reason string
	// Instance is the service instance the event belongs to: the one an
	// entry is routed to, the one that published the message, or the one
	// that ended. Zero for messaging.
	Instance uuid.UUID

	// Message is set on Published only.
	Message *Message
}

// Message is what the watchers may keep of a published message: its
// size, where it was received, and, when they asked for them, its
// promoted properties and its body and context.
type Message struct {
	Size int64
	// ReceivePort, Adapter and URL are the receive side's context
	// properties (BTS.ReceivePortName, InboundTransportType and
	// InboundTransportLocation), empty for a message published in code.
	ReceivePort, Adapter, URL string
	// Properties are the promoted properties, values as text.
	Properties []Property
	// Body is the message's context and parts; nil unless asked for.
	Body *Body
}

// Property is a context property, its value as text.
type Property struct {
	Name, Value string
}

// Body is a message's full context and its parts, body part first.
type Body struct {
	Context []Property
	Parts   []Part
}

// Part is one message part.
type Part struct {
	Name, ContentType string
	Data              []byte
}
