package bench

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
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
		if r.MsgsPerSec <= 0 || r.P50 <= 0 || r.P99 < r.P50 || r.P999 < r.P99 || r.Seconds <= 0 || r.PeakHeap == 0 || r.BytesPerMsg < 0 {
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
	for _, k := range []string{"msgs_per_s", "p50_ms", "p99_ms", "p999_ms", "cpu_s_per_1k_msgs", "bytes_written_per_msg", "peak_heap_bytes", "ratio_to_biztier"} {
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
// skipped, not failed. PostgresOff keeps Run from finding a local server,
// so the test is the same on every machine.
func TestRun_unsupported(t *testing.T) {
	t.Setenv("BIZTIER_BENCH_PG", PostgresOff)
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

// TestRun_profile checks that -profile's files are written for the biztier
// rows' rounds and for no other system.
func TestRun_profile(t *testing.T) {
	dir := t.TempDir()
	rs, err := Run(context.Background(), Config{
		Scenarios: []string{"messaging"}, Systems: []string{"biztier", "pebble-batch"},
		Count: 64, Rounds: 2, Batch: 16, Dir: t.TempDir(), ProfileDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("got %d rows, want 2", len(rs))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"messaging-biztier.allocs.pprof", "messaging-biztier.r1.cpu.pprof", "messaging-biztier.r2.cpu.pprof"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("profile files %v, want %v", got, want)
	}
}

func TestParseWriteBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"linux", "rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 1\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 4096\n", 8192, true},
		{"zero", "write_bytes: 0\n", 0, true},
		{"no newline", "read_bytes: 1\nwrite_bytes: 123456789012", 123456789012, true},
		{"cancelled only", "cancelled_write_bytes: 4096\n", 0, false},
		{"missing", "rchar: 1\n", 0, false},
		{"not a number", "write_bytes: lots\n", 0, false},
		{"negative", "write_bytes: -1\n", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWriteBytes([]byte(tc.in))
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseWriteBytes = %d, %v; want %d, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	seq := func(n int) []int64 {
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(i + 1)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		sorted []int64
		p      float64
		want   int64
	}{
		{"empty", nil, 0.999, 0},
		{"one", []int64{7}, 0.999, 7},
		{"p50 of 10", seq(10), 0.50, 5},
		{"p99 of 100", seq(100), 0.99, 99},
		{"p999 of 100 is the slowest", seq(100), 0.999, 100},
		{"p999 of 1000", seq(1000), 0.999, 999},
		{"p999 of 10000", seq(10000), 0.999, 9990},
		{"p999 of 1001", seq(1001), 0.999, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("percentile(%d samples, %v) = %d, want %d", len(tc.sorted), tc.p, got, tc.want)
			}
		})
	}
}

// TestResult_MarshalJSON checks the new columns' names and units.
func TestResult_MarshalJSON(t *testing.T) {
	r := Result{Scenario: "messaging", System: "postgres", P50: time.Millisecond, P99: 2 * time.Millisecond,
		P999: 3500 * time.Microsecond, BytesPerMsg: 1440, WriteSource: pgWALSource}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want any
	}{
		{"p50_ms", 1.0}, {"p99_ms", 2.0}, {"p999_ms", 3.5},
		{"bytes_written_per_msg", 1440.0}, {"bytes_written_source", pgWALSource},
	} {
		if back[tc.key] != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, back[tc.key], tc.want)
		}
		if _, ok := units[tc.key]; !ok && tc.key != "bytes_written_source" {
			t.Errorf("no unit for %s", tc.key)
		}
	}
}

// TestAllocDelta checks that a round's allocation profile holds what the
// round allocated: a function that allocates between two profiles is in
// the delta with its bytes, and a stack that allocated nothing since is
// not.
func TestAllocDelta(t *testing.T) {
	// Sample finely, so the estimate is close to what was allocated.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 4096
	publishAllocs()
	before, err := allocsNow()
	if err != nil {
		t.Fatal(err)
	}
	// Hold everything allocated so the sampler sees it whatever the rate.
	kept := allocateForProfile(4096)
	publishAllocs()
	after, err := allocsNow()
	if err != nil {
		t.Fatal(err)
	}
	delta, err := allocDelta(nil, before, after)
	if err != nil {
		t.Fatal(err)
	}
	space := -1
	for i, st := range delta.SampleType {
		if st.Type == "alloc_space" {
			space = i
		}
	}
	if space < 0 {
		t.Fatalf("no alloc_space in %v", delta.SampleType)
	}
	var ours int64
	for _, s := range delta.Sample {
		for _, v := range s.Value {
			if v < 0 {
				t.Fatalf("a sample allocated %d", v)
			}
		}
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if strings.HasSuffix(l.Function.Name, ".allocateForProfile") {
					ours += s.Value[space]
				}
			}
		}
	}
	if ours < 4096*1024/2 {
		t.Fatalf("the delta has %d bytes of allocateForProfile, which allocated %d", ours, 4096*1024)
	}
	runtime.KeepAlive(kept)
	if _, err := allocDelta(delta, after, after.Copy()); err != nil {
		t.Fatal(err)
	}
}

//go:noinline
func allocateForProfile(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, 1024)
	}
	return out
}

func TestGoals(t *testing.T) {
	row := func(scenario, system string, msgs, cpu float64) Result {
		return Result{Scenario: scenario, System: system, MsgsPerSec: msgs, CPUPer1k: cpu}
	}
	rs := []Result{
		row("messaging", "biztier", 60, 0.02),
		row("messaging", "pebble-batch", 100, 0.01),
		row("messaging", "biztier-notrack", 50, 0.01),
		{Scenario: "messaging", System: "postgres", Skipped: "no server"},
		row("orchestration", "biztier", 20, 0.05),
	}
	got := map[string]Goal{}
	for _, g := range Goals(rs) {
		got[g.Name] = g
	}
	tests := map[string]struct {
		measured float64
		met      bool
	}{
		"messaging: biztier / pebble-batch msgs/s":          {0.6, true},
		"messaging: biztier / pebble-batch CPU per message": {2, true},
		"messaging: biztier-notrack / pebble-batch msgs/s":  {0.5, false},
		"orchestration biztier / messaging biztier msgs/s":  {1.0 / 3, false},
	}
	for name, tt := range tests {
		g, ok := got[name]
		if !ok {
			t.Fatalf("no goal %q in %v", name, got)
		}
		if math.Abs(g.Measured-tt.measured) > 1e-9 || g.Met != tt.met {
			t.Errorf("%s: measured %.3f met %v, want %.3f %v", name, g.Measured, g.Met, tt.measured, tt.met)
		}
	}
	if len(got) != len(tests) {
		t.Errorf("%d goals, want %d (a skipped peer gives none): %v", len(got), len(tests), got)
	}
}
