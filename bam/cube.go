package bam

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
)

// CubeData is a scheduled aggregation computed on demand: every measure of
// a cube by all its dimensions, over one consistent snapshot of the
// activity's instances.
type CubeData struct {
	Name     string
	Levels   []string
	Measures []string
	Rows     []AggregationRow
	// Instances is how many instances the snapshot held.
	Instances int
}

// ComputeCube computes a cube (BizTalk's CubeUpdate package) from every
// instance of its activity: active, completed and archived. Like
// bam_Metadata_BeginAnalysis it holds BAM's writers off for the snapshot
// (the decoder and direct flushes wait, buffered and in-transaction
// events still spool), and records the time it ran: Maintain archives a
// partition only once every cube over its activity has been computed
// after the partition ended. Measures: Sum, Count, Avg, Min and Max; Min,
// Max and Avg are NaN in a cell with no value.
func (s *Store) ComputeCube(ctx context.Context, name string) (*CubeData, error) {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return nil, err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	cat := s.cat.Load()
	ci := cat.cubes[name]
	if ci == nil {
		return nil, fmt.Errorf("%w: cube %s", ErrNotDeployed, name)
	}
	now := s.now()
	v := ci.view
	out := &CubeData{Name: name}
	for _, d := range ci.Dimensions {
		out.Levels = append(out.Levels, dimLevelNames(v, &d)...)
	}
	for _, m := range ci.Measures {
		out.Measures = append(out.Measures, m.Name)
	}
	type acc struct {
		members    []string
		count      int64
		n          []int64
		sum        []float64
		minV, maxV []float64
	}
	cells := map[string]*acc{}
	add := func(in *instance) {
		out.Instances++
		var members []string
		for i := range ci.Dimensions {
			members = append(members, v.levels(&ci.Dimensions[i], in)...)
		}
		id := strings.Join(members, "\x00")
		a := cells[id]
		if a == nil {
			k := len(ci.Measures)
			a = &acc{members: members, n: make([]int64, k), sum: make([]float64, k), minV: make([]float64, k), maxV: make([]float64, k)}
			for i := range k {
				a.minV[i], a.maxV[i] = math.Inf(1), math.Inf(-1)
			}
			cells[id] = a
		}
		a.count++
		for i, m := range ci.Measures {
			x := v.value(in, m.AliasRef)
			if !x.IsSet() {
				continue
			}
			a.n[i]++
			f := x.Float()
			if math.IsNaN(f) {
				continue
			}
			a.sum[i] += f
			a.minV[i] = math.Min(a.minV[i], f)
			a.maxV[i] = math.Max(a.maxV[i], f)
		}
	}
	for _, p := range [][]byte{activePrefix(v.act.Name), completedPrefix(v.act.Name)} {
		lo, hi := keys.PrefixBounds(p)
		err := scan(s.r, lo, hi, func(k, val []byte) error {
			in, err := decodeInstance(val)
			if err != nil {
				return err
			}
			add(in)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if s.opts.Archive != nil {
		err := s.opts.Archive.Scan(ctx, v.act.Name, func(p *Instance) error {
			// Archived but not yet deleted (a crashed maintenance pass):
			// already counted from the database.
			if _, err := get(s.r, byIDKey(v.act.Name, p.ID)); err == nil {
				return nil
			} else if !errors.Is(err, errNotFound) {
				return err
			}
			add(p.private())
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, a := range cells {
		row := AggregationRow{Members: a.members, Count: a.count, Values: make([]float64, len(ci.Measures))}
		for i, m := range ci.Measures {
			val := math.NaN()
			switch m.AggregationFunction {
			case "Count":
				val = float64(a.n[i])
			case "Sum":
				val = a.sum[i]
			case "Avg":
				if a.n[i] > 0 {
					val = a.sum[i] / float64(a.n[i])
				}
			case "Min":
				if !math.IsInf(a.minV[i], 1) {
					val = a.minV[i]
				}
			case "Max":
				if !math.IsInf(a.maxV[i], -1) {
					val = a.maxV[i]
				}
			}
			row.Values[i] = val
		}
		out.Rows = append(out.Rows, row)
	}
	slices.SortFunc(out.Rows, func(a, b AggregationRow) int { return slices.Compare(a.Members, b.Members) })
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(cubeMarkKey(name), keys.AppendTime(nil, now), nil); err != nil {
		return nil, err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return out, nil
}
