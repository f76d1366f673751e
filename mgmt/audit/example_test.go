package audit_test

import (
	"context"
	"fmt"
	"log"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/mgmt/audit"
)

// An operator's action, audited before and after.
func Example() {
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	trail := audit.New(g, nil)
	for _, r := range []audit.Record{
		{Principal: "alice", Tool: "console", Action: "resume", Phase: "begin", Target: "host=SendHost", Count: 3},
		{Principal: "alice", Tool: "console", Action: "resume", Phase: "end", Target: "host=SendHost", Count: 3},
	} {
		if _, err := trail.Append(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	rs, err := trail.List(ctx, 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rs {
		fmt.Println(r.Seq, r.Principal, r.Action, r.Phase, r.Count)
	}
	// Output:
	// 2 alice resume end 3
	// 1 alice resume begin 3
}
