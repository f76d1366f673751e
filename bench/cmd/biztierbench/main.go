// Command biztierbench runs the biztier benchmark scenarios side by side
// with peers (raw Pebble, embedded NATS JetStream, PostgreSQL when
// BIZTIER_BENCH_PG is set or a local server answers) on this machine, in one run, and writes a
// table to stdout, results.json and results.svg to -out.
//
//	go run ./bench/cmd/biztierbench -scenarios messaging -duration 20s -out /tmp/bench
//	go run ./bench/cmd/biztierbench -duration 60s -backlog 1000000 -out /tmp/bench
//	go run ./bench/cmd/biztierbench -systems biztier -scenarios messaging -profile /tmp/prof
//
// See package bench for what each scenario and system does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "biztierbench:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg bench.Config
	var (
		scenarios  = flag.String("scenarios", strings.Join(bench.Scenarios(), ","), "comma-separated scenarios:\n"+strings.Join(bench.ScenarioHelp(), "\n"))
		systems    = flag.String("systems", "", "comma-separated systems (default biztier,pebble-batch,pebble-op,nats,postgres; postgres runs on BIZTIER_BENCH_PG, else on a local server if one answers, else is skipped; BIZTIER_BENCH_PG=off leaves it out):\n"+strings.Join(bench.Systems(), "\n"))
		peers      = flag.String("peers", "", "peers to run beside biztier (alternative to -systems; biztier is always included)")
		durability = flag.String("durability", "sync", "sync (every commit fsynced) or nosync")
		durable    = flag.Bool("durable", true, "shorthand: -durable=false is -durability nosync")
		out        = flag.String("out", ".", "directory for results.json and results.svg")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (not with -profile)")
		quiet      = flag.Bool("q", false, "no progress line")
	)
	flag.DurationVar(&cfg.Duration, "duration", bench.DefaultDuration, "publishing time per scenario and system, split over -rounds")
	flag.IntVar(&cfg.Count, "count", 0, "messages per scenario and system instead of -duration")
	flag.IntVar(&cfg.Rounds, "rounds", 3, "alternating rounds per scenario")
	flag.IntVar(&cfg.Publishers, "publishers", 4, "publishing goroutines")
	flag.IntVar(&cfg.Consumers, "consumers", 2, "consuming goroutines per queue")
	flag.IntVar(&cfg.Batch, "batch", 64, "messages per commit for the batched systems")
	flag.Float64Var(&cfg.Rate, "rate", 0, "open-loop: msgs/s offered in all, on a fixed schedule (latency from the scheduled send); 0 runs closed-loop")
	flag.IntVar(&cfg.Inflight, "inflight", 0, "messages in flight at most (default 4 × publishers × the system's batch)")
	flag.IntVar(&cfg.Size, "size", 0, "body bytes (default 2048; 1 MiB for large)")
	flag.IntVar(&cfg.Fanout, "fanout", 8, "subscriptions per message in the fanout scenario")
	flag.IntVar(&cfg.Subscriptions, "subscriptions", 10_000, "subscriptions in the subscriptions scenario")
	flag.IntVar(&cfg.Backlog, "backlog", bench.DefaultBacklog, "completed messages before the backlog scenario (the full BBW-style figure is 1000000)")
	flag.StringVar(&cfg.ProfileDir, "profile", "", "directory for profiles of the biztier rows' rounds only (not with -cpuprofile):\n"+
		"SCENARIO-SYSTEM.rN.cpu.pprof, the CPU profile of round N (one per round, as only one CPU profile runs at a time;\n"+
		"`go tool pprof DIR/messaging-biztier.r*.cpu.pprof` merges them), and SCENARIO-SYSTEM.allocs.pprof, the allocations of all its rounds")
	flag.StringVar(&cfg.Dir, "dir", "", "where the stores are made (default the system temp dir; put it on the disk to measure)")
	flag.Parse()

	cfg.Scenarios = split(*scenarios)
	cfg.Systems = split(*systems)
	if p := split(*peers); len(p) > 0 {
		cfg.Systems = append([]string{"biztier"}, p...)
	}
	switch {
	case *durability == "nosync" || !*durable:
		cfg.Durability = biztier.NoSync
	case *durability == "sync":
		cfg.Durability = biztier.Sync
	default:
		return fmt.Errorf("-durability %q: want sync or nosync", *durability)
	}
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if cfg.ProfileDir != "" {
		if *cpuprofile != "" {
			return fmt.Errorf("-profile and -cpuprofile: only one CPU profile runs at a time")
		}
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return err
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dataDir := cfg.Dir
	if dataDir == "" {
		dataDir = os.TempDir()
	}
	machine := bench.DescribeMachine(dataDir)
	fmt.Printf("biztierbench: %d cores, %s, %s/%s, disk %s, durability %s%s\n",
		machine.Cores, machine.GoVersion, machine.OS, machine.Arch, machine.Disk,
		map[bool]string{true: "sync", false: "nosync"}[cfg.Durability == biztier.Sync], postgres(ctx, &cfg))
	results, runErr := bench.Run(ctx, cfg)
	if err := bench.WriteTable(os.Stdout, results); err != nil {
		return err
	}
	bench.WriteGoals(os.Stdout, bench.Goals(results))
	settings := map[string]any{}
	flag.VisitAll(func(f *flag.Flag) { settings[f.Name] = f.Value.String() })
	report := bench.NewReport(machine, settings, results)
	jsonPath := filepath.Join(*out, "results.json")
	if err := report.WriteJSON(jsonPath); err != nil {
		return err
	}
	svgPath := filepath.Join(*out, "results.svg")
	if len(results) > 0 {
		if err := bench.WriteChart(svgPath, machine, results); err != nil {
			return err
		}
	}
	fmt.Printf("wrote %s and %s\n", jsonPath, svgPath)
	return runErr
}

// postgres settles cfg's PostgreSQL server before the run, looking for a
// local one as Run would, and describes it for the header line.
func postgres(ctx context.Context, cfg *bench.Config) string {
	if cfg.PostgresDSN == "" {
		cfg.PostgresDSN = os.Getenv("BIZTIER_BENCH_PG")
	}
	wanted := len(cfg.Systems) == 0 && cfg.PostgresDSN != bench.PostgresOff || slices.Contains(cfg.Systems, "postgres")
	switch {
	case !wanted:
		return ""
	case cfg.PostgresDSN == bench.PostgresOff:
		return ", postgres off"
	case cfg.PostgresDSN != "":
		return ", postgres " + bench.RedactDSN(cfg.PostgresDSN) + " (BIZTIER_BENCH_PG)"
	}
	if cfg.PostgresDSN = bench.FindPostgres(ctx); cfg.PostgresDSN == "" {
		// Run looks again (a refused connection costs nothing) and
		// reports the row as skipped, with the reason.
		return ", postgres skipped (no local server answered; set BIZTIER_BENCH_PG)"
	}
	return ", postgres " + bench.RedactDSN(cfg.PostgresDSN) + " (found locally)"
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
