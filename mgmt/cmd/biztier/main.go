// Command biztier is the operator's command for a biztier group, in the manner
// of BTSTask, bm and BizTalk's WMI scripts: import and export binding files,
// list, start and stop applications and ports, query, resume and terminate
// suspended messages, back up and restore, look at log shipping, deploy BAM
// definitions and rule policies, back up and restore the SSO master secret.
//
// It opens the group directory itself, so it works on a group no process has
// open (biztier.Open refuses a directory in use with ErrLocked): a group that a
// running application holds is operated through that application's console
// (package mgmt/console) instead. The pair verbs do exactly that: "pair status"
// and "pair switchover" talk to a running node's console (-console URL).
//
// Usage:
//
//	biztier -dir GROUP [-json] [-user NAME] NOUN VERB [flags] [args]
//
// Run "biztier help" for the verbs. Every write is recorded in the group's
// audit trail (package mgmt/audit) with -user (default $USER).
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
