package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRun runs every scenario briefly on biztier and the Pebble peers (and
// NATS unless -short) and checks the harness, not the speed: every
// message published is completed at the end of its flow, and the report
// files are written. Long runs belong to cmd/biztierbench.
func TestRun(t *testing.T) {
	systems := []string{"biztier", "biztier-op", "pebble-batch", "pebble-op"}
	if !testing.Short() {
		systems = append(systems, "nats")
	}
	cfg := Config{
		Systems:       systems,
		Count:         120,
		Rounds:        2,
		Publishers:    2,
		Consumers:     2,
		Batch:         16,
		Fanout:        3,
		Subscriptions: 300,
		Backlog:       500,
		Dir:           t.TempDir(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	rs, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ran %d rows in %v", len(rs), time.Since(start))
	if got, want := len(rs), len(Scenarios())*len(systems); got != want {
		t.Fatalf("got %d results, want %d", got, want)
	}
	for _, r := range rs {
		name := r.Scenario + "/" + r.System
		if r.Error != "" || r.Skipped != "" {
			t.Errorf("%s: error %q, skipped %q", name, r.Error, r.Skipped)
			continue
		}
		if r.Published != int64(cfg.Count) || r.Messages != r.Published {
			t.Errorf("%s: published %d, completed %d, want %d each", name, r.Published, r.Messages, cfg.Count)
		}
		if r.MsgsPerSec <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.Seconds <= 0 || r.PeakHeap == 0 {
			t.Errorf("%s: implausible measurements %+v", name, r)
		}
		if r.System == "biztier" && r.Ratio != 1 {
			t.Errorf("%s: ratio %v, want 1", name, r.Ratio)
		}
		want := 2 << 10
		if r.Scenario == "large" {
			want = 1 << 20
		}
		if r.BodyBytes != want {
			t.Errorf("%s: body %d bytes, want %d", name, r.BodyBytes, want)
		}
	}

	dir := t.TempDir()
	m := DescribeMachine(cfg.Dir)
	if err := NewReport(m, nil, rs).WriteJSON(filepath.Join(dir, "results.json")); err != nil {
		t.Fatal(err)
	}
	if err := WriteChart(filepath.Join(dir, "results.svg"), m, rs); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Machine Machine           `json:"machine"`
		Units   map[string]string `json:"units"`
		Results []map[string]any  `json:"results"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Machine.Cores <= 0 || back.Machine.GoVersion == "" || len(back.Results) != len(rs) {
		t.Fatalf("results.json: machine %+v, %d rows", back.Machine, len(back.Results))
	}
	for _, k := range []string{"msgs_per_s", "p99_ms", "cpu_s_per_1k_msgs", "peak_heap_bytes", "ratio_to_biztier"} {
		if _, ok := back.Results[0][k]; !ok || back.Units[k] == "" {
			t.Errorf("results.json: row or unit %q missing", k)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "results.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "messaging") {
		t.Fatalf("results.svg does not look like the chart: %.200s", svg)
	}
	var table strings.Builder
	if err := WriteTable(&table, rs); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + table.String())
}

// TestRun_unsupported checks that a system that cannot run is reported as
// skipped, not failed.
func TestRun_unsupported(t *testing.T) {
	t.Setenv("BIZTIER_BENCH_PG", "")
	rs, err := Run(context.Background(), Config{
		Scenarios: []string{"messaging"}, Systems: []string{"postgres"}, Count: 10, Rounds: 1, Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Skipped == "" {
		t.Fatalf("got %+v, want one skipped row", rs)
	}
}

func TestXMLBody(t *testing.T) {
	for _, size := range []int{0, 10, 300, 2 << 10, 1 << 20} {
		if got := len(xmlBody(size)); got != size {
			t.Errorf("xmlBody(%d) has %d bytes", size, got)
		}
	}
}

func TestConfig_validate(t *testing.T) {
	for _, c := range []Config{{Scenarios: []string{"nope"}}, {Systems: []string{"nope"}}} {
		d := c.withDefaults()
		if err := d.validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
