package bam

import (
	"strconv"
	"strings"
)

// This file reads a definition's cubes: measures, the four kinds of
// dimension, and real-time aggregations.

func (p *defParser) cube(n *xnode, parent string) (Cube, error) {
	a := n.at(parent)
	var c Cube
	var err error
	if c.Name, err = name(n, a, maxAnalysisName); err != nil {
		return c, err
	}
	if c.ID, err = p.id(n, a, "Cube", ""); err != nil {
		return c, err
	}
	if c.ActivityViewRef, err = n.required(a, "ActivityViewRef"); err != nil {
		return c, err
	}
	// An activity view's owner is its view; the cube may name any.
	if info, ok := p.ids[c.ActivityViewRef]; ok && info.kind == "ActivityView" {
		p.want(a, c.ActivityViewRef, info.owner, "ActivityView")
	} else {
		p.want(a, c.ActivityViewRef, "", "ActivityView")
	}
	c.CreateOlapCube = true
	if v, ok := n.attr("CreateOlapCube"); ok {
		b, err := parseXSBool(v)
		if err != nil {
			return c, a.errf(ErrMalformed, "CreateOlapCube %q: %v", v, err)
		}
		c.CreateOlapCube = b
	}
	names := map[string]bool{}
	for _, x := range n.kids("Measure") {
		xa := x.at(a.path)
		var m Measure
		if m.Name, err = name(x, xa, maxAnalysisName); err != nil {
			return c, err
		}
		if m.ID, err = p.id(x, xa, "Measure", c.ID); err != nil {
			return c, err
		}
		if m.AliasRef, err = x.required(xa, "AliasRef"); err != nil {
			return c, err
		}
		p.want(xa, m.AliasRef, c.ActivityViewRef, "Alias", "Duration")
		if m.AggregationFunction, err = x.required(xa, "AggregationFunction"); err != nil {
			return c, err
		}
		switch m.AggregationFunction {
		case "Sum", "Count", "Avg", "Min", "Max":
		default:
			return c, xa.errf(ErrMalformed, "AggregationFunction %q is not Sum, Count, Avg, Min or Max", m.AggregationFunction)
		}
		if names[m.Name] {
			return c, xa.errf(ErrReference, "measure name %s used twice", m.Name)
		}
		names[m.Name] = true
		if err := x.leftover(xa); err != nil {
			return c, err
		}
		c.Measures = append(c.Measures, m)
	}
	if len(c.Measures) == 0 {
		return c, a.errf(ErrMalformed, "a cube needs at least one <Measure>")
	}
	// Dimensions keep their document order across kinds.
	n.init()
	dimNames := map[string]bool{}
	for i, x := range n.children {
		kind := DimensionKind(x.local())
		switch kind {
		case DataDimension, TimeDimension, NumericRangeDimension, ProgressDimension:
		default:
			continue
		}
		n.usedChild[i] = true
		dim, err := p.dimension(x, a.path, kind, c)
		if err != nil {
			return c, err
		}
		if dimNames[dim.Name] {
			return c, x.at(a.path).errf(ErrReference, "dimension name %s used twice", dim.Name)
		}
		dimNames[dim.Name] = true
		c.Dimensions = append(c.Dimensions, dim)
	}
	if len(c.Dimensions) == 0 {
		return c, a.errf(ErrMalformed, "a cube needs at least one dimension")
	}
	for _, x := range n.kids("RealTimeAggregation") {
		xa := x.at(a.path)
		var rta RealTimeAggregation
		if rta.Name, err = name(x, xa, maxActivityName); err != nil {
			return c, err
		}
		if rta.ID, err = p.id(x, xa, "RealTimeAggregation", c.ID); err != nil {
			return c, err
		}
		if rta.Measures, err = refs(x, xa, "MeasureRef"); err != nil {
			return c, err
		}
		if rta.Dimensions, err = refs(x, xa, "DimensionRef"); err != nil {
			return c, err
		}
		if len(rta.Measures) == 0 || len(rta.Dimensions) == 0 {
			return c, xa.errf(ErrMalformed, "a real-time aggregation needs a <MeasureRef> and a <DimensionRef>")
		}
		for _, r := range rta.Measures {
			p.want(xa, r, c.ID, "Measure")
		}
		levels := 0
		for _, r := range rta.Dimensions {
			p.want(xa, r, c.ID, "Dimension")
			for _, d := range c.Dimensions {
				if d.ID == r {
					levels += d.levels()
				}
			}
		}
		if levels > MaxRTALevels {
			return c, xa.errf(ErrLimit, "%d dimension levels, at most %d allowed", levels, MaxRTALevels)
		}
		if err := x.leftover(xa); err != nil {
			return c, err
		}
		c.RTAs = append(c.RTAs, rta)
	}
	return c, n.leftover(a)
}

func (p *defParser) dimension(n *xnode, parent string, kind DimensionKind, c Cube) (Dimension, error) {
	a := n.at(parent)
	dim := Dimension{Kind: kind}
	var err error
	if dim.Name, err = name(n, a, maxAnalysisName); err != nil {
		return dim, err
	}
	if dim.ID, err = p.id(n, a, "Dimension", c.ID); err != nil {
		return dim, err
	}
	switch kind {
	case DataDimension:
		if dim.Levels, err = refs(n, a, "LevelAliasRef"); err != nil {
			return dim, err
		}
		if len(dim.Levels) == 0 {
			return dim, a.errf(ErrMalformed, "a data dimension needs a <LevelAliasRef>")
		}
		for _, r := range dim.Levels {
			p.want(a, r, c.ActivityViewRef, "Alias", "Duration")
		}
	case TimeDimension:
		if dim.AliasRef, err = n.required(a, "TimeStampAliasRef"); err != nil {
			return dim, err
		}
		p.want(a, dim.AliasRef, c.ActivityViewRef, "Alias", "Duration")
		for _, x := range n.kids("TimeLevel") {
			xa := x.at(a.path)
			lv := TimeLevel{}
			lv.Name, _ = x.attr("Name")
			if lv.Part, err = x.textOnly(xa); err != nil {
				return dim, err
			}
			if _, ok := timeParts[lv.Part]; !ok {
				return dim, xa.errf(ErrMalformed, "time level %q is not Year, Quarter, Month, Week, Day, Hour or Minute", lv.Part)
			}
			dim.TimeLevels = append(dim.TimeLevels, lv)
		}
		if len(dim.TimeLevels) == 0 {
			return dim, a.errf(ErrMalformed, "a time dimension needs a <TimeLevel>")
		}
	case NumericRangeDimension:
		if dim.AliasRef, err = n.required(a, "NumericAliasRef"); err != nil {
			return dim, err
		}
		p.want(a, dim.AliasRef, c.ActivityViewRef, "Alias", "Duration")
		for _, x := range n.kids("Range") {
			xa := x.at(a.path)
			var r Range
			if r.Name, err = name(x, xa, maxAnalysisName); err != nil {
				return dim, err
			}
			if r.ID, err = p.id(x, xa, "Range", c.ID); err != nil {
				return dim, err
			}
			for _, bound := range []struct {
				attr string
				dst  **float64
			}{{"From", &r.From}, {"To", &r.To}} {
				if v, ok := x.attr(bound.attr); ok {
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err != nil {
						return dim, xa.errf(ErrMalformed, "%s %q is not a number", bound.attr, v)
					}
					*bound.dst = &f
				}
			}
			if err := x.leftover(xa); err != nil {
				return dim, err
			}
			dim.Ranges = append(dim.Ranges, r)
		}
		if len(dim.Ranges) < 2 {
			return dim, a.errf(ErrMalformed, "a numeric range dimension needs at least two <Range>s")
		}
	case ProgressDimension:
		stages := n.kids("ProgressStage")
		if len(stages) != 1 {
			return dim, a.errf(ErrMalformed, "a progress dimension needs exactly one root <ProgressStage>")
		}
		st, err := p.stage(stages[0], a.path, map[string]bool{}, c)
		if err != nil {
			return dim, err
		}
		dim.Stage = &st
	}
	return dim, n.leftover(a)
}

func (p *defParser) stage(n *xnode, parent string, names map[string]bool, c Cube) (Stage, error) {
	a := n.at(parent)
	var st Stage
	var err error
	if st.Name, err = name(n, a, maxAnalysisName); err != nil {
		return st, err
	}
	if names[st.Name] {
		return st, a.errf(ErrReference, "stage name %s used twice", st.Name)
	}
	names[st.Name] = true
	if st.ID, err = p.id(n, a, "Stage", c.ID); err != nil {
		return st, err
	}
	if st.AliasRef, err = n.required(a, "TimeStampAliasRef"); err != nil {
		return st, err
	}
	p.want(a, st.AliasRef, c.ActivityViewRef, "Alias", "Duration")
	for _, x := range n.kids("ProgressStage") {
		sub, err := p.stage(x, a.path, names, c)
		if err != nil {
			return st, err
		}
		st.Stages = append(st.Stages, sub)
	}
	return st, n.leftover(a)
}

// levels is the number of levels a dimension contributes to an
// aggregation.
func (d Dimension) levels() int {
	switch d.Kind {
	case DataDimension:
		return len(d.Levels)
	case TimeDimension:
		return len(d.TimeLevels)
	case ProgressDimension:
		return d.Stage.depth()
	}
	return 1
}

func (s *Stage) depth() int {
	m := 0
	for i := range s.Stages {
		m = max(m, s.Stages[i].depth())
	}
	return m + 1
}
