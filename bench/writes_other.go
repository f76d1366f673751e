//go:build !linux

package bench

import "errors"

// processWriteBytes is not measured on this platform: results report 0
// bytes written per message, meaning unknown.
func processWriteBytes() (int64, error) {
	return 0, errors.New("bench: bytes written are measured on Linux only")
}
