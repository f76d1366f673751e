package bam

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/cockroachdb/pebble/v2"
)

// Aggregation is a real-time aggregation's content over its window: one
// row per combination of dimension members.
type Aggregation struct {
	Name string
	// Levels name the columns of each row's Members: a data dimension's
	// aliases, a time dimension's levels, a numeric range dimension's
	// name, a progress dimension's name once per stage depth.
	Levels []string
	// Measures name the columns of each row's Values.
	Measures []string
	Rows     []AggregationRow
}

// AggregationRow is one cell: its members ("" for an instance with no
// value there), how many instances it holds, and each measure (Count as a
// number; Sum; Avg, NaN when no instance has a value).
type AggregationRow struct {
	Members []string
	Count   int64
	Values  []float64
}

// Aggregation returns a real-time aggregation as it is now: kept in the
// commit of every event, so it counts every event whose commit has
// returned (for a direct stream) or been decoded (the others). Rows are
// sorted by their members. It fails with ErrNotDeployed for an unknown
// name.
func (s *Store) Aggregation(ctx context.Context, name string) (*Aggregation, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	r := s.cat.Load().rtas[name]
	if r == nil {
		return nil, fmt.Errorf("%w: real-time aggregation %s", ErrNotDeployed, name)
	}
	out := &Aggregation{Name: name, Levels: r.levelNames()}
	for _, m := range r.measures {
		out.Measures = append(out.Measures, m.Name)
	}
	from := s.now().Add(-s.opts.RTAWindow).Truncate(s.opts.RTATimeSlice)
	prefix := rtaPrefix(name)
	_, hi := keys.PrefixBounds(prefix)
	sums := map[string]*cell{}
	members := map[string][]string{}
	err := scan(s.r, keys.AppendTime(prefix, from), hi, func(k, v []byte) error {
		rest := k[len(prefix):]
		_, rest, err := keys.DecodeTime(rest)
		if err != nil {
			return corruptf("aggregation key: %v", err)
		}
		var dims []string
		for len(rest) > 0 {
			var d string
			if d, rest, err = keys.DecodeString(rest); err != nil {
				return corruptf("aggregation key: %v", err)
			}
			dims = append(dims, d)
		}
		c, err := decodeCell(v)
		if err != nil {
			return err
		}
		id := strings.Join(dims, "\x00")
		if sums[id] == nil {
			sums[id] = &cell{}
			members[id] = dims
		}
		sums[id].add(c, 1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, c := range sums {
		if c.count == 0 {
			continue
		}
		row := AggregationRow{Members: members[id], Count: c.count, Values: make([]float64, len(r.measures))}
		for i, m := range r.measures {
			n, sum := int64(0), 0.0
			if i < len(c.n) {
				n, sum = c.n[i], c.sum[i]
			}
			switch m.AggregationFunction {
			case "Count":
				row.Values[i] = float64(n)
			case "Sum":
				row.Values[i] = sum
			case "Avg":
				row.Values[i] = math.NaN()
				if n > 0 {
					row.Values[i] = sum / float64(n)
				}
			}
		}
		out.Rows = append(out.Rows, row)
	}
	slices.SortFunc(out.Rows, func(a, b AggregationRow) int { return slices.Compare(a.Members, b.Members) })
	return out, nil
}

// levelNames names an aggregation's member columns.
func (r *rtaInfo) levelNames() []string {
	var out []string
	for _, d := range r.dims {
		out = append(out, dimLevelNames(r.cube.view, d)...)
	}
	return out
}

func dimLevelNames(v *viewInfo, d *Dimension) []string {
	var out []string
	switch d.Kind {
	case DataDimension:
		for _, l := range d.Levels {
			out = append(out, v.aliasName(l))
		}
	case TimeDimension:
		for _, l := range d.TimeLevels {
			if l.Name != "" {
				out = append(out, l.Name)
			} else {
				out = append(out, l.Part)
			}
		}
	case NumericRangeDimension:
		out = append(out, d.Name)
	case ProgressDimension:
		for i := range d.Stage.depth() {
			out = append(out, fmt.Sprintf("%s level %d", d.Name, i+1))
		}
	}
	return out
}

func (v *viewInfo) aliasName(id string) string {
	for _, a := range v.av.Aliases {
		if a.ID == id {
			return a.Name
		}
	}
	for _, d := range v.av.Durations {
		if d.ID == id {
			return d.Name
		}
	}
	return id
}

// rebuildRTAs writes, into b, the cells of the aggregations of d's cubes
// computed from every instance: after an update replaced a cube.
func (s *Store) rebuildRTAs(b *pebble.Batch, cat *catalog, d *Definition) error {
	for _, c := range d.Cubes {
		ci := cat.cubes[c.Name]
		if ci == nil || len(ci.RTAs) == 0 {
			continue
		}
		act := ci.view.act
		cells := map[string]*cell{}
		add := func(k, v []byte) error {
			in, err := decodeInstance(v)
			if err != nil {
				return err
			}
			slice := in.modified.Truncate(s.opts.RTATimeSlice)
			for _, r := range act.rtas {
				if r.cube != ci {
					continue
				}
				dims, cc := r.contribution(in)
				key := string(cellKey(r.name, slice, dims))
				if cells[key] == nil {
					cells[key] = &cell{}
				}
				cells[key].add(cc, 1)
			}
			return nil
		}
		for _, p := range [][]byte{activePrefix(act.Name), completedPrefix(act.Name)} {
			lo, hi := keys.PrefixBounds(p)
			if err := scan(s.r, lo, hi, add); err != nil {
				return err
			}
		}
		for k, c := range cells {
			if err := b.Set([]byte(k), encodeCell(nil, c), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// ageAggregations deletes the cells of every aggregation older than the
// window.
func (s *Store) ageAggregations(b *pebble.Batch, cat *catalog, now time.Time) error {
	cut := now.Add(-s.opts.RTAWindow).Truncate(s.opts.RTATimeSlice)
	for name := range cat.rtas {
		p := rtaPrefix(name)
		if err := b.DeleteRange(p, keys.AppendTime(slices.Clone(p), cut), nil); err != nil {
			return err
		}
	}
	return nil
}
