package bench

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
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

// WriteChart writes four grouped bar charts of the results by system per
// scenario to path: msgs/s, bytes written per message, p99 and p999
// latency. The format follows the extension (.svg, .png, .pdf). Skipped
// and failed rows, and bytes not measured, are drawn as zero.
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
	panels := []struct {
		title, label string
		value        func(Result) float64
	}{
		{fmt.Sprintf("messages/s by system (%d cores, %s)", m.Cores, m.GoVersion), "messages per second",
			func(r Result) float64 { return r.MsgsPerSec }},
		{"bytes written per message (postgres: WAL only)", "KiB per message",
			func(r Result) float64 { return r.BytesPerMsg / (1 << 10) }},
		{"p99 latency", "ms", func(r Result) float64 { return ms(r.P99) }},
		{"p999 latency", "ms", func(r Result) float64 { return ms(r.P999) }},
	}
	plots := [][]*plot.Plot{make([]*plot.Plot, 2), make([]*plot.Plot, 2)}
	for i, pn := range panels {
		p, err := barPlot(scenarios, systems, rs, pn.title, pn.label, pn.value)
		if err != nil {
			return err
		}
		plots[i/2][i%2] = p
	}
	// Each panel is as large as the single chart was, plus the padding.
	w := 2*vg.Length(max(16, 3*len(scenarios)))*vg.Centimeter + 2*vg.Centimeter
	h := 2*11*vg.Centimeter + 2*vg.Centimeter
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return fmt.Errorf("bench: chart %s: %w", path, err)
	}
	tiles := draw.Tiles{Rows: 2, Cols: 2, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter / 2, PadLeft: vg.Centimeter / 2, PadRight: vg.Centimeter / 2}
	dc := draw.New(c)
	for i := range plots {
		for j := range plots[i] {
			plots[i][j].Draw(tiles.At(dc, j, i))
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: chart: %w", err)
	}
	_, err = c.WriteTo(f)
	if err := errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("bench: chart %s: %w", path, err)
	}
	return nil
}

// barPlot draws value of each successful result, grouped by scenario and
// coloured by system.
func barPlot(scenarios, systems []string, rs []Result, title, label string, value func(Result) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = label
	p.Y.Min = 0
	p.Legend.Top = true
	p.NominalX(scenarios...)
	// The bars of all systems and scenarios take up to 300 points, which
	// fits a panel's data area: wider bars than that area make gonum's
	// layout come out as NaN.
	width := vg.Points(max(8, 300/float64(max(1, len(scenarios)*len(systems)))))
	for i, sys := range systems {
		vals := make(plotter.Values, len(scenarios))
		for j, sc := range scenarios {
			for _, r := range rs {
				if r.Scenario == sc && r.System == sys && r.Error == "" && r.Skipped == "" {
					vals[j] = value(r)
				}
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("bench: chart: %w", err)
		}
		bars.LineStyle.Width = 0
		bars.Color = palette[i%len(palette)]
		bars.Offset = width * vg.Length(float64(i)-float64(len(systems)-1)/2)
		p.Add(bars)
		p.Legend.Add(sys, bars)
	}
	return p, nil
}
