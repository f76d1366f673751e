package keys

import (
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
)

// ErrCorrupt marks a key that cannot be decoded with the schema the caller
// asked for: it is truncated, or a byte sequence no encoder writes was found.
// Every error returned by a Decode function wraps it.
var ErrCorrupt = sentinel.New("keys: corrupt key", sentinel.ErrCorruption)

// corruptf returns an error wrapping ErrCorrupt. It is only reached on the
// failure path, so its allocation never costs a successful decode.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}
