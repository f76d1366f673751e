package mgmt

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
	"github.com/google/uuid"
)

var (
	// ErrNotFound is returned for an artifact that does not exist.
	ErrNotFound = errors.New("mgmt: not found")
	// ErrExists is returned when an artifact's name is taken by another
	// application's artifact (names are unique in the group).
	ErrExists = errors.New("mgmt: already exists")
	// ErrInvalid is returned for a configuration that breaks a rule: a
	// missing name, a reference to an artifact that does not exist, a
	// static send port without a transport.
	ErrInvalid = errors.New("mgmt: invalid configuration")
	// ErrState is returned, inside a *StateError, for a transition the
	// artifact's state does not allow.
	ErrState = errors.New("mgmt: not allowed in this state")
	// ErrMessagesQueued is returned, inside a *QueuedError, by an unenlist
	// that would remove subscriptions with messages still queued or
	// suspended for them. Force the unenlist to remove them anyway.
	ErrMessagesQueued = errors.New("mgmt: messages are queued for the artifact")
	// ErrMalformed is returned, inside a *BindingError, for a binding file
	// that cannot be imported. Nothing of such a file is imported.
	ErrMalformed = errors.New("mgmt: malformed binding file")
	// ErrUnknownAdapter is returned, inside a *BindingError, by an import
	// that names an adapter (transport type) that is neither one of
	// BizTalk's own nor registered in the group, unless
	// ImportOptions.RegisterAdapters is set.
	ErrUnknownAdapter = errors.New("mgmt: adapter not registered")
	// ErrUnknownElement is returned, inside a *BindingError, by a strict
	// import for an element mgmt cannot keep.
	ErrUnknownElement = errors.New("mgmt: unknown element")
	// ErrCorruption marks a stored value that cannot be decoded. Such
	// errors also wrap codec.ErrCorrupt or keys.ErrCorrupt.
	ErrCorruption = sentinel.New("mgmt: corruption", sentinel.ErrCorruption)
	// ErrClosed is returned by calls after Close.
	ErrClosed = sentinel.New("mgmt: closed", sentinel.ErrClosed)
)

// IsCorruption reports whether err marks corrupt stored data.
func IsCorruption(err error) bool { return errors.Is(err, ErrCorruption) }

// StateError reports a transition that the artifact's state refuses, such
// as starting a send port group with no enlisted member. It wraps ErrState,
// or a more precise cause such as ErrInvalid.
type StateError struct {
	// Op is the transition, such as "enlist".
	Op string
	// Ref is the artifact.
	Ref Ref
	// State is the artifact's state when the transition was refused.
	State string
	// Reason says why.
	Reason string
	Err    error
}

func (e *StateError) Error() string {
	return fmt.Sprintf("mgmt: %s %s (%s): %s", e.Op, e.Ref, e.State, e.Reason)
}

// Unwrap returns the cause.
func (e *StateError) Unwrap() error { return e.Err }

// QueuedError reports an unenlist refused because messages are still queued
// or suspended for one of the artifact's subscriptions (BizTalk's rule). It
// wraps ErrMessagesQueued.
type QueuedError struct {
	Ref          Ref
	Subscription uuid.UUID
	// Count is the number of messages queued or suspended for it.
	Count int
}

func (e *QueuedError) Error() string {
	return fmt.Sprintf("mgmt: unenlist %s: %d messages queued or suspended for subscription %s; terminate them or force the unenlist",
		e.Ref, e.Count, e.Subscription)
}

// Unwrap returns ErrMessagesQueued.
func (e *QueuedError) Unwrap() error { return ErrMessagesQueued }

// BindingError reports where a binding file is malformed: the path of the
// element, such as "BindingInfo/SendPortCollection/SendPort[2]/Filter", and
// the line it starts on. It wraps ErrMalformed or ErrUnknownElement.
type BindingError struct {
	Path string
	Line int
	Err  error
}

func (e *BindingError) Error() string {
	return fmt.Sprintf("mgmt: binding file line %d: %s: %v", e.Line, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *BindingError) Unwrap() error { return e.Err }
