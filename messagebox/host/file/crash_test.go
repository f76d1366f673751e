package file_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/file"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/biztier/biztier/mgmt"
)

// crashDirEnv tells the test binary to run as the crash test's child: a
// receive and a send host instance on the group in that folder.
const crashDirEnv = "BIZTIER_FILE_CRASH_DIR"

// TestFILE_crashHelper is the crash test's child process; run alone it
// does nothing.
func TestFILE_crashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		return
	}
	if err := runFlow(dir); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// runFlow runs FILE receive → route → FILE send on the group in dir until
// the input folder is empty and nothing is left in the MessageBox.
func runFlow(dir string) error {
	ctx := context.Background()
	g, err := biztier.Open(filepath.Join(dir, "group"), nil)
	if err != nil {
		return err
	}
	defer g.Close()
	mg, err := g.Management()
	if err != nil {
		return err
	}
	if _, err := mg.ReceivePort("ReceiveOrders"); err != nil {
		f, err := os.Open("../testdata/router.xml")
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := mg.Import(ctx, f, &mgmt.ImportOptions{Application: "Shop"}); err != nil {
			return err
		}
		if err := mg.StartApplication(ctx, "Shop"); err != nil {
			return err
		}
	}
	schemas, _ := pipeline.NewSchemas(pipeline.Schema{MessageType: "urn:shop#Order",
		Promote: []pipeline.Promotion{{Property: "Shop.Total", Path: "/Order/Total", Type: messagebox.TypeInt64}}})
	reg := host.NewRegistry()
	if err := file.Register(reg, &file.Options{Root: dir}); err != nil {
		return err
	}
	opts := &host.Options{Server: "crash", Adapters: reg, Pipelines: pipeline.NewRegistry(schemas), Concurrency: 8, BatchSize: 16}
	for _, h := range []string{"ReceiveHost", "SendHost"} {
		inst, err := host.Start(ctx, g, h, opts)
		if err != nil {
			return err
		}
		defer inst.Stop(ctx)
	}
	mb, _ := g.MessageBox()
	for {
		in, err := os.ReadDir(filepath.Join(dir, "orders", "in"))
		if err != nil {
			return err
		}
		if st := mb.Stats(); len(in) == 0 && st.Entries == 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond) // the child's own end check, not test synchronisation
	}
}

var orderID = regexp.MustCompile(`id="(PO-\d+)"`)

// TestFILE_crash kills the host process with SIGKILL at random points of
// a FILE receive → send run and runs it again each time: every input file
// ends up written exactly once or is still in the input folder, never
// both, never neither, and no output file is ever half written.
func TestFILE_crash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs child processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	for _, d := range []string{"in", "big", "small", "fallback"} {
		if err := os.MkdirAll(filepath.Join(dir, "orders", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const n = 3000
	want := map[string][]byte{}
	for i := range n {
		id := fmt.Sprintf("PO-%04d", i)
		body := fmt.Appendf(nil, `<Order xmlns="urn:shop" id="%s"><Total>%d</Total><Pad>%s</Pad></Order>`, id, rng.IntN(200), strings.Repeat("x", 1000+rng.IntN(4000)))
		want[id] = body
		tmp := filepath.Join(dir, "orders", id+".tmp")
		if err := os.WriteFile(tmp, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "orders", "in", id+".xml")); err != nil {
			t.Fatal(err)
		}
	}
	check := func(final bool) {
		t.Helper()
		count := map[string]int{}
		in, _ := os.ReadDir(filepath.Join(dir, "orders", "in"))
		for _, e := range in {
			count[strings.TrimSuffix(e.Name(), ".xml")]++
		}
		for _, d := range []string{"big", "small", "fallback"} {
			out, _ := os.ReadDir(filepath.Join(dir, "orders", d))
			for _, e := range out {
				if strings.HasPrefix(e.Name(), ".") {
					continue // a temporary file a crash left, never under a final name
				}
				body, err := os.ReadFile(filepath.Join(dir, "orders", d, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				m := orderID.FindSubmatch(body)
				if m == nil || !bytes.Equal(body, want[string(m[1])]) {
					t.Fatalf("%s/%s is not a whole order (%d bytes)", d, e.Name(), len(body))
				}
				count[string(m[1])]++
			}
		}
		for id := range want {
			if c := count[id]; c > 1 || (final && c != 1) {
				t.Fatalf("%s: %d copies between the input and output folders", id, c)
			}
		}
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFILE_crashHelper$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = os.Stderr
		return cmd
	}
	kills := 0
	for range 12 {
		cmd := child()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			t.Logf("run %d finished before its kill", kills)
		case <-time.After(time.Duration(80+rng.IntN(700)) * time.Millisecond): // a random point of the run
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			kills++
		}
		check(false)
	}
	if err := child().Run(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	check(true)
	if kills == 0 {
		t.Fatal("no run was killed: the test checked nothing")
	}
	t.Logf("%d orders, %d kills", n, kills)
}
