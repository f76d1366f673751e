package backup

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSchedule runs the job at once and then once per tick of its clock,
// never twice at a time; Stop waits for the run in progress, and Start on
// a running schedule does nothing.
func TestSchedule(t *testing.T) {
	var s Schedule
	ticks := make(chan time.Time)
	after := func(d time.Duration) <-chan time.Time {
		require.Equal(t, time.Hour, d)
		return ticks
	}
	var runs, running atomic.Int32
	release := make(chan struct{})
	job := func(context.Context) {
		require.Equal(t, int32(1), running.Add(1), "runs overlap")
		runs.Add(1)
		<-release
		running.Add(-1)
	}
	s.Start(t.Context(), time.Hour, after, job)
	s.Start(t.Context(), time.Hour, after, job) // no second loop
	release <- struct{}{}                       // the first run ends
	require.Equal(t, int32(1), runs.Load())
	ticks <- time.Time{}
	release <- struct{}{}
	require.Eventually(t, func() bool { return runs.Load() == 2 && running.Load() == 0 }, time.Second, time.Millisecond)

	ticks <- time.Time{} // a third run starts and is held
	require.Eventually(t, func() bool { return running.Load() == 1 }, time.Second, time.Millisecond)
	stopped := make(chan error)
	go func() { stopped <- s.Stop(context.Background()) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a run was in progress")
	case <-time.After(20 * time.Millisecond):
	}
	release <- struct{}{}
	require.NoError(t, <-stopped)
	require.NoError(t, s.Stop(context.Background()), "Stop twice")
	require.Equal(t, int32(3), runs.Load())
}
