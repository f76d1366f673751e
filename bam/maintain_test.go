package bam

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func TestMaintain_window(t *testing.T) {
	for _, archive := range []bool{false, true} {
		t.Run(map[bool]string{false: "drop", true: "archive"}[archive], func(t *testing.T) {
			var opts Options
			if archive {
				a, err := NewFileArchive(vfs.NewMem(), "archive")
				require.NoError(t, err)
				opts.Archive = a
			}
			e := newEnv(t, &opts)
			e.moved = true
			e.deploy(orderDef)
			es := e.s.DirectStream(1)
			done := func(id string) {
				require.NoError(t, es.BeginActivity(bg, "Order", id))
				require.NoError(t, es.UpdateActivity(bg, "Order", id, "Received", e.clock.Now(), "Region", "N"))
				require.NoError(t, es.EnableContinuation(bg, "Order", id, "c-"+id))
				require.NoError(t, es.EndActivity(bg, "Order", id))
				require.NoError(t, es.EndActivity(bg, "Order", "c-"+id))
			}
			done("jan")                      // completes in January
			e.clock.Add(60 * 24 * time.Hour) // March
			done("mar")
			require.NoError(t, es.BeginActivity(bg, "Order", "open")) // stays active
			e.clock.Add(160 * 24 * time.Hour)                         // August
			rep, err := e.s.Maintain(bg)
			require.NoError(t, err)
			require.Empty(t, rep.Moved)
			require.Len(t, rep.Held, 1, "the cube has not been computed since January ended")
			_, err = e.s.ComputeCube(bg, "Orders")
			require.NoError(t, err)
			rep, err = e.s.Maintain(bg)
			require.NoError(t, err)
			require.Equal(t, []string{"Order@2026-01-01T00:00:00Z"}, rep.Moved)
			require.Equal(t, 1, rep.Instances)
			all, err := e.s.Instances(bg, "Order", Query{})
			require.NoError(t, err)
			got := map[string]State{}
			for _, in := range all {
				got[in.ID] = in.State
			}
			want := map[string]State{"open": Active, "mar": Completed}
			if archive {
				want["jan"] = Archived
				in := e.instance("Order", "jan")
				require.Equal(t, Archived, in.State)
				require.Equal(t, "N", in.Values["Region"].String())
				require.Equal(t, []Continuation{{Token: "c-jan", Ended: true}}, in.Continuations)
			} else {
				_, err := e.s.Instance(bg, "Order", "jan")
				require.ErrorIs(t, err, ErrNotFound)
			}
			require.Equal(t, want, got)
			// The March partition goes in October.
			e.clock.Add(60 * 24 * time.Hour)
			_, err = e.s.ComputeCube(bg, "Orders")
			require.NoError(t, err)
			rep, err = e.s.Maintain(bg)
			require.NoError(t, err)
			require.Equal(t, []string{"Order@2026-03-01T00:00:00Z"}, rep.Moved)
		})
	}
}

// TestMaintain_heldForAggregation: with an online window shorter than the
// aggregation window, a partition whose instances an aggregation still
// counts stays until they age out of it.
func TestMaintain_heldForAggregation(t *testing.T) {
	e := newEnv(t, &Options{WindowUnit: Minute, WindowLength: 1, RTAWindow: time.Hour})
	e.moved = true
	d, err := ParseDefinitionBytes([]byte(orderDef))
	require.NoError(t, err)
	d.Cubes[0].CreateOlapCube = false // no scheduled cube to wait for
	require.NoError(t, e.s.Deploy(bg, d, "test"))
	es := e.s.DirectStream(1)
	require.NoError(t, es.BeginActivity(bg, "Order", "1"))
	require.NoError(t, es.EndActivity(bg, "Order", "1"))
	e.clock.Add(10 * time.Minute)
	rep, err := e.s.Maintain(bg)
	require.NoError(t, err)
	require.Empty(t, rep.Moved)
	require.Len(t, rep.Held, 1)
	e.clock.Add(time.Hour)
	rep, err = e.s.Maintain(bg)
	require.NoError(t, err)
	require.Len(t, rep.Moved, 1)
}
