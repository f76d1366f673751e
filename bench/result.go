package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one scenario run on one system, all rounds added up.
type Result struct {
	Scenario string `json:"scenario"`
	System   string `json:"system"`
	// Messages is the number of messages that went through the whole flow
	// (completed on every sink queue they were routed to); Published is
	// the number published by the receive side. They are equal in a
	// successful run.
	Messages  int64 `json:"messages"`
	Published int64 `json:"published"`
	// BodyBytes is the size of each message body.
	BodyBytes int `json:"body_bytes"`
	// Seconds is the measured time, all rounds added up.
	Seconds float64 `json:"seconds"`
	// MsgsPerSec is Messages / Seconds; MBPerSec counts body bytes (10^6).
	MsgsPerSec float64 `json:"msgs_per_s"`
	MBPerSec   float64 `json:"mb_per_s"`
	// P50, P99 and P999 are latencies from the start of a message's
	// publish call to the completion of its delivery at the end of the
	// flow (nearest rank: with fewer than 1,000 messages P999 is the
	// slowest).
	P50  time.Duration `json:"-"`
	P99  time.Duration `json:"-"`
	P999 time.Duration `json:"-"`
	// CPUPer1k is the process's CPU time (user and system, every goroutine:
	// embedded servers included, an external PostgreSQL not) per 1,000
	// messages.
	CPUPer1k float64 `json:"cpu_s_per_1k_msgs"`
	// BytesPerMsg is the bytes the system caused to be written to storage
	// during its rounds per message, as WriteSource counts them: for the
	// in-process systems the process's write_bytes from Linux's
	// /proc/self/io (bytes sent to the block layer, fsynced log writes
	// included, whole pages; background compactions are counted in the
	// round they run in), for postgres the server's WAL bytes only (from
	// pg_current_wal_lsn, every database's; table and index pages written
	// at checkpoints are not counted). 0 means not measured (not Linux).
	BytesPerMsg float64 `json:"bytes_written_per_msg"`
	// WriteSource says what BytesPerMsg counts; empty when it is 0.
	WriteSource string `json:"bytes_written_source,omitempty"`
	// PeakHeap is the largest live heap of the process sampled during the
	// system's rounds (the other systems' idle state included).
	PeakHeap uint64 `json:"peak_heap_bytes"`
	// Ratio is MsgsPerSec over biztier's in the same scenario (0 if
	// biztier did not run).
	Ratio float64 `json:"ratio_to_biztier"`
	// Skipped says why the system did not run the scenario.
	Skipped string `json:"skipped,omitempty"`
	// Error is the failure of the system in this scenario.
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes the latencies in milliseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		P50ms  float64 `json:"p50_ms"`
		P99ms  float64 `json:"p99_ms"`
		P999ms float64 `json:"p999_ms"`
	}{plain(r), ms(r.P50), ms(r.P99), ms(r.P999)})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ratios(rs []Result) {
	base := map[string]float64{}
	for _, r := range rs {
		if r.System == "biztier" && r.Error == "" && r.Skipped == "" {
			base[r.Scenario] = r.MsgsPerSec
		}
	}
	for i := range rs {
		if b := base[rs[i].Scenario]; b > 0 {
			rs[i].Ratio = rs[i].MsgsPerSec / b
		}
	}
}

// Reference is a published figure to print beside ours.
type Reference struct {
	Scenario string `json:"scenario"`
	Source   string `json:"source"`
	MinMsgs  int    `json:"min_msgs_per_s"`
	MaxMsgs  int    `json:"max_msgs_per_s"`
	Note     string `json:"note"`
}

// References are the BizTalk Benchmark Wizard's published figures.
var References = []Reference{
	{"messaging", "BizTalk Benchmark Wizard", 300, 1400, "BizTalk Server on SQL Server, 4 to 48 cores"},
	{"orchestration", "BizTalk Benchmark Wizard", 200, 520, "BizTalk Server on SQL Server, 4 to 48 cores"},
}

// Machine describes where the results were measured.
type Machine struct {
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu,omitempty"`
	// Disk is the device and filesystem of the data directory.
	Disk string `json:"disk,omitempty"`
	// DataDir is where the stores were.
	DataDir string    `json:"data_dir"`
	When    time.Time `json:"when"`
}

// DescribeMachine returns the Machine running this process, with dataDir's
// disk.
func DescribeMachine(dataDir string) Machine {
	m := Machine{
		Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		DataDir: dataDir, When: time.Now().UTC(),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	m.Disk = describeDisk(dataDir)
	return m
}

// describeDisk finds the mount holding dir in /proc/mounts and says
// whether its block device is rotational.
func describeDisk(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	data, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return ""
	}
	var dev, mnt, fs string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		if (abs == f[1] || strings.HasPrefix(abs, strings.TrimSuffix(f[1], "/")+"/")) && len(f[1]) >= len(mnt) {
			dev, mnt, fs = f[0], f[1], f[2]
		}
	}
	if dev == "" {
		return ""
	}
	out := fmt.Sprintf("%s on %s (%s)", dev, mnt, fs)
	if rot, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "queue/rotational")); err == nil {
		if strings.TrimSpace(string(rot)) == "1" {
			out += ", rotational"
		} else {
			out += ", non-rotational"
		}
	}
	return out
}

// Report is what results.json holds.
type Report struct {
	Machine Machine `json:"machine"`
	// Config is the run's settings, as the command line gave them.
	Config  map[string]any    `json:"config,omitempty"`
	Units   map[string]string `json:"units"`
	Results []Result          `json:"results"`
	// Goals are the project's targets that this run's rows measure.
	Goals      []Goal      `json:"goals,omitempty"`
	References []Reference `json:"references"`
}

var units = map[string]string{
	"messages": "count", "published": "count", "body_bytes": "bytes", "seconds": "s",
	"msgs_per_s": "messages per second", "mb_per_s": "10^6 body bytes per second",
	"p50_ms": "ms", "p99_ms": "ms", "p999_ms": "ms", "cpu_s_per_1k_msgs": "CPU seconds per 1,000 messages",
	"bytes_written_per_msg": "bytes written to storage per message, as bytes_written_source counts them (0 = not measured)",
	"peak_heap_bytes":       "bytes", "ratio_to_biztier": "msgs_per_s over biztier's",
}

// NewReport wraps results with the machine, the units and the references.
func NewReport(m Machine, config map[string]any, rs []Result) Report {
	return Report{Machine: m, Config: config, Units: units, Results: rs, Goals: Goals(rs), References: References}
}

// WriteJSON writes r as indented JSON to path.
func (r Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// WriteTable writes rs as an aligned table, then the reference figures.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	const cols = "scenario\tsystem\tmsgs/s\tMB/s\tp50\tp99\tp999\tCPU s/1k msgs\twritten/msg\tpeak heap\tvs biztier\t"
	fmt.Fprintln(tw, cols)
	// A skipped or failed row leaves the measurement columns empty and
	// puts its reason after them.
	empty := strings.Repeat("\t", strings.Count(cols, "\t")-3)
	for _, r := range rs {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(tw, "%s\t%s\tskipped\t%s  %s\n", r.Scenario, r.System, empty, r.Skipped)
		case r.Error != "":
			fmt.Fprintf(tw, "%s\t%s\tfailed\t%s  %s\n", r.Scenario, r.System, empty, r.Error)
		default:
			ratio := "-"
			if r.Ratio > 0 {
				ratio = fmt.Sprintf("%.2f×", r.Ratio)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\n", r.Scenario, r.System,
				thousands(r.MsgsPerSec), r.MBPerSec, latency(r.P50), latency(r.P99), latency(r.P999), r.CPUPer1k,
				written(r), mib(r.PeakHeap), ratio, reference(r))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, ref := range References {
		fmt.Fprintf(w, "reference: %s %s %s–%s msg/s (%s)\n", ref.Source, ref.Scenario,
			thousands(float64(ref.MinMsgs)), thousands(float64(ref.MaxMsgs)), ref.Note)
	}
	return nil
}

// reference prints the BBW range beside biztier's row of its scenario.
func reference(r Result) string {
	if r.System != "biztier" {
		return ""
	}
	for _, ref := range References {
		if ref.Scenario == r.Scenario {
			return fmt.Sprintf("  BBW %s–%s msg/s", thousands(float64(ref.MinMsgs)), thousands(float64(ref.MaxMsgs)))
		}
	}
	return ""
}

func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func latency(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fms", ms(d))
	default:
		return d.Round(time.Second).String()
	}
}

// written prints bytes written per message, marking postgres's (WAL only).
func written(r Result) string {
	if r.BytesPerMsg <= 0 {
		return "-"
	}
	var s string
	switch b := r.BytesPerMsg; {
	case b < 10<<10:
		s = thousands(b) + " B"
	case b < 10<<20:
		s = fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		s = fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	if r.WriteSource == pgWALSource {
		s += " (WAL)"
	}
	return s
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
