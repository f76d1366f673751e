package tracking

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/sentinel"
)

var (
	// ErrNotFound is returned for an instance or tracked message that is not
	// in the tracking database (never tracked, or purged).
	ErrNotFound = errors.New("tracking: not found")
	// ErrInvalidOptions is returned by Open and OpenArchive for options
	// that break a rule (see Options).
	ErrInvalidOptions = errors.New("tracking: invalid options")
	// ErrInvalidEvent is returned by Record for an event it cannot store: an
	// unknown kind, or a message event without a message ID. Nothing of the
	// call is added to the transaction.
	ErrInvalidEvent = errors.New("tracking: invalid event")
	// ErrInvalidTx is returned by Record for a transaction that is nil, has
	// ended, or belongs to another group.
	ErrInvalidTx = errors.New("tracking: transaction not usable")
	// ErrFormatTooNew is returned by Open for a tracking database or
	// archive written by a newer version of biztier.
	ErrFormatTooNew = errors.New("tracking: format version newer than this build")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = sentinel.New("tracking: closed", sentinel.ErrClosed)
	// ErrCorruption marks stored data (in the database or an archive file)
	// that cannot be decoded. Every decode failure wraps it; test for it
	// with IsCorruption.
	ErrCorruption = sentinel.New("tracking: corruption", sentinel.ErrCorruption)
)

// IsCorruption reports whether err marks stored data that cannot be
// decoded.
func IsCorruption(err error) bool { return errors.Is(err, ErrCorruption) }

func corruption(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrCorruption, what, err)
}

// codecErrorf returns a decode error for a value that parsed but holds a
// field no encoder writes; callers wrap it with corruption.
func codecErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{codec.ErrCorrupt}, args...)...)
}
