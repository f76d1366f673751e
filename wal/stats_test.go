package wal

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestStats_Histograms: the latency and group-size histograms count every
// fsync, commit and group, cumulatively, and agree with the counters.
func TestStats_Histograms(t *testing.T) {
	l := openTest(t, vfs.NewMem(), Options{Durability: Sync})
	defer l.Close()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				_, err := l.Commit(context.Background(), TypeCommit, []byte("x"))
				require.NoError(t, err)
			}
		})
	}
	wg.Wait()
	st := l.Stats()
	for name, h := range map[string]Histogram{"sync": st.SyncLatency, "commit": st.CommitLatency, "group": st.GroupFrames} {
		require.NotEmpty(t, h.Buckets, name)
		last := h.Buckets[len(h.Buckets)-1]
		require.Equal(t, h.Count, last.Count, "%s: the last bucket holds every observation", name)
		require.Len(t, h.Buckets, map[string]int{"sync": 25, "commit": 25, "group": 17}[name], "%s: fixed buckets", name)
		for i := 1; i < len(h.Buckets); i++ {
			require.LessOrEqual(t, h.Buckets[i-1].Count, h.Buckets[i].Count, name)
			require.Less(t, h.Buckets[i-1].UpperBound, h.Buckets[i].UpperBound, name)
		}
	}
	require.Equal(t, uint64(200), st.CommitLatency.Count)
	require.Equal(t, st.Groups, st.GroupFrames.Count)
	require.Equal(t, float64(st.Frames), st.GroupFrames.Sum, "group sizes add up to the frames")
	require.LessOrEqual(t, st.SyncLatency.Count, st.Fsyncs)
	require.Positive(t, st.SyncLatency.Count)
	require.InDelta(t, st.SyncMean.Seconds(), st.SyncLatency.Sum/float64(st.SyncLatency.Count), float64(time.Microsecond)/1e9+1e-9)
}
