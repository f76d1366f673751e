package bam

import (
	"io"
	"strconv"
)

// Export writes d as a BAM definition document in UTF-8. ParseDefinition
// of the output returns a Definition equal to d (for a d that
// ParseDefinition returned).
func (d *Definition) Export(w io.Writer) error { return d.export(w, false) }

// ExportUTF16 is Export in UTF-16 (little-endian, with a byte-order mark),
// the encoding Excel's BAM add-in writes.
func (d *Definition) ExportUTF16(w io.Writer) error { return d.export(w, true) }

func (d *Definition) export(out io.Writer, utf16 bool) error {
	var w xw
	w.open("BAMDefinition", false, "xmlns", definitionNS)
	for _, a := range d.Activities {
		writeActivity(&w, a)
	}
	for _, v := range d.Views {
		w.open("View", false, "Name", v.Name, "ID", v.ID)
		for _, av := range v.ActivityViews {
			w.open("ActivityView", false, "Name", av.Name, "ID", av.ID, "ActivityRef", av.ActivityRef)
			for _, al := range av.Aliases {
				w.open("Alias", false, "Name", al.Name, "ID", al.ID)
				for _, r := range al.CheckpointRefs {
					w.leaf("CheckpointRef", r)
				}
				w.close("Alias")
			}
			for _, du := range av.Durations {
				w.open("Duration", false, "Name", du.Name, "ID", du.ID, "TimeResolution", du.TimeResolution)
				w.leaf("FromAliasRef", du.FromAliasRef)
				w.leaf("ToAliasRef", du.ToAliasRef)
				w.close("Duration")
			}
			w.close("ActivityView")
		}
		w.close("View")
	}
	for _, c := range d.Cubes {
		writeCube(&w, c)
	}
	if d.Alerts != "" {
		w.raw(d.Alerts)
	}
	for _, e := range d.Extensions {
		w.raw(e)
	}
	w.close("BAMDefinition")
	return w.finish(out, utf16)
}

func writeActivity(w *xw, a Activity) {
	w.open("Activity", false, "Name", a.Name, "ID", a.ID)
	for _, c := range a.Checkpoints {
		l := ""
		if c.Type == NVarChar {
			l = strconv.Itoa(c.Length)
		}
		w.open("Checkpoint", true, "Name", c.Name, "ID", c.ID, "DataType", string(c.Type), "DataLength", l)
	}
	for _, ix := range a.Indexes {
		w.open("Index", false, "Name", ix.Name, "ID", ix.ID)
		for _, r := range ix.CheckpointRefs {
			w.leaf("CheckpointRef", r)
		}
		w.close("Index")
	}
	w.close("Activity")
}

func writeCube(w *xw, c Cube) {
	w.open("Cube", false, "Name", c.Name, "ID", c.ID, "CreateOlapCube", strconv.FormatBool(c.CreateOlapCube), "ActivityViewRef", c.ActivityViewRef)
	for _, m := range c.Measures {
		w.open("Measure", true, "Name", m.Name, "ID", m.ID, "AliasRef", m.AliasRef, "AggregationFunction", m.AggregationFunction)
	}
	for _, d := range c.Dimensions {
		switch d.Kind {
		case DataDimension:
			w.open(string(d.Kind), false, "Name", d.Name, "ID", d.ID)
			for _, l := range d.Levels {
				w.leaf("LevelAliasRef", l)
			}
		case TimeDimension:
			w.open(string(d.Kind), false, "Name", d.Name, "ID", d.ID, "TimeStampAliasRef", d.AliasRef)
			for _, l := range d.TimeLevels {
				w.leaf("TimeLevel", l.Part, "Name", l.Name)
			}
		case NumericRangeDimension:
			w.open(string(d.Kind), false, "Name", d.Name, "ID", d.ID, "NumericAliasRef", d.AliasRef)
			for _, r := range d.Ranges {
				w.open("Range", true, "Name", r.Name, "ID", r.ID, "From", floatAttr(r.From), "To", floatAttr(r.To))
			}
		case ProgressDimension:
			w.open(string(d.Kind), false, "Name", d.Name, "ID", d.ID)
			if d.Stage != nil {
				writeStage(w, *d.Stage)
			}
		}
		w.close(string(d.Kind))
	}
	for _, r := range c.RTAs {
		w.open("RealTimeAggregation", false, "Name", r.Name, "ID", r.ID)
		for _, m := range r.Measures {
			w.leaf("MeasureRef", m)
		}
		for _, d := range r.Dimensions {
			w.leaf("DimensionRef", d)
		}
		w.close("RealTimeAggregation")
	}
	w.close("Cube")
}

func writeStage(w *xw, s Stage) {
	if len(s.Stages) == 0 {
		w.open("ProgressStage", true, "Name", s.Name, "ID", s.ID, "TimeStampAliasRef", s.AliasRef)
		return
	}
	w.open("ProgressStage", false, "Name", s.Name, "ID", s.ID, "TimeStampAliasRef", s.AliasRef)
	for _, sub := range s.Stages {
		writeStage(w, sub)
	}
	w.close("ProgressStage")
}

func floatAttr(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}
