package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
)

func init() {
	register(&verb{noun: "bam", name: "deploy", args: "FILE", summary: "deploy a BAM definition file (bm deploy-all)", run: bamDeploy})
	register(&verb{noun: "rules", name: "import", args: "FILE", summary: "import the policies and vocabularies of a BRL file (saved, not published)", run: rulesImport})
	register(&verb{noun: "rules", name: "deploy", args: "NAME VERSION", summary: "publish (if saved) and deploy a policy version such as 1.0", run: rulesDeploy})
	register(&verb{noun: "rules", name: "list", summary: "list policies and vocabularies with their versions and states", run: rulesList})
}

func bamDeploy(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 1, "one BAM definition file"); err != nil {
		return err
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := bam.ParseDefinition(f)
	if err != nil {
		return err
	}
	g, err := e.group()
	if err != nil {
		return err
	}
	b, err := g.BAM(ctx, nil)
	if err != nil {
		return err
	}
	n := len(d.Activities) + len(d.Views) + len(d.Cubes)
	if err := e.audited(ctx, "bam deploy", args[0], func() (int, error) { return n, b.Deploy(ctx, d, e.user) }); err != nil {
		return err
	}
	names := []string{}
	for _, a := range d.Activities {
		names = append(names, a.Name)
	}
	return e.result(map[string]any{"file": args[0], "activities": names, "views": len(d.Views), "cubes": len(d.Cubes)},
		"deployed %s: activities %s, %d views, %d cubes", args[0], strings.Join(names, ", "), len(d.Views), len(d.Cubes))
}

func rulesImport(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 1, "one BRL file"); err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	res, err := brl.Parse(b)
	if err != nil {
		return err
	}
	rs, err := e.rules()
	if err != nil {
		return err
	}
	doc := res.Document
	n := len(doc.Rulesets) + len(doc.Vocabularies)
	if err := e.audited(ctx, "rules import", args[0], func() (int, error) { return n, rs.Import(ctx, doc) }); err != nil {
		return err
	}
	var names []string
	for _, r := range doc.Rulesets {
		names = append(names, fmt.Sprintf("%s %d.%d", r.Name, r.Version.Major, r.Version.Minor))
	}
	return e.result(map[string]any{"file": args[0], "policies": names, "vocabularies": len(doc.Vocabularies), "warnings": len(res.Warnings)},
		"imported %s: %d policies (%s), %d vocabularies, %d warnings", args[0], len(doc.Rulesets), strings.Join(names, ", "), len(doc.Vocabularies), len(res.Warnings))
}

// parseVersion reads "major.minor".
func parseVersion(s string) (rules.Version, error) {
	maj, min, ok := strings.Cut(s, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a < 0 || b < 0 {
		return rules.Version{}, fmt.Errorf("%w: version %q (want major.minor)", errUsage, s)
	}
	return rules.Version{Major: a, Minor: b}, nil
}

func rulesDeploy(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 2, "a policy name and version"); err != nil {
		return err
	}
	v, err := parseVersion(args[1])
	if err != nil {
		return err
	}
	rs, err := e.rules()
	if err != nil {
		return err
	}
	p, err := rs.Policy(args[0], v)
	if err != nil {
		return err
	}
	err = e.audited(ctx, "rules deploy", args[0]+" "+v.String(), func() (int, error) {
		if p.State == rules.StateSaved {
			if err := rs.PublishPolicy(ctx, args[0], v); err != nil {
				return 0, err
			}
		}
		return 1, rs.Deploy(ctx, args[0], v)
	})
	if err != nil {
		return err
	}
	return e.result(map[string]string{"policy": args[0], "version": v.String(), "state": "deployed"}, "deployed %s %s", args[0], v)
}

type ruleView struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
}

func rulesList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	rs, err := e.rules()
	if err != nil {
		return err
	}
	ps, err := rs.Policies()
	if err != nil {
		return err
	}
	vs, err := rs.Vocabularies()
	if err != nil {
		return err
	}
	out := []ruleView{}
	for _, p := range ps {
		out = append(out, ruleView{"policy", p.Name, p.Version.String(), p.State.String()})
	}
	for _, v := range vs {
		out = append(out, ruleView{"vocabulary", v.Name, v.Version.String(), v.State.String()})
	}
	var rows [][]string
	for _, r := range out {
		rows = append(rows, []string{r.Kind, r.Name, r.Version, r.State})
	}
	return e.table(out, []string{"KIND", "NAME", "VERSION", "STATE"}, rows)
}
