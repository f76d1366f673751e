// Package crashtest holds what the crash and fault tests of several
// packages share: seed selection with replay, the identity of a workload's
// transactions, and whether the race detector is on.
package crashtest

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// Seeds returns the seeds one run of a crash test uses.
// BIZTIER_CRASH_SEED=<n> replays one seed; BIZTIER_CRASH_SEEDS sets how
// many fresh seeds to run (default def, or 1 under the race detector, kept
// small so the suite stays fast; raise it for soak runs). The caller logs
// each seed it runs, so a failure can be replayed.
func Seeds(tb testing.TB, def int) []uint64 {
	tb.Helper()
	if s := os.Getenv("BIZTIER_CRASH_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			tb.Fatalf("BIZTIER_CRASH_SEED=%q: %v", s, err)
		}
		return []uint64{seed}
	}
	n := def
	if RaceEnabled {
		n = 1
	}
	if s := os.Getenv("BIZTIER_CRASH_SEEDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			tb.Fatalf("BIZTIER_CRASH_SEEDS=%q: %v", s, err)
		}
		n = v
	}
	base := uint64(time.Now().UnixNano())
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = base + uint64(i)*0x9E3779B97F4A7C15
	}
	return seeds
}

// TxnID names one transaction of a crash workload: the generation (one
// process lifetime between crashes), the committer goroutine and its
// sequence number. A committer commits one transaction after another, so
// seq n+1 always gets a higher LSN than seq n.
type TxnID struct {
	Gen, Committer uint8
	Seq            uint32
}

func (id TxnID) String() string { return fmt.Sprintf("g%d/c%d/s%d", id.Gen, id.Committer, id.Seq) }
