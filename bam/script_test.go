package bam

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/fold scripts")

// TestFold_scripts runs the event folding scripts in testdata/fold. Each
// file is blocks of commands, a "----" line and the expected output,
// separated by blank lines; the store (orderDef deployed) lives through
// the file. Commands (events wait in a direct stream with threshold 0
// until flush, show or agg):
//
//	begin ID | end ID | complete ID | enable ID TOKEN | ref ID TYPE NAME
//	update ID Checkpoint=value...   (times as +<duration> from 09:00)
//	flush (a failed flush prints its error and clears the stream)
//	tick <duration> | show ID | agg RTA
//
// go test ./bam -run TestFold_scripts -rewrite regenerates the outputs.
func TestFold_scripts(t *testing.T) {
	files, err := filepath.Glob("testdata/fold/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			text, err := os.ReadFile(file)
			require.NoError(t, err)
			e := newEnv(t, nil)
			e.deploy(orderDef)
			es := e.s.DirectStream(0)
			var out strings.Builder
			for i, block := range strings.Split(strings.TrimSpace(string(text)), "\n\n") {
				cmds, want, _ := strings.Cut(block, "----\n")
				cmds = strings.TrimSuffix(cmds, "----")
				got := runScript(t, e, es, cmds)
				if *rewrite {
					out.WriteString(strings.TrimRight(cmds, "\n") + "\n----\n" + got)
					out.WriteString("\n")
					continue
				}
				require.Equal(t, strings.TrimRight(want, "\n"), strings.TrimRight(got, "\n"), "%s, block %d:\n%s", file, i+1, cmds)
			}
			if *rewrite {
				require.NoError(t, os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644))
			}
		})
	}
}

func runScript(t *testing.T, e *env, es *EventStream, cmds string) string {
	var out strings.Builder
	flush := func() {
		if err := es.Flush(bg); err != nil {
			fmt.Fprintf(&out, "flush: error: %v\n", err)
			es.Clear()
		}
	}
	for _, line := range strings.Split(cmds, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		arg := func(i int) string {
			require.Greater(t, len(f), i, "%q needs more arguments", line)
			return f[i]
		}
		var err error
		switch f[0] {
		case "begin":
			err = es.BeginActivity(bg, "Order", arg(1))
		case "end":
			err = es.EndActivity(bg, "Order", arg(1))
		case "complete":
			flush()
			err = e.s.CompleteInstance(bg, "Order", arg(1))
		case "enable":
			err = es.EnableContinuation(bg, "Order", arg(1), arg(2))
		case "ref":
			err = es.AddReference(bg, "Order", arg(1), Reference{Type: arg(2), Name: arg(3)})
		case "update":
			var kv []any
			act := e.s.cat.Load().acts["Order"]
			for _, a := range f[2:] {
				k, v, _ := strings.Cut(a, "=")
				cp := act.cps[k]
				require.NotNil(t, cp, "checkpoint %s", k)
				if cp.Type == DateTime {
					d, err := time.ParseDuration(strings.TrimPrefix(v, "+"))
					require.NoError(t, err)
					kv = append(kv, k, epoch.Add(d))
					continue
				}
				x, err := fromText(cp.Type, v)
				if err != nil {
					x = v // let the stream refuse it
				}
				kv = append(kv, k, x)
			}
			err = es.UpdateActivity(bg, "Order", arg(1), kv...)
		case "flush":
			flush()
		case "tick":
			d, perr := time.ParseDuration(arg(1))
			require.NoError(t, perr)
			e.clock.Add(d)
		case "show":
			flush()
			in, err := e.s.Instance(bg, "Order", arg(1))
			if err != nil {
				fmt.Fprintf(&out, "%s: not found\n", arg(1))
				continue
			}
			out.WriteString(showInstance(in))
		case "agg":
			flush()
			a, err := e.s.Aggregation(bg, arg(1))
			require.NoError(t, err)
			fmt.Fprintf(&out, "%s by %s:\n", a.Name, strings.Join(a.Levels, ", "))
			for _, r := range a.Rows {
				fmt.Fprintf(&out, "  %s: %d instances;", strings.Join(r.Members, "/"), r.Count)
				for i, m := range a.Measures {
					fmt.Fprintf(&out, " %s=%s", m, strconv.FormatFloat(r.Values[i], 'g', -1, 64))
				}
				out.WriteString("\n")
			}
		default:
			t.Fatalf("unknown command %q", line)
		}
		if err != nil {
			fmt.Fprintf(&out, "%s: error: %v\n", line, err)
		}
	}
	return out.String()
}

func showInstance(in *Instance) string {
	var b strings.Builder
	flags := []string{in.State.String()}
	if !in.Begun {
		flags = append(flags, "not begun")
	}
	if in.Ended {
		flags = append(flags, "main segment ended")
	}
	fmt.Fprintf(&b, "%s: %s\n", in.ID, strings.Join(flags, ", "))
	names := make([]string, 0, len(in.Values))
	for n := range in.Values {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := in.Values[n]
		s := v.String()
		if v.Type() == DateTime {
			s = "+" + v.Time().Sub(epoch).String()
		}
		fmt.Fprintf(&b, "  %s=%s\n", n, s)
	}
	for _, c := range in.Continuations {
		state := "open"
		if c.Ended {
			state = "ended"
		}
		fmt.Fprintf(&b, "  continuation %s %s\n", c.Token, state)
	}
	for _, r := range in.References {
		fmt.Fprintf(&b, "  reference %s %s\n", r.Type, r.Name)
	}
	return b.String()
}
