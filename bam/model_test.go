package bam

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestStreams_agree runs the same random events (begins, typed updates,
// continuations, references, ends, over a few IDs and tokens, in any
// order) through a direct stream in one store and through the buffered
// stream's spool and decoder in another, with random flushes and clock
// steps: both stores must end with the same instances and the same
// aggregation rows. The decoder is the direct path's fold, in order.
func TestStreams_agree(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		a := openEnv(t, memFS(), &clock{t: epoch}, nil)
		defer a.close()
		b := openEnv(t, memFS(), &clock{t: epoch}, nil)
		defer b.close()
		a.deploy(orderDef)
		b.deploy(orderDef)
		da, db := a.s.DirectStream(0), b.s.BufferedStream(0)
		// o1 and o2 are instances; t1 and t2 continuation tokens, each
		// enabled by one parent at most and never begun, as a process
		// that follows the BAM API does.
		ids := []string{"o1", "o2", "t1", "t2"}
		enabled := map[string]string{}
		n := rapid.IntRange(1, 40).Draw(rt, "events")
		for i := range n {
			id := rapid.SampledFrom(ids).Draw(rt, "id")
			var err1, err2 error
			switch rapid.IntRange(0, 6).Draw(rt, "kind") {
			case 0:
				if id[0] == 't' {
					continue
				}
				err1, err2 = da.BeginActivity(bg, "Order", id), db.BeginActivity(bg, "Order", id)
			case 1:
				region := rapid.SampledFrom([]string{"N", "S"}).Draw(rt, "region")
				amt := float64(rapid.IntRange(0, 200).Draw(rt, "amount"))
				err1 = da.UpdateActivity(bg, "Order", id, "Region", region, "Amount", amt)
				err2 = db.UpdateActivity(bg, "Order", id, "Region", region, "Amount", amt)
			case 2:
				m := rapid.SampledFrom([]string{"Received", "Approved", "Shipped"}).Draw(rt, "milestone")
				at := epoch.Add(time.Duration(i) * time.Minute)
				err1, err2 = da.UpdateActivity(bg, "Order", id, m, at), db.UpdateActivity(bg, "Order", id, m, at)
			case 3:
				tok := rapid.SampledFrom([]string{"t1", "t2"}).Draw(rt, "token")
				if tok == id || (enabled[tok] != "" && enabled[tok] != id) || enabled[id] == tok {
					continue
				}
				enabled[tok] = id
				err1, err2 = da.EnableContinuation(bg, "Order", id, tok), db.EnableContinuation(bg, "Order", id, tok)
			case 4:
				r := Reference{Type: "Doc", Name: fmt.Sprint(i)}
				err1, err2 = da.AddReference(bg, "Order", id, r), db.AddReference(bg, "Order", id, r)
			case 5:
				err1, err2 = da.EndActivity(bg, "Order", id), db.EndActivity(bg, "Order", id)
			case 6:
				require.NoError(rt, da.Flush(bg))
				require.NoError(rt, db.Flush(bg))
				d := time.Duration(rapid.IntRange(0, 10).Draw(rt, "minutes")) * time.Minute
				a.clock.Add(d)
				b.clock.Add(d)
			}
			require.NoError(rt, err1)
			require.NoError(rt, err2)
		}
		require.NoError(rt, da.Flush(bg))
		require.NoError(rt, db.Flush(bg))
		require.NoError(rt, b.s.WaitCaughtUp(bg))
		ia, err := a.s.Instances(bg, "Order", Query{})
		require.NoError(rt, err)
		ib, err := b.s.Instances(bg, "Order", Query{})
		require.NoError(rt, err)
		require.Equal(rt, ia, ib)
		ra, err := a.s.Aggregation(bg, "OrdersByStage")
		require.NoError(rt, err)
		rb, err := b.s.Aggregation(bg, "OrdersByStage")
		require.NoError(rt, err)
		require.Equal(rt, fmt.Sprint(ra.Rows), fmt.Sprint(rb.Rows)) // NaN averages print alike
		// And the aggregation equals one computed from the instances.
		checkAggregation(rt, a, ia)
	})
}

// checkAggregation recomputes the stage aggregation from the instances.
func checkAggregation(t require.TestingT, e *env, insts []*Instance) {
	r := e.s.cat.Load().rtas["OrdersByStage"]
	want := map[string]int64{}
	for _, p := range insts {
		dims, _ := r.contribution(p.private())
		want[fmt.Sprint(dims)]++
	}
	got := map[string]int64{}
	a, err := e.s.Aggregation(bg, "OrdersByStage")
	require.NoError(t, err)
	for _, row := range a.Rows {
		got[fmt.Sprint(row.Members)] += row.Count
	}
	require.Equal(t, want, got)
}
