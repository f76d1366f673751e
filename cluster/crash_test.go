package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNode_CrashTwice crashes the same node as active twice: what its
// disk held at each crash must survive (the group directory's own entry
// was once not synced, and a restarted node came back empty yet listed in
// the sync record).
func TestNode_CrashTwice(t *testing.T) {
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	for i := range 100 {
		_, err := write(context.Background(), a.Node, "k", uint64(i))
		require.NoError(t, err)
	}
	fs := a.crash(w)
	waitActive(t, 5*time.Second, b)
	a = openTestNode(t, w, "a", fs, Sync, nil)
	a.fs = fs
	waitInSync(t, b, a)
	for i := range 100 {
		_, err := write(context.Background(), b.Node, "k", uint64(i))
		require.NoError(t, err)
	}
	t.Logf("a: %+v", a.Status())
	require.NoError(t, b.Switchover(context.Background()))
	waitActive(t, 5*time.Second, a)
	waitInSync(t, a, b)
	d := a.wlog().DurableLSN()
	t.Logf("a before crash: %+v", a.Status())
	fs = a.crash(w)
	a = openTestNode(t, w, "a", fs, Sync, nil)
	t.Logf("a after crash: %+v", a.Status())
	require.GreaterOrEqual(t, a.wlog().DurableLSN(), d)
}
