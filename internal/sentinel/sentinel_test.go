package sentinel

import (
	"errors"
	"fmt"
	"testing"
)

func TestNew(t *testing.T) {
	own := New("wal: log closed", ErrClosed)
	wrapped := fmt.Errorf("commit lsn 7: %w", own)
	for _, tc := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"own", wrapped, own, true},
		{"root", wrapped, ErrClosed, true},
		{"other kind", wrapped, ErrCorruption, false},
		{"sibling", wrapped, New("wal: log closed", ErrClosed), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Fatalf("errors.Is = %v, want %v", got, tc.want)
			}
		})
	}
	if own.Error() != "wal: log closed" {
		t.Fatalf("message %q", own.Error())
	}
}
