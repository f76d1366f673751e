package messagebox

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
	"github.com/biztier/biztier/messagebox/predicate"
	"github.com/google/uuid"
)

var (
	// ErrNoSubscribers is returned by Publish and PublishBatch for a message
	// that no subscription matched. The message was not dropped: it is in the
	// suspended queue as a non-resumable routing failure. The error is a
	// *RoutingError (or, from PublishBatch, an errors.Join of them) naming
	// the suspended entry.
	ErrNoSubscribers = errors.New("messagebox: no subscribers found")
	// ErrInvalidMessage is returned for a message that cannot be published:
	// no parts, a part without a body, no single body part, duplicate part
	// or property names, an unset value or a promoted value over the length
	// limit. Nothing is stored.
	ErrInvalidMessage = errors.New("messagebox: invalid message")
	// ErrInvalidPredicate is returned by Subscribe for a predicate that
	// cannot be evaluated: no groups, an empty group, an unknown operator, a
	// value of the wrong type for its operator or property, or an unset
	// value.
	ErrInvalidPredicate = predicate.ErrInvalid
	// ErrInvalidTx is returned by the methods that join a caller's
	// transaction when it is nil, has ended, or belongs to another group.
	ErrInvalidTx = errors.New("messagebox: transaction not usable")
	// ErrInvalidSubscription is returned by Subscribe for a subscription
	// with a bad field other than its predicate (priority out of 1..10, an
	// instance subscription without an instance ID, ...).
	ErrInvalidSubscription = errors.New("messagebox: invalid subscription")
	// ErrUnknownHost is returned for a host that CreateHost never created.
	ErrUnknownHost = errors.New("messagebox: unknown host")
	// ErrNotFound is returned for an unknown message, subscription or
	// suspended entry.
	ErrNotFound = errors.New("messagebox: not found")
	// ErrZombie is returned by Persist and SuspendInstances for an instance that completed while messages were still routed to
	// it (state CompletedWithDiscardedMessages, BizTalk's zombie). Those
	// messages, including one a host instance was holding a lease on when
	// the instance completed, are already suspended, not resumable, with
	// the zombie report as their error: a host that gets ErrZombie has
	// nothing to undo and should report it and carry on. It happens in
	// normal operation after a crash, when at-least-once redelivery brings
	// back a message the instance had already answered.
	ErrZombie = errors.New("messagebox: instance completed with discarded messages (zombie)")
	// ErrDuplicate is returned when publishing a message whose ID is already
	// stored, or subscribing with an ID already in use.
	ErrDuplicate = errors.New("messagebox: duplicate id")
	// ErrLeaseLost is returned by Complete, Abandon, Fail, Suspend and
	// Extend for a lease that is not (or no longer) held: the entry is
	// unknown, was completed, or was leased again after the lease expired.
	ErrLeaseLost = errors.New("messagebox: lease lost")
	// ErrNotResumable is returned by Resume for a suspended entry that is
	// not resumable (a routing failure); such entries can only be
	// terminated.
	ErrNotResumable = errors.New("messagebox: not resumable")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = sentinel.New("messagebox: closed", sentinel.ErrClosed)
	// ErrFormatTooNew is returned by Open for a MessageBox written by a
	// newer version of biztier.
	ErrFormatTooNew = errors.New("messagebox: format version newer than this build")
	// ErrCorruption marks stored data that cannot be decoded. Every decode
	// failure wraps it; test for it with IsCorruption.
	ErrCorruption = sentinel.New("messagebox: corruption", sentinel.ErrCorruption)
	// ErrFailed is returned by every write once a commit to the group log
	// has failed: whether it reached the disk is unknown, so the in-memory
	// state can no longer be trusted. Close the store and reopen the group.
	ErrFailed = errors.New("messagebox: store failed")
	// ErrInstanceBusy is returned for a service instance that another
	// persistence point or termination is changing, or whose entries are
	// being changed; retry.
	ErrInstanceBusy = errors.New("messagebox: instance busy")
	// ErrNotInitialized is returned by Persist for a correlation set the
	// instance follows or releases but never initialized.
	ErrNotInitialized = errors.New("messagebox: correlation set not initialized")
	// ErrInvalidCorrelation is returned by Persist for a correlation set
	// without a name, with no property or more than
	// MaxCorrelationProperties, or with a bad filter.
	ErrInvalidCorrelation = errors.New("messagebox: invalid correlation set")
	// ErrStateTooLarge is returned by Persist for state bytes over
	// Options.MaxInstanceState.
	ErrStateTooLarge = errors.New("messagebox: instance state too large")
)

// IsCorruption reports whether err marks stored data that cannot be
// decoded.
func IsCorruption(err error) bool { return errors.Is(err, ErrCorruption) }

func corruption(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrCorruption, what, err)
}

// RoutingError reports a published message that no subscription matched.
// It matches ErrNoSubscribers with errors.Is.
type RoutingError struct {
	// MessageID is the message that was not routed.
	MessageID uuid.UUID
	// Entry is the suspended entry (the routing failure report) holding it.
	Entry EntryID
	// Closest lists the subscriptions that came closest to matching.
	Closest []Near
}

// Error names the message and its suspended entry.
func (e *RoutingError) Error() string {
	return fmt.Sprintf("messagebox: no subscribers found for message %s (suspended as entry %d)", e.MessageID, e.Entry)
}

// Unwrap makes errors.Is(err, ErrNoSubscribers) hold.
func (e *RoutingError) Unwrap() error { return ErrNoSubscribers }
