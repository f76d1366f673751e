// Command mutants is the pair's mutation check. It puts each known class
// of replication bug into the code, one at a time, runs the tests that
// should catch it, and prints whether they did. Run it on demand (it takes
// a few minutes; CI does not run it):
//
//	go run ./internal/mutants            # every mutant
//	go run ./internal/mutants -run fence # mutants whose name matches
//
// It never modifies the working tree, which other people share: each
// mutated file is written to a temporary directory and handed to the go
// command with -overlay, which compiles the copy in place of the original.
// A mutant whose text no longer matches its file (the code moved on) is
// reported as stale, not as caught. It exits non-zero unless every mutant
// is caught.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// edit replaces old, which must occur exactly once in file, with new.
type edit struct {
	file     string // relative to the module root
	old, new string
}

// mutant is one bug class and the tests that must catch it.
type mutant struct {
	name  string
	edits []edit
	tests string   // a go test -run pattern, in ./cluster/
	env   []string // added to the tests' environment
}

var mutants = []mutant{
	{
		name: "passive acks before fsync",
		edits: []edit{{"cluster/follower.go",
			"d, a := log.DurableLSN(), log.AppliedLSN()",
			"n.mu.Lock(); rcv := n.fol.activeLSN; n.mu.Unlock(); d, a := max(log.DurableLSN(), rcv), log.AppliedLSN()"}},
		tests: "TestNode_CommitWaitsForPassiveFsync",
	},
	{
		name: "acknowledging after the local fsync only",
		edits: []edit{{"cluster/primary.go",
			"ok := p.mode == Async || !p.waitS",
			"ok := true"}},
		tests: "TestNode_CommitWaitsForPassiveFsync|TestNode_StrictBlocksWithoutPassive",
	},
	{
		name: "no stale-epoch check",
		edits: []edit{{"cluster/follower.go",
			"if epoch < log.Epoch() {",
			"if false {"}},
		tests: "TestFollower_RefusesOlderEpochStream",
	},
	{
		name: "no self-fence",
		edits: []edit{{"cluster/primary.go",
			"return time.Now().Before(p.term.ValidUntil())",
			"return true"}},
		tests: "TestNode_PausedActiveReadFenced|TestNode_StaleActiveCannotCommit",
	},
	{
		name: "promotion ignoring the sync record",
		edits: []edit{{"cluster/node.go",
			"if err := checkPromotion(rec, ok, n.opts.ID, n.diskID(), log.Epoch(), log.DurableLSN()); err != nil {",
			"if err := checkPromotion(rec, ok, n.opts.ID, n.diskID(), log.Epoch(), log.DurableLSN()); false && err != nil {"}},
		tests: "TestNode_PartitionActivePassiveDegrades|TestNode_LostDiskNotPromoted|TestNode_StaleSyncRecordNotPromoted",
	},
	{
		name: "no CRC-chain check on catch-up",
		edits: []edit{
			{"wal/replicate.go", "case chained && f.PrevCRC != prev:", "case false && chained && f.PrevCRC != prev:"},
			{"wal/replicate.go", "case l.chainKnown && f.PrevCRC != l.lastCRC:", "case false && l.chainKnown && f.PrevCRC != l.lastCRC:"},
		},
		tests: "TestFollower_RefusesBrokenChain",
	},
	{
		name: "no divergent-tail cut",
		edits: []edit{{"cluster/follower.go",
			"if err := clusterhooks.Of(n.group()).TruncateTail(ctx, fork); err != nil {",
			"if err := clusterhooks.Of(n.group()).TruncateTail(ctx, max(fork, log.DurableLSN())); err != nil {"}},
		tests: "TestNode_ReturningActiveTruncatesTail",
	},
	{
		name: "a lost disk promoted",
		edits: []edit{{"cluster/witness.go",
			"if c.Disk != disk {",
			"if false && c.Disk != disk {"}},
		tests: "TestCheckPromotion|TestNode_LostDiskNotPromoted",
	},
	{
		// The same, as the randomized nemesis meets it: a power cut, then
		// the passive back first on an empty disk (with the LSN check that
		// would also stop it gone too).
		name: "a lost disk promoted (nemesis)",
		edits: []edit{
			{"cluster/witness.go", "if c.Disk != disk {", "if false && c.Disk != disk {"},
			{"cluster/witness.go", "if durable < c.From {", "if false && durable < c.From {"},
		},
		tests: "TestFailoverRandomized",
		env:   []string{"BIZTIER_TRIALS=40"},
	},
	{
		name: "a stale sync record trusted",
		edits: []edit{{"cluster/witness.go",
			"if rec.Epoch < logEpoch {",
			"if false && rec.Epoch < logEpoch {"}},
		tests: "TestCheckPromotion|TestNode_StaleSyncRecordNotPromoted",
	},
}

func main() {
	run := flag.String("run", "", "only mutants whose name matches this regular expression")
	timeout := flag.Duration("timeout", 5*time.Minute, "time limit for one mutant's tests")
	flag.Parse()
	if err := check(*run, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

func check(pattern string, timeout time.Duration) error {
	sel, err := regexp.Compile(pattern)
	if err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "biztier-mutants-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	missed := 0
	for i, m := range mutants {
		if !sel.MatchString(m.name) {
			continue
		}
		start := time.Now()
		verdict, detail := try(root, filepath.Join(tmp, fmt.Sprint(i)), m, timeout)
		if verdict != "caught" {
			missed++
		}
		fmt.Printf("%-42s %-7s %5.1fs  %s\n", m.name, verdict, time.Since(start).Seconds(), detail)
	}
	if missed > 0 {
		return fmt.Errorf("%d mutant(s) not caught", missed)
	}
	fmt.Println("every mutant caught")
	return nil
}

// try applies m in an overlay under dir and runs its tests. The verdict is
// "caught" (a test failed), "MISSED" (the tests passed), "STALE" (the
// mutant does not apply) or "ERROR" (it does not build, or the run failed
// otherwise).
func try(root, dir string, m mutant, timeout time.Duration) (verdict, detail string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "ERROR", err.Error()
	}
	replace := map[string]string{}
	contents := map[string][]byte{}
	for _, e := range m.edits {
		src := filepath.Join(root, e.file)
		b, ok := contents[src]
		if !ok {
			var err error
			if b, err = os.ReadFile(src); err != nil {
				return "ERROR", err.Error()
			}
		}
		if n := bytes.Count(b, []byte(e.old)); n != 1 {
			return "STALE", fmt.Sprintf("%s: %q occurs %d times", e.file, e.old, n)
		}
		contents[src] = bytes.Replace(b, []byte(e.old), []byte(e.new), 1)
	}
	for src, b := range contents {
		dst := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(src, root), string(filepath.Separator), "_"))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "ERROR", err.Error()
		}
		replace[src] = dst
	}
	overlay := filepath.Join(dir, "overlay.json")
	js, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "ERROR", err.Error()
	}
	if err := os.WriteFile(overlay, js, 0o644); err != nil {
		return "ERROR", err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-overlay="+overlay, "-run", m.tests, "./cluster/")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), m.env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "MISSED", "passed: " + m.tests
	case ctx.Err() != nil:
		return "ERROR", fmt.Sprintf("timed out after %v", timeout)
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return "ERROR", "does not build: " + firstLine(out)
	case errors.As(err, &exit):
		return "caught", "by " + failedTests(out)
	default:
		return "ERROR", err.Error()
	}
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

var failRE = regexp.MustCompile(`(?m)^--- FAIL: (\S+)`)

// failedTests names the top-level tests that failed in go test's output.
func failedTests(out []byte) string {
	var names []string
	for _, m := range failRE.FindAllSubmatch(out, -1) {
		if name := string(m[1]); !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "a failing run: " + firstLine(out)
	}
	return strings.Join(names, ", ")
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
