// Package sentinel holds the two failure kinds every package of the module
// shares: a closed handle and corrupt data. Each package keeps its own named
// sentinel (wal.ErrClosed, messagebox.ErrCorruption, ...) so its messages
// say where the failure was, but builds it with [New] on top of one of
// these, so that errors.Is(err, biztier.ErrClosed) and
// biztier.IsCorruption(err) hold for an error from any package.
package sentinel

import "errors"

var (
	// ErrClosed is the root of every package's ErrClosed.
	ErrClosed = errors.New("biztier: closed")
	// ErrCorruption is the root of every package's corruption marker.
	ErrCorruption = errors.New("biztier: corruption")
)

// kind is a package's own sentinel: its message is the package's, and it
// unwraps to the module-wide kind.
type kind struct {
	msg  string
	base error
}

func (k *kind) Error() string { return k.msg }
func (k *kind) Unwrap() error { return k.base }

// New returns a sentinel with message msg that wraps base, one of [ErrClosed]
// or [ErrCorruption]. Compare the result with errors.Is, never ==, since
// callers receive it wrapped in context.
func New(msg string, base error) error { return &kind{msg: msg, base: base} }
