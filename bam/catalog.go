package bam

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// catalog is the deployed definitions compiled for the event path: lookups
// by name, each alias resolved to checkpoint names, each real-time
// aggregation tied to its activity. A catalog is never modified once
// built: a deployment builds a new one and swaps it in.
type catalog struct {
	def      *Definition
	versions map[string]uint32
	seq      uint64
	acts     map[string]*actInfo // by name
	cubes    map[string]*cubeInfo
	rtas     map[string]*rtaInfo
}

type actInfo struct {
	Activity
	cps  map[string]*Checkpoint // by name
	rtas []*rtaInfo
}

// viewInfo is an activity view with its references resolved.
type viewInfo struct {
	av        *ActivityView
	act       *actInfo
	aliases   map[string][]string // alias ID -> checkpoint names
	aliasType map[string]DataType
	durations map[string]*Duration
}

type cubeInfo struct {
	*Cube
	view     *viewInfo
	measures map[string]*Measure
	dims     map[string]*Dimension
}

type rtaInfo struct {
	name     string
	cube     *cubeInfo
	measures []*Measure
	dims     []*Dimension
}

func emptyCatalog() *catalog {
	return &catalog{def: &Definition{}, versions: map[string]uint32{}, acts: map[string]*actInfo{}, cubes: map[string]*cubeInfo{}, rtas: map[string]*rtaInfo{}}
}

// compile builds a catalog from a validated definition.
func compile(d *Definition, versions map[string]uint32, seq uint64) (*catalog, error) {
	c := emptyCatalog()
	c.def, c.versions, c.seq = d, versions, seq
	byID := map[string]*actInfo{}
	for i := range d.Activities {
		a := &actInfo{Activity: d.Activities[i], cps: map[string]*Checkpoint{}}
		for j := range a.Checkpoints {
			a.cps[a.Checkpoints[j].Name] = &a.Checkpoints[j]
		}
		c.acts[a.Name] = a
		byID[a.ID] = a
	}
	views := map[string]*viewInfo{}
	for i := range d.Views {
		for j := range d.Views[i].ActivityViews {
			av := &d.Views[i].ActivityViews[j]
			act := byID[av.ActivityRef]
			if act == nil {
				return nil, fmt.Errorf("%w: activity view %s names activity %s", ErrReference, av.Name, av.ActivityRef)
			}
			cpName := map[string]*Checkpoint{}
			for k := range act.Checkpoints {
				cpName[act.Checkpoints[k].ID] = &act.Checkpoints[k]
			}
			v := &viewInfo{av: av, act: act, aliases: map[string][]string{}, aliasType: map[string]DataType{}, durations: map[string]*Duration{}}
			for _, al := range av.Aliases {
				for _, r := range al.CheckpointRefs {
					cp := cpName[r]
					if cp == nil {
						return nil, fmt.Errorf("%w: alias %s names checkpoint %s", ErrReference, al.Name, r)
					}
					v.aliases[al.ID] = append(v.aliases[al.ID], cp.Name)
					v.aliasType[al.ID] = cp.Type
				}
			}
			for k := range av.Durations {
				v.durations[av.Durations[k].ID] = &av.Durations[k]
				v.aliasType[av.Durations[k].ID] = Float
			}
			views[av.ID] = v
		}
	}
	for i := range d.Cubes {
		cb := &d.Cubes[i]
		ci := &cubeInfo{Cube: cb, view: views[cb.ActivityViewRef], measures: map[string]*Measure{}, dims: map[string]*Dimension{}}
		if ci.view == nil {
			return nil, fmt.Errorf("%w: cube %s names activity view %s", ErrReference, cb.Name, cb.ActivityViewRef)
		}
		for j := range cb.Measures {
			ci.measures[cb.Measures[j].ID] = &cb.Measures[j]
		}
		for j := range cb.Dimensions {
			ci.dims[cb.Dimensions[j].ID] = &cb.Dimensions[j]
		}
		c.cubes[cb.Name] = ci
		for _, r := range cb.RTAs {
			ri := &rtaInfo{name: r.Name, cube: ci}
			at := "BAMDefinition/Cube[" + cb.Name + "]/RealTimeAggregation[" + r.Name + "]"
			for _, m := range r.Measures {
				ms := ci.measures[m]
				if ms.AggregationFunction != "Sum" && ms.AggregationFunction != "Count" && ms.AggregationFunction != "Avg" {
					return nil, &DefinitionError{Element: at, Err: fmt.Errorf("%w: measure %s is %s; real-time aggregations keep Count, Sum and Avg only", ErrLimit, ms.Name, ms.AggregationFunction)}
				}
				ri.measures = append(ri.measures, ms)
			}
			for _, dm := range r.Dimensions {
				ri.dims = append(ri.dims, ci.dims[dm])
			}
			if _, dup := c.rtas[r.Name]; dup {
				return nil, &DefinitionError{Element: at, Err: fmt.Errorf("%w: real-time aggregation name %s used twice", ErrReference, r.Name)}
			}
			c.rtas[r.Name] = ri
			ci.view.act.rtas = append(ci.view.act.rtas, ri)
		}
	}
	return c, nil
}

// value is an alias's or a duration's value for an instance. A milestone
// group (an alias of several milestones) is the latest that is set; an
// alias of several data checkpoints is the first that is set. A duration
// is the time between its two aliases in its resolution's units, unset
// until both are set.
func (v *viewInfo) value(in *instance, ref string) Value {
	if du := v.durations[ref]; du != nil {
		from, to := v.value(in, du.FromAliasRef), v.value(in, du.ToAliasRef)
		if from.typ != DateTime || to.typ != DateTime {
			return Value{}
		}
		return FloatValue(to.t.Sub(from.t).Seconds() / resolutions[du.TimeResolution])
	}
	var out Value
	for _, name := range v.aliases[ref] {
		x := in.get(name)
		if !x.IsSet() {
			continue
		}
		if x.typ != DateTime {
			return x
		}
		if !out.IsSet() || x.t.After(out.t) {
			out = x
		}
	}
	return out
}

// levels are the dimension's members for an instance, one per level,
// outermost first; "" where the instance has no value.
func (v *viewInfo) levels(d *Dimension, in *instance) []string {
	switch d.Kind {
	case DataDimension:
		out := make([]string, len(d.Levels))
		for i, l := range d.Levels {
			out[i] = v.value(in, l).String()
		}
		return out
	case TimeDimension:
		out := make([]string, len(d.TimeLevels))
		t := v.value(in, d.AliasRef)
		if t.typ != DateTime {
			return out
		}
		for i, l := range d.TimeLevels {
			out[i] = timePart(t.t, l.Part)
		}
		return out
	case NumericRangeDimension:
		x := v.value(in, d.AliasRef)
		if !x.IsSet() {
			return []string{""}
		}
		f := x.Float()
		for _, r := range d.Ranges {
			if (r.From == nil || f >= *r.From) && (r.To == nil || f < *r.To) {
				return []string{r.Name}
			}
		}
		return []string{""}
	case ProgressDimension:
		out := make([]string, d.Stage.depth())
		v.stagePath(d.Stage, in, out)
		return out
	}
	return nil
}

// stagePath fills out with the instance's progress: the stage whose
// milestone is set, then among its sub-stages the one whose milestone is
// latest, and so on down.
func (v *viewInfo) stagePath(s *Stage, in *instance, out []string) {
	if len(out) == 0 || !v.value(in, s.AliasRef).IsSet() {
		return
	}
	out[0] = s.Name
	var best *Stage
	var bestT time.Time
	for i := range s.Stages {
		sub := &s.Stages[i]
		x := v.value(in, sub.AliasRef)
		if x.typ != DateTime {
			continue
		}
		if best == nil || !x.t.Before(bestT) {
			best, bestT = sub, x.t
		}
	}
	if best != nil {
		v.stagePath(best, in, out[1:])
	}
}

func timePart(t time.Time, part string) string {
	t = t.UTC()
	switch part {
	case "Year":
		return strconv.Itoa(t.Year())
	case "Quarter":
		return "Q" + strconv.Itoa((int(t.Month())-1)/3+1)
	case "Month":
		return fmt.Sprintf("%02d", int(t.Month()))
	case "Week":
		_, w := t.ISOWeek()
		return fmt.Sprintf("W%02d", w)
	case "Day":
		return fmt.Sprintf("%02d", t.Day())
	case "Hour":
		return fmt.Sprintf("%02d", t.Hour())
	case "Minute":
		return fmt.Sprintf("%02d", t.Minute())
	}
	return ""
}

// contribution is what one instance adds to an aggregation: its cell's
// dimension members and measure values.
func (r *rtaInfo) contribution(in *instance) (dims []string, c *cell) {
	v := r.cube.view
	for _, d := range r.dims {
		dims = append(dims, v.levels(d, in)...)
	}
	c = &cell{count: 1, n: make([]int64, len(r.measures)), sum: make([]float64, len(r.measures))}
	for i, m := range r.measures {
		x := v.value(in, m.AliasRef)
		if !x.IsSet() {
			continue
		}
		c.n[i] = 1
		if m.AggregationFunction != "Count" {
			f := x.Float()
			if math.IsNaN(f) {
				c.n[i] = 0
				continue
			}
			c.sum[i] = f
		}
	}
	return dims, c
}
