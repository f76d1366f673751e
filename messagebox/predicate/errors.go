package predicate

import "errors"

// ErrInvalid marks a predicate that cannot be used in a subscription. The
// MessageBox's ErrInvalidPredicate is this error.
var ErrInvalid = errors.New("messagebox: invalid predicate")
