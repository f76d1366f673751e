package cluster

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestNode_CloseStopsGoroutines: every goroutine a node starts (witness
// renewals, streams, campaigns) is gone after Close.
func TestNode_CloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a, b)
	_ = b.Close()
	_ = a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			var ours []string
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				if strings.Contains(g, "biztier/cluster.") && !strings.Contains(g, "TestNode_CloseStopsGoroutines") {
					ours = append(ours, g)
				}
			}
			if len(ours) > 0 {
				t.Fatalf("%d goroutines left, %d of them ours:\n%s", runtime.NumGoroutine()-before, len(ours), strings.Join(ours, "\n\n"))
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
