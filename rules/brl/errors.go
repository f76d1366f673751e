package brl

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed is returned, inside an *Error, for a file that is not
	// BRL Parse can read: bad XML, a wrong root, a missing required
	// attribute, a literal that does not parse as its type, an unknown
	// operator. Nothing of such a file is returned.
	ErrMalformed = errors.New("rules: malformed BRL")
	// ErrInvalid is returned by Write for a model that cannot be written
	// as BRL, such as a Node without a name.
	ErrInvalid = errors.New("rules: invalid BRL model")
)

// Error reports where a BRL file is malformed: the path of the element,
// such as "brl/ruleset[1]/rule[2]/if/compare", and the line it starts on.
// It wraps ErrMalformed.
type Error struct {
	Path string
	Line int
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("rules: BRL line %d: %s: %v", e.Line, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Warning is a quirk Parse accepted: a second <version> element, a comment
// outside the root, a date that does not parse. The file imports; the
// warning says what was kept and where.
type Warning struct {
	Path    string
	Line    int
	Message string
}

func (w Warning) String() string {
	return fmt.Sprintf("line %d: %s: %s", w.Line, w.Path, w.Message)
}
