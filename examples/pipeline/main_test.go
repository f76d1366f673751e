package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/crashtest"
	"github.com/stretchr/testify/require"
)

// TestPipeline runs the example twice on one directory: the first run
// takes every sample order through receive → orchestration → send; the
// second, with nothing left, writes new orders and carries on from the
// stored state.
func TestPipeline(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	sum, err := run(context.Background(), config{dir: dir, orders: 40}, &out)
	require.NoError(t, err, out.String())
	require.Equal(t, 40, sum.in)
	require.Equal(t, 40, sum.out, out.String())
	require.Zero(t, sum.suspended)
	files, err := filepath.Glob(filepath.Join(dir, "out", "*.xml"))
	require.NoError(t, err)
	require.Len(t, files, 40)
	left, err := filepath.Glob(filepath.Join(dir, "in", "*.xml"))
	require.NoError(t, err)
	require.Empty(t, left, "received files are removed")

	// An order dropped in the input folder before the second run is
	// processed by it, on the same group.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in", "PO-manual-1.xml"), []byte("<Order xmlns=\"urn:shop\"><Id>PO-manual-1</Id></Order>"), 0o644))
	out.Reset()
	sum, err = run(context.Background(), config{dir: dir, orders: 40}, &out)
	require.NoError(t, err, out.String())
	require.Equal(t, 1, sum.in)
	require.Equal(t, 1, sum.out)
	_, err = os.Stat(filepath.Join(dir, "out", "PO-manual-1.xml"))
	require.NoError(t, err)
}

// TestMain lets TestPipeline_KilledAndRerun run the pipeline in a child
// process (this test binary, re-executed) that it can kill.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PIPELINE_CHILD_DIR"); dir != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		orders := 3000
		if n, err := strconv.Atoi(os.Getenv("PIPELINE_CHILD_ORDERS")); err == nil {
			orders = n
		}
		if _, err := run(ctx, config{dir: dir, orders: orders}, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestPipeline_KilledAndRerun kills the pipeline with SIGKILL while orders
// flow through it, then runs it again on the same directory: the rerun
// must finish without an error and every order must come out once (a
// confirmation answered twice after the crash is a zombie, counted, never
// fatal).
func TestPipeline_KilledAndRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline in a child process")
	}
	trials := 2
	if crashtest.RaceEnabled {
		trials = 1 // the race detector makes each run several times slower
	}
	for trial := range trials {
		t.Run(fmt.Sprintf("trial=%d", trial), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "PIPELINE_CHILD_DIR="+dir)
			// Kill once confirmed orders are going out, at a point that
			// differs between trials.
			if !killAfter(t, cmd, 100+400*trial) {
				t.Skip("the child finished before it could be killed")
			}
			var out bytes.Buffer
			sum, err := run(context.Background(), config{dir: dir, orders: 3000}, &out)
			require.NoError(t, err, out.String())
			t.Logf("rerun: %+v", sum)
			files, err := filepath.Glob(filepath.Join(dir, "out", "*.xml"))
			require.NoError(t, err)
			require.Len(t, files, 3000, "every order comes out")
			left, err := filepath.Glob(filepath.Join(dir, "in", "*.xml"))
			require.NoError(t, err)
			require.Empty(t, left)
		})
	}
}

// TestPipeline_KilledRepeatedly kills the pipeline with SIGKILL at random
// points of one run after another on the same directory, then lets a last
// run finish: every order comes out exactly once, whole, and nothing is
// left in the input folder. BIZTIER_PIPELINE_ORDERS and
// BIZTIER_PIPELINE_KILLS size it (default 3000 orders and 4 kills, 1000 and
// 2 under the race detector; issue 16 asks for 20000 and 10);
// BIZTIER_CRASH_SEED replays a seed.
func TestPipeline_KilledRepeatedly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline in child processes")
	}
	orders, kills := 3000, 4
	if crashtest.RaceEnabled {
		orders, kills = 1000, 2 // each run is several times slower
	}
	if n, err := strconv.Atoi(os.Getenv("BIZTIER_PIPELINE_ORDERS")); err == nil {
		orders = n
	}
	if n, err := strconv.Atoi(os.Getenv("BIZTIER_PIPELINE_KILLS")); err == nil {
		kills = n
	}
	seed := crashtest.Seeds(t, 1)[0]
	t.Logf("seed %d, %d orders, %d kills", seed, orders, kills)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	// Only the first run writes the sample orders: a later run that finds
	// them all done (the kills came late) must not write a second batch.
	runs := 0
	child := func() *exec.Cmd {
		n := 0
		if runs == 0 {
			n = orders
		}
		runs++
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PIPELINE_CHILD_DIR="+dir, "PIPELINE_CHILD_ORDERS="+strconv.Itoa(n))
		return cmd
	}
	killed := 0
	for killed < kills {
		// Kill after a random number of confirmed orders of this run.
		if !killAfter(t, child(), 1+rng.IntN(max(1, orders/(kills+1)))) {
			break // the run finished before its kill point
		}
		killed++
	}
	out, err := child().CombinedOutput()
	require.NoError(t, err, string(out))
	summary := ""
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "done:") {
			summary = line
		}
	}
	t.Logf("%d kills; last run: %s", killed, summary)
	files, err := filepath.Glob(filepath.Join(dir, "out", "*.xml"))
	require.NoError(t, err)
	require.Len(t, files, orders, "every order comes out once")
	for _, f := range files {
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		id := strings.TrimSuffix(filepath.Base(f), ".xml")
		require.Contains(t, string(body), "<Id>"+id+"</Id>", "%s holds its own whole order", f)
		require.True(t, bytes.HasSuffix(body, []byte("</Order>\n")), "%s is whole", f)
	}
	left, err := filepath.Glob(filepath.Join(dir, "in", "*.xml"))
	require.NoError(t, err)
	require.Empty(t, left)
}

// TestPipeline_Interrupt sends the pipeline SIGINT while orders flow
// through it: it stops its host instances gracefully, prints the summary
// and exits within 5 s, and a rerun finishes the rest.
// killAfter starts cmd, a child run of the pipeline, and kills it with
// SIGKILL once its progress shows at least sent orders confirmed. It
// reports whether it did: false when the run ended first.
func killAfter(t *testing.T, cmd *exec.Cmd, sent int) bool {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	sc.Split(scanProgress)
	killed := false
	for sc.Scan() {
		var in, n int
		if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "received %d  sent %d", &in, &n); err == nil && n >= sent {
			require.NoError(t, cmd.Process.Kill())
			killed = true
			break
		}
	}
	_ = cmd.Wait()
	return killed
}

func TestPipeline_Interrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline in a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PIPELINE_CHILD_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	sc.Split(scanProgress)
	var sent int
	for sc.Scan() {
		var in int
		if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "received %d  sent %d", &in, &sent); err == nil && sent >= 100 {
			break
		}
	}
	require.GreaterOrEqual(t, sent, 100, "the child never got going")
	interrupted := time.Now()
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	require.NoError(t, cmd.Wait())
	took := time.Since(interrupted)
	require.Less(t, took, 5*time.Second, "exit after SIGINT")
	require.Contains(t, rest.String(), "stopped (run again to carry on)")
	t.Logf("exited %s after SIGINT", took.Round(time.Millisecond))

	var out bytes.Buffer
	_, err = run(context.Background(), config{dir: dir, orders: 3000}, &out)
	require.NoError(t, err, out.String())
	files, err := filepath.Glob(filepath.Join(dir, "out", "*.xml"))
	require.NoError(t, err)
	require.Len(t, files, 3000, "every order comes out")
}

// scanProgress splits the pipeline's output at '\r' as well as '\n'.
func scanProgress(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
