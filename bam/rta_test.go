package bam

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func rows(t *testing.T, e *env, name string) map[string][]float64 {
	t.Helper()
	a, err := e.s.Aggregation(bg, name)
	require.NoError(t, err)
	out := map[string][]float64{}
	for _, r := range a.Rows {
		k := ""
		for _, m := range r.Members {
			k += "/" + m
		}
		out[k] = append([]float64{float64(r.Count)}, r.Values...)
	}
	return out
}

// TestAggregation_movesWithStage checks that an instance's contribution
// moves between progress stages in the commit of the event that moves it,
// for a direct stream and for the decoder.
func TestAggregation_movesWithStage(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "buffered"}[buffered], func(t *testing.T) {
			e := newEnv(t, nil)
			e.deploy(orderDef)
			es := e.s.DirectStream(1)
			if buffered {
				es = e.s.BufferedStream(1)
			}
			sync := func() {
				if buffered {
					require.NoError(t, e.s.WaitCaughtUp(bg))
				}
			}
			a, err := e.s.Aggregation(bg, "OrdersByStage")
			require.NoError(t, err)
			require.Equal(t, []string{"Stage level 1", "Stage level 2", "Stage level 3"}, a.Levels)
			require.Equal(t, []string{"Count", "Total", "AvgAmount"}, a.Measures)
			for i, id := range []string{"1", "2", "3"} {
				require.NoError(t, es.BeginActivity(bg, "Order", id))
				require.NoError(t, es.UpdateActivity(bg, "Order", id, "Received", epoch, "Amount", float64(10*(i+1))))
			}
			sync()
			require.Equal(t, map[string][]float64{"/Received//": {3, 3, 60, 20}}, rows(t, e, "OrdersByStage"))
			require.NoError(t, es.UpdateActivity(bg, "Order", "2", "Approved", epoch.Add(time.Minute)))
			sync()
			require.Equal(t, map[string][]float64{
				"/Received//":         {2, 2, 40, 20},
				"/Received/Approved/": {1, 1, 20, 20},
			}, rows(t, e, "OrdersByStage"))
			require.NoError(t, es.UpdateActivity(bg, "Order", "2", "Shipped", epoch.Add(2*time.Minute)))
			require.NoError(t, es.EndActivity(bg, "Order", "2"))
			sync()
			require.Equal(t, map[string][]float64{
				"/Received//":                {2, 2, 40, 20},
				"/Received/Approved/Shipped": {1, 1, 20, 20},
			}, rows(t, e, "OrdersByStage"))
			// Completed instances still count; the window ages them out.
			e.clock.Add(25 * time.Hour)
			require.Empty(t, rows(t, e, "OrdersByStage"))
			rep, err := e.s.Maintain(bg)
			require.NoError(t, err)
			require.Empty(t, rep.Moved)
		})
	}
}

func TestComputeCube(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	es := e.s.DirectStream(0)
	for i, region := range []string{"North", "North", "South"} {
		id := string(rune('a' + i))
		require.NoError(t, es.BeginActivity(bg, "Order", id))
		require.NoError(t, es.UpdateActivity(bg, "Order", id, "Received", epoch, "Region", region, "Amount", float64(50*(i+1))))
	}
	require.NoError(t, es.Flush(bg))
	c, err := e.s.ComputeCube(bg, "Orders")
	require.NoError(t, err)
	require.Equal(t, 3, c.Instances)
	require.Equal(t, []string{"Region", "Stage level 1", "Stage level 2", "Stage level 3", "Year", "Month", "Size"}, c.Levels)
	require.Len(t, c.Rows, 3)
	// North, small (50) and large (100); South large (150).
	require.Equal(t, []string{"North", "Received", "", "", "2026", "01", "Large"}, c.Rows[0].Members)
	require.Equal(t, []float64{1, 100, 100, 100}, c.Rows[0].Values)
	require.Equal(t, []string{"North", "Received", "", "", "2026", "01", "Small"}, c.Rows[1].Members)
	require.Equal(t, "South", c.Rows[2].Members[0])
	require.Equal(t, 150.0, c.Rows[2].Values[3])
	_, err = e.s.ComputeCube(bg, "Nope")
	require.ErrorIs(t, err, ErrNotDeployed)
}

func TestViewValues(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	v := e.s.cat.Load().cubes["Orders"].view
	in := &instance{}
	require.False(t, v.value(in, "AL_Decided").IsSet())
	in.set("Denied", TimeValue(epoch.Add(time.Hour)))
	in.set("Approved", TimeValue(epoch))
	require.Equal(t, epoch.Add(time.Hour), v.value(in, "AL_Decided").Time(), "a milestone group is its latest milestone")
	require.False(t, v.value(in, "D_ToShip").IsSet())
	in.set("Received", TimeValue(epoch))
	in.set("Shipped", TimeValue(epoch.Add(90*time.Minute)))
	require.Equal(t, 90.0, v.value(in, "D_ToShip").Float())
	require.True(t, math.IsNaN(Value{}.Float()))
}

// TestAggregation_valueChangeInPlace: a change of a measure's value that
// leaves the instance in the same cell still changes the cell's sum.
func TestAggregation_valueChangeInPlace(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	es := e.s.DirectStream(1)
	require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Received", epoch, "Amount", 5.0))
	require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Amount", 170.0))
	require.Equal(t, map[string][]float64{"/Received//": {1, 1, 170, 170}}, rows(t, e, "OrdersByStage"))
}

// TestAggregation_deployedOverInstances: a cube deployed over an activity
// that already has instances starts with their contributions.
func TestAggregation_deployedOverInstances(t *testing.T) {
	e := newEnv(t, nil)
	d, err := ParseDefinitionBytes([]byte(orderDef))
	require.NoError(t, err)
	require.NoError(t, e.s.Deploy(bg, &Definition{Activities: d.Activities}, "test"))
	es := e.s.DirectStream(0)
	require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Received", epoch, "Amount", 5.0))
	require.NoError(t, es.UpdateActivity(bg, "Order", "2", "Received", epoch, "Approved", epoch, "Amount", 7.0))
	require.NoError(t, es.Flush(bg))
	require.NoError(t, e.s.Deploy(bg, &Definition{Views: d.Views, Cubes: d.Cubes}, "test"))
	require.Equal(t, map[string][]float64{
		"/Received//":         {1, 1, 5, 5},
		"/Received/Approved/": {1, 1, 7, 7},
	}, rows(t, e, "OrdersByStage"))
}
