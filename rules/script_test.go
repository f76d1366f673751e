package rules_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/biztier/biztier/rules"
)

// The scripts in testdata/exec run small policies over Go facts and show
// what the engine did: the tracking interceptor's events in order, the
// result and the facts afterwards. Each case is
//
//	policy               the rules (BRL <rule> elements) over bindings a and
//	<rule .../>          a2 (Item) and b (Other), optionally after a
//	----                 <configuration>; the expected output is empty
//
//	exec                 one fact per line: item|other Field=value ...
//	item N=1 Tag=x
//	----
//	<expected output>
//
// Regenerate the expected output with
//
//	go test ./rules -run TestScripts -rewrite
//
// and review the diff.

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scripts")

type trace struct{ b *strings.Builder }

func (t trace) name(obj any) string {
	switch o := obj.(type) {
	case *Item:
		return "item(" + strconv.Itoa(o.N) + "," + o.Tag + ")"
	case *Other:
		return "other(" + strconv.Itoa(o.N) + "," + o.Tag + ")"
	}
	return fmt.Sprintf("%T", obj)
}
func (t trace) FactAsserted(obj any, n int) {
	fmt.Fprintf(t.b, "assert %s: %d facts\n", t.name(obj), n)
}
func (t trace) FactUpdated(obj any)   { fmt.Fprintf(t.b, "update %s\n", t.name(obj)) }
func (t trace) FactRetracted(obj any) { fmt.Fprintf(t.b, "retract %s\n", t.name(obj)) }
func (t trace) ConditionEvaluated(test string, objs []any, result bool) {
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = t.name(o)
	}
	fmt.Fprintf(t.b, "test %s on %s: %v\n", test, strings.Join(names, ","), result)
}
func (t trace) AgendaAdded(rule string, priority int) {
	fmt.Fprintf(t.b, "agenda + %s (%d)\n", rule, priority)
}
func (t trace) RuleFired(rule string, priority int) {
	fmt.Fprintf(t.b, "fire %s (%d)\n", rule, priority)
}

var _ rules.Interceptor = trace{}

// sentinelName names the sentinel err wraps, so scripts never hold error
// strings.
func sentinelName(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{{rules.ErrLoopLimit, "ErrLoopLimit"}, {rules.ErrFact, "ErrFact"}, {rules.ErrUnbound, "ErrUnbound"}, {rules.ErrInvalid, "ErrInvalid"}} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "unexpected error"
}

func parseFacts(t *testing.T, lines []string) []any {
	var out []any
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		var n int
		var tag string
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "N":
				var err error
				if n, err = strconv.Atoi(v); err != nil {
					t.Fatalf("fact %q: %v", l, err)
				}
			case "Tag":
				tag = v
			default:
				t.Fatalf("fact %q: unknown field %s", l, k)
			}
		}
		switch f[0] {
		case "item":
			out = append(out, &Item{N: n, Tag: tag})
		case "other":
			out = append(out, &Other{N: n, Tag: tag})
		default:
			t.Fatalf("unknown fact kind %q", f[0])
		}
	}
	return out
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/exec/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var out strings.Builder
	var policy *rules.Policy
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			out.WriteString(l + "\n")
			i++
			continue
		}
		cmd, at := strings.TrimSpace(l), i+1
		out.WriteString(l + "\n")
		i++
		var input []string
		for i < len(lines) && lines[i] != "----" {
			input = append(input, lines[i])
			out.WriteString(lines[i] + "\n")
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: %s without ----", file, at, cmd)
		}
		out.WriteString("----\n")
		i++
		var want []string
		for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
			want = append(want, lines[i])
			i++
		}
		var got strings.Builder
		switch cmd {
		case "policy":
			config, body := "", strings.Join(input, "\n")
			if strings.HasPrefix(strings.TrimSpace(body), "<configuration>") {
				end := strings.Index(body, "</configuration>") + len("</configuration>")
				config, body = body[:end], body[end:]
			}
			policy = compile(t, policyXML(config, body), nil)
		case "exec":
			if policy == nil {
				t.Fatalf("%s:%d: exec before policy", file, at)
			}
			facts := parseFacts(t, input)
			tr := trace{&got}
			res, err := rules.NewEngine(policy, &rules.EngineOptions{Interceptor: tr}).Execute(context.Background(), facts...)
			if err != nil {
				fmt.Fprintf(&got, "error %s\n", sentinelName(err))
			}
			fmt.Fprintf(&got, "firings %d halted %v\n", res.Firings, res.Halted)
			for _, f := range facts {
				fmt.Fprintf(&got, "after %s\n", tr.name(f))
			}
		default:
			t.Fatalf("%s:%d: unknown command %q", file, at, cmd)
		}
		g := strings.TrimRight(got.String(), "\n")
		out.WriteString(got.String())
		if !*rewrite && g != strings.Join(want, "\n") {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, at, cmd, g, strings.Join(want, "\n"))
		}
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
