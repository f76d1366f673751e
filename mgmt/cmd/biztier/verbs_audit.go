package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/biztier/biztier/mgmt/audit"
)

func init() {
	register(&verb{
		noun: "audit", name: "list", args: "[-n N]", summary: "show the newest records of the group's audit trail",
		flags: func(fs *flag.FlagSet) { fs.Int("n", 20, "how many records") },
		run:   auditList,
	})
}

func auditList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	g, err := e.group()
	if err != nil {
		return err
	}
	rs, err := audit.New(g, nil).List(ctx, fs.Lookup("n").Value.(flag.Getter).Get().(int))
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []audit.Record{}
	}
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{fmt.Sprint(r.Seq), r.At.Format(time.RFC3339), r.Principal, r.Tool, r.Action, r.Phase, r.Target, fmt.Sprint(r.Count), r.Error})
	}
	return e.table(rs, []string{"#", "TIME", "WHO", "TOOL", "ACTION", "PHASE", "TARGET", "COUNT", "ERROR"}, rows)
}
