package bam

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
)

var (
	// ErrClosed is returned by every call on a closed Store. It wraps the
	// module-wide biztier.ErrClosed.
	ErrClosed = sentinel.New("bam: closed", sentinel.ErrClosed)
	// ErrCorruption marks stored data that cannot be decoded. It wraps the
	// module-wide corruption marker.
	ErrCorruption = sentinel.New("bam: corruption", sentinel.ErrCorruption)
	// ErrInvalid is an argument or option that cannot be used.
	ErrInvalid = errors.New("bam: invalid argument")
	// ErrInvalidTx is a transaction BAM cannot write to: nil, ended, or of
	// another group.
	ErrInvalidTx = errors.New("bam: invalid transaction")
	// ErrMalformed is a BAM definition or tracking profile that is not
	// well-formed XML or does not follow the schema: an unknown element or
	// attribute, a missing one, a bad value. It comes in a *DefinitionError.
	ErrMalformed = errors.New("bam: malformed document")
	// ErrLimit is a definition past one of BizTalk's BAM limits: 1,000
	// checkpoints per activity, 128 activity references per view, name
	// lengths, 4,000 characters of NVARCHAR, 14 dimension levels per
	// real-time aggregation. It comes in a *DefinitionError.
	ErrLimit = errors.New("bam: limit exceeded")
	// ErrReference is a definition whose reference (ActivityRef,
	// CheckpointRef, AliasRef, ...) names nothing, or that repeats an ID
	// or a name. It comes in a *DefinitionError.
	ErrReference = errors.New("bam: unresolved or duplicate reference")
	// ErrExists is a deploy of an activity, view or cube that is already
	// deployed (use Update).
	ErrExists = errors.New("bam: already deployed")
	// ErrNotDeployed is an activity, view, cube, aggregation or tracking
	// profile that is not deployed.
	ErrNotDeployed = errors.New("bam: not deployed")
	// ErrIncompatible is an update that changes or removes a checkpoint;
	// an update may only add checkpoints (remove and redeploy otherwise).
	ErrIncompatible = errors.New("bam: incompatible update")
	// ErrUnknownCheckpoint is an event that names a checkpoint its activity
	// does not define. It comes in a *CheckpointError.
	ErrUnknownCheckpoint = errors.New("bam: unknown checkpoint")
	// ErrType is a checkpoint value of the wrong type, or too long for its
	// NVARCHAR length. It comes in a *CheckpointError.
	ErrType = errors.New("bam: wrong checkpoint type")
	// ErrNotFound is an activity instance that is not in the database.
	ErrNotFound = errors.New("bam: instance not found")
	// ErrInUse is a removal of an activity that a view, a cube or a bound
	// tracking profile still uses, or of a view a cube uses.
	ErrInUse = errors.New("bam: in use")
	// ErrFormatTooNew is a BAM database written by a newer version of
	// this package.
	ErrFormatTooNew = errors.New("bam: database format too new")
	// ErrInvalidEvent is an event that cannot be applied as given: an
	// empty activity ID, an EnableContinuation whose token is the ID.
	ErrInvalidEvent = errors.New("bam: invalid event")
)

// IsCorruption reports whether err marks corrupt stored data.
func IsCorruption(err error) bool { return errors.Is(err, sentinel.ErrCorruption) }

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorruption}, args...)...)
}

// DefinitionError is a problem in a BAM definition or tracking profile
// document: the element it is in (a path such as
// "BAMDefinition/Activity[Order]/Checkpoint[Total]") and the line it
// starts on, 0 when the problem is not of one element. Err wraps
// ErrMalformed, ErrLimit or ErrReference.
type DefinitionError struct {
	Element string
	Line    int
	Err     error
}

// Error implements error: the element, its line and the cause.
func (e *DefinitionError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("bam: %s (line %d): %v", e.Element, e.Line, e.Err)
	}
	return fmt.Sprintf("bam: %s: %v", e.Element, e.Err)
}

// Unwrap returns the cause.
func (e *DefinitionError) Unwrap() error { return e.Err }

// CheckpointError is an event value that its checkpoint refuses. Err wraps
// ErrUnknownCheckpoint or ErrType.
type CheckpointError struct {
	Activity, Checkpoint string
	Err                  error
}

// Error implements error: the activity, the checkpoint and the cause.
func (e *CheckpointError) Error() string {
	return fmt.Sprintf("bam: activity %s, checkpoint %s: %v", e.Activity, e.Checkpoint, e.Err)
}

// Unwrap returns the cause.
func (e *CheckpointError) Unwrap() error { return e.Err }
