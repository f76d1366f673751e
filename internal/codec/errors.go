package codec

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
)

// ErrCorrupt marks a value that cannot be decoded: it is truncated, a field
// holds bytes no encoder writes, or bytes are left over. Every decoding error
// wraps it.
var ErrCorrupt = sentinel.New("codec: corrupt value", sentinel.ErrCorruption)

// ErrVersion marks a value whose format-version byte the caller cannot read:
// newer than the newest version it knows (written by newer code), or 0,
// which is never written (such an error also wraps ErrCorrupt).
var ErrVersion = errors.New("codec: unsupported format version")

// corruptf returns an error wrapping ErrCorrupt. It is only reached on the
// failure path, so its allocations never cost a successful decode.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// maxPrealloc bounds the elements a decoder reserves room for up front.
const maxPrealloc = 32

// Prealloc is the capacity to reserve for a slice of n elements whose
// count was read from stored bytes. The count may be damaged, and checking
// it against the bytes left still lets a small value claim a slice many
// times its size, so at most a few elements are reserved and the slice
// grows with the elements actually decoded, each of which consumed input:
// decoding allocates in proportion to its input.
func Prealloc(n uint64) int { return int(min(n, maxPrealloc)) }
