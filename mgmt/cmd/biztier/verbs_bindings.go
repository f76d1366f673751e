package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/mgmt"
)

func init() {
	register(&verb{
		noun: "bindings", name: "import", args: "[-app NAME] [-register-adapters] [-apply-states] FILE",
		summary: "import a BizTalk binding file (BTSTask ImportBindings)",
		flags: func(fs *flag.FlagSet) {
			fs.String("app", "", "put every artifact in this application")
			fs.Bool("register-adapters", false, "register adapters the group does not know")
			fs.Bool("apply-states", false, "bring orchestrations to the states the file records")
		},
		run: bindingsImport,
	})
	register(&verb{
		noun: "bindings", name: "export", args: "[-app NAME] [-o FILE]",
		summary: "export bindings as a BizTalk binding file (BTSTask ExportBindings)",
		flags: func(fs *flag.FlagSet) {
			fs.String("app", "", "export only this application")
			fs.String("o", "", "write to this file instead of stdout")
		},
		run: bindingsExport,
	})
}

// flagString and flagBool read a verb's declared flags.
func flagString(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }
func flagBool(fs *flag.FlagSet, name string) bool     { return fs.Lookup(name).Value.String() == "true" }

// importResult is what bindings import prints with -json.
type importResult struct {
	File    string   `json:"file"`
	Created []string `json:"created"`
	Updated []string `json:"updated"`
	Ignored []string `json:"ignored"`
}

func bindingsImport(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 1, "one binding file"); err != nil {
		return err
	}
	mg, err := e.management()
	if err != nil {
		return err
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	p := e.newProgress("import " + args[0])
	r := &countingReader{r: f, total: st.Size(), report: p.report}
	var res *mgmt.ImportResult
	err = e.audited(ctx, "bindings import", args[0], func() (int, error) {
		var err error
		res, err = mg.Import(ctx, r, &mgmt.ImportOptions{
			Application:      flagString(fs, "app"),
			RegisterAdapters: flagBool(fs, "register-adapters"),
			ApplyStates:      flagBool(fs, "apply-states"),
		})
		if err != nil {
			return 0, err
		}
		return len(res.Created) + len(res.Updated), nil
	})
	if err != nil {
		return err
	}
	out := importResult{File: args[0], Created: refs(res.Created), Updated: refs(res.Updated), Ignored: []string{}}
	for _, ig := range res.Ignored {
		out.Ignored = append(out.Ignored, fmt.Sprint(ig))
	}
	return e.result(out, "imported %s: %d created, %d updated, %d ignored", args[0], len(out.Created), len(out.Updated), len(out.Ignored))
}

func refs(rs []mgmt.Ref) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

func bindingsExport(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 0, "no arguments"); err != nil {
		return err
	}
	mg, err := e.management()
	if err != nil {
		return err
	}
	w := e.out
	if name := flagString(fs, "o"); name != "" {
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := mg.Export(ctx, f, flagString(fs, "app")); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return mg.Export(ctx, w, flagString(fs, "app"))
}

// countingReader reports how much of a file has been read.
type countingReader struct {
	r      io.Reader
	done   int64
	total  int64
	report func(biztier.BackupProgress)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.done += int64(n)
	if n > 0 || err == io.EOF {
		c.report(biztier.BackupProgress{Set: "", Done: c.done, Total: c.total})
	}
	return n, err
}
