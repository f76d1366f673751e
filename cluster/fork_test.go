package cluster

import (
	"testing"

	"github.com/biztier/biztier/wal"
)

func TestForkPoint(t *testing.T) {
	for _, tc := range []struct {
		name        string
		active      []wal.EpochStart
		activeLast  uint64
		passive     []wal.EpochStart
		passiveLast uint64
		want        uint64
	}{
		{"empty passive", hist(2, 1), 100, nil, 0, 0},
		{"passive behind in same epoch", hist(2, 1), 100, hist(2, 1), 60, 60},
		{"passive equal", hist(2, 1), 100, hist(2, 1), 100, 100},
		{"old active with unacked tail", hist(2, 1, 5, 104), 200, hist(2, 1), 105, 103},
		{"old active tail in its own later epoch", hist(2, 1, 7, 51), 90, hist(2, 1, 4, 51), 70, 50},
		{"passive behind across epochs", hist(2, 1, 5, 50, 9, 80), 120, hist(2, 1, 5, 50), 70, 70},
		{"passive switched epoch earlier", hist(2, 1, 5, 50), 120, hist(2, 1, 4, 40), 70, 39},
		{"active history truncated", hist(9, 500), 600, hist(2, 1, 5, 50), 400, 400},
		{"active truncated, passive past", hist(9, 500), 600, hist(5, 50), 520, 499},
		{"log from a bootstrap", hist(5, 31), 90, hist(5, 31), 40, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := forkPoint(tc.active, tc.activeLast, tc.passive, tc.passiveLast); got != tc.want {
				t.Fatalf("forkPoint = %d, want %d", got, tc.want)
			}
		})
	}
}

// hist builds an epoch history from (epoch, lsn) pairs.
func hist(pairs ...uint64) []wal.EpochStart {
	var h []wal.EpochStart
	for i := 0; i+1 < len(pairs); i += 2 {
		h = append(h, wal.EpochStart{Epoch: pairs[i], LSN: pairs[i+1]})
	}
	return h
}
