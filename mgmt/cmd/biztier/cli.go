package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/mgmt/audit"
	"github.com/biztier/biztier/rules"
)

// errUsage marks a command line the command cannot read; run prints the
// usage and exits 2.
var errUsage = errors.New("usage")

// env is what a verb runs with.
type env struct {
	out, errw io.Writer
	dir       string // the group directory
	json      bool   // print JSON instead of tables
	user      string // who acts, for the audit trail
	progress  bool   // draw progress bars (stderr is a terminal)

	g *biztier.Group // opened on demand by group()
}

// group opens the group directory on first use.
func (e *env) group() (*biztier.Group, error) {
	if e.g != nil {
		return e.g, nil
	}
	if e.dir == "" {
		return nil, fmt.Errorf("%w: -dir is required", errUsage)
	}
	if _, err := os.Stat(e.dir); err != nil {
		return nil, fmt.Errorf("group directory: %w", err)
	}
	g, err := biztier.Open(e.dir, nil)
	if err != nil {
		return nil, err
	}
	e.g = g
	return g, nil
}

// management, messageBox and rules open the group and return one of its
// databases.
func (e *env) management() (*mgmt.Store, error) {
	g, err := e.group()
	if err != nil {
		return nil, err
	}
	return g.Management()
}

func (e *env) messageBox() (*messagebox.Store, error) {
	g, err := e.group()
	if err != nil {
		return nil, err
	}
	return g.MessageBox()
}

func (e *env) rules() (*rules.Store, error) {
	g, err := e.group()
	if err != nil {
		return nil, err
	}
	return g.Rules(nil)
}

// audited runs act between a begin and an end record of the audit trail.
// act returns how many items it touched.
func (e *env) audited(ctx context.Context, action, target string, act func() (int, error)) error {
	g, err := e.group()
	if err != nil {
		return err
	}
	trail := audit.New(g, nil)
	rec := audit.Record{Principal: e.user, Tool: "biztier", Action: action, Target: target, Phase: "begin"}
	if _, err := trail.Append(ctx, rec); err != nil {
		return err
	}
	n, actErr := act()
	rec.Phase, rec.Count = "end", n
	if actErr != nil {
		rec.Error = actErr.Error()
	}
	if _, err := trail.Append(context.WithoutCancel(ctx), rec); err != nil && actErr == nil {
		return err
	}
	return actErr
}

// verb is one command: noun and verb, a one-line summary, the flags and
// arguments it takes, and what it does.
type verb struct {
	noun, name, args, summary string
	run                       func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error
	flags                     func(fs *flag.FlagSet) // declares the verb's flags; nil for none
}

// verbs is the command's vocabulary, filled by the verbs_*.go files' init
// functions and read-only afterwards.
var verbs = map[string]*verb{}

func register(v *verb) { verbs[v.noun+" "+v.name] = v }

// run is the command: it returns the exit code.
func run(ctx context.Context, args []string, out, errw io.Writer) int {
	e := &env{out: out, errw: errw}
	top := flag.NewFlagSet("biztier", flag.ContinueOnError)
	top.SetOutput(errw)
	top.StringVar(&e.dir, "dir", os.Getenv("BIZTIER_DIR"), "the group directory (default $BIZTIER_DIR)")
	top.BoolVar(&e.json, "json", false, "print JSON instead of tables")
	top.StringVar(&e.user, "user", os.Getenv("USER"), "who acts, for the audit trail (default $USER)")
	top.Usage = func() { usage(errw) }
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := top.Args()
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" {
		usage(out)
		return 0
	}
	if len(rest) < 2 {
		fmt.Fprintf(errw, "biztier: %q needs a verb\n", rest[0])
		usage(errw)
		return 2
	}
	v, ok := verbs[rest[0]+" "+rest[1]]
	if !ok {
		fmt.Fprintf(errw, "biztier: unknown command %q\n", rest[0]+" "+rest[1])
		usage(errw)
		return 2
	}
	if e.user == "" {
		e.user = "unknown"
	}
	e.progress = isTerminal(errw)
	fs := flag.NewFlagSet(v.noun+" "+v.name, flag.ContinueOnError)
	fs.SetOutput(errw)
	if v.flags != nil {
		v.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(errw, "usage: biztier %s %s %s\n  %s\n", v.noun, v.name, v.args, v.summary)
		fs.PrintDefaults()
	}
	if err := fs.Parse(rest[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	err := v.run(ctx, e, fs, fs.Args())
	if e.g != nil {
		if cerr := e.g.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(errw, "biztier %s %s: %v\n", v.noun, v.name, err)
		if errors.Is(err, errUsage) {
			fs.Usage()
			return 2
		}
		return 1
	}
	return 0
}

// usage lists every verb.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: biztier -dir GROUP [-json] [-user NAME] NOUN VERB [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	keys := make([]string, 0, len(verbs))
	for k := range verbs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := verbs[k]
		fmt.Fprintf(w, "  %-40s %s\n", strings.TrimSpace(k+" "+v.args), v.summary)
	}
	fmt.Fprintln(w, "\nRun \"biztier NOUN VERB -h\" for a command's flags.")
}

// needArgs checks a verb's argument count.
func needArgs(args []string, n int, what string) error {
	if len(args) != n {
		return fmt.Errorf("%w: want %s", errUsage, what)
	}
	return nil
}

// errConfirm refuses a bulk action whose -confirm is not the query's count.
var errConfirm = errors.New("count not confirmed")
