package tracking

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStore_Stats(t *testing.T) {
	ctx := context.Background()
	prof := &Profile{Default: Settings{Instances: true, Messages: true, Bodies: true, Properties: []string{propOrderID}}}
	e := newEnv(t, nil, &Options{Profile: prof, LiveWindow: time.Hour})
	first := e.clock.Now().Add(time.Second)
	steps := messagingFlow()
	steps[1][0].Body = &Body{Parts: []Part{{Name: "body", Data: make([]byte, 1000)}}}
	e.play(t, steps)

	st, err := e.s.Stats(ctx)
	require.NoError(t, err)
	rows := map[string]int64{}
	for _, ts := range st.Tables {
		rows[ts.Table] = ts.Rows
		if ts.Rows > 0 {
			require.Positive(t, ts.Bytes, ts.Table)
		}
	}
	require.Equal(t, map[string]int64{
		"ServiceInstances":   2, // two rows, which hold their starts and completions
		"MessageEvents":      5,
		"TrackedBodies":      1,
		"InstancesByService": 2,
		"InstancesByState":   2,
		"InstancesByTime":    2,
		"EventsByMessage":    5,
		"EventsByPort":       4,
		"EventsByTime":       5,
		"EventsByProperty":   2,
		"InstancesFinished":  2,
		"TrackingMeta":       1,
	}, rows)
	require.True(t, first.Equal(st.Oldest), "oldest %v", st.Oldest)
	require.Zero(t, st.PurgeLag)
	for _, ts := range st.Tables {
		if ts.Table == "TrackedBodies" {
			require.Greater(t, ts.Bytes, int64(1000))
		}
	}

	// An hour and a half later the completed instances are 30 minutes
	// overdue until purge runs.
	e.clock.Advance(90 * time.Minute)
	st, err = e.s.Stats(ctx)
	require.NoError(t, err)
	require.InDelta(t, float64(30*time.Minute), float64(st.PurgeLag), float64(10*time.Second))
	_, err = e.s.Purge(ctx)
	require.NoError(t, err)
	st, err = e.s.Stats(ctx)
	require.NoError(t, err)
	require.Zero(t, st.PurgeLag)
	require.Equal(t, uint64(2), st.PurgedInstances)
	require.Equal(t, uint64(1), st.PurgeBatches)
	require.True(t, e.clock.Now().Equal(st.LastPurge))
	require.NoError(t, st.PurgeError)
}
