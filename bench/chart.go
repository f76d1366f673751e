package bench

import (
	"fmt"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// palette colours the systems' bars, in the order they first appear.
var palette = []color.RGBA{
	{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
}

// WriteChart writes a grouped bar chart of msgs/s by system per scenario
// to path; the format follows the extension (.svg, .png, .pdf). Skipped
// and failed rows are drawn as zero.
func WriteChart(path string, m Machine, rs []Result) error {
	var scenarios, systems []string
	for _, r := range rs {
		if !slices.Contains(scenarios, r.Scenario) {
			scenarios = append(scenarios, r.Scenario)
		}
		if !slices.Contains(systems, r.System) {
			systems = append(systems, r.System)
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("biztier bench: messages/s by system (%d cores, %s)", m.Cores, m.GoVersion)
	p.Y.Label.Text = "messages per second"
	p.Y.Min = 0
	p.Legend.Top = true
	p.NominalX(scenarios...)
	width := vg.Points(max(8, 360/float64(max(1, len(scenarios)*len(systems)))))
	for i, sys := range systems {
		vals := make(plotter.Values, len(scenarios))
		for j, sc := range scenarios {
			for _, r := range rs {
				if r.Scenario == sc && r.System == sys && r.Error == "" && r.Skipped == "" {
					vals[j] = r.MsgsPerSec
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = palette[i%len(palette)]
		bars.Offset = width * vg.Length(float64(i)-float64(len(systems)-1)/2)
		p.Add(bars)
		p.Legend.Add(sys, bars)
	}
	w := vg.Length(max(16, 3*len(scenarios))) * vg.Centimeter
	return p.Save(w, 11*vg.Centimeter, path)
}
