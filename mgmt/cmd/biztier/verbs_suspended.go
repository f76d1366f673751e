package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/biztier/biztier/messagebox"
)

func init() {
	register(&verb{
		noun: "suspended", name: "query", args: "[query flags] [-limit N]",
		summary: "count and list suspended messages matching a query",
		flags: func(fs *flag.FlagSet) {
			queryFlags(fs)
			fs.Int("limit", 50, "list at most this many (the count is of all)")
		},
		run: suspendedQuery,
	})
	for _, name := range []string{"resume", "terminate"} {
		register(&verb{
			noun: "suspended", name: name, args: "[query flags] -confirm N",
			summary: name + " every suspended message a query matches (no cap); -confirm must be the count query shows",
			flags: func(fs *flag.FlagSet) {
				queryFlags(fs)
				fs.Int("confirm", -1, "the number of entries the query matches, as suspended query counted them")
			},
			run: suspendedBulk(name),
		})
	}
}

// queryFlags declares the flags of a suspended query.
func queryFlags(fs *flag.FlagSet) {
	fs.String("host", "", "suspended from this host's queue")
	fs.String("kind", "", "activation, instance or routing (routing failures)")
	fs.String("subscription", "", "routed to this subscription ID")
	fs.String("error", "", "whose error text contains this")
	fs.String("property", "", "whose message has this context property (namespace#name)")
	fs.String("value", "", "... with this string value")
	fs.String("after", "", "suspended at or after this time (RFC 3339)")
	fs.String("before", "", "suspended before this time (RFC 3339)")
	fs.Bool("resumable", false, "resumable entries only")
}

var kinds = map[string]messagebox.Kind{"activation": messagebox.Activation, "instance": messagebox.Instance, "routing": messagebox.RoutingFailure}

// buildQuery reads the query flags.
func buildQuery(fs *flag.FlagSet) (messagebox.SuspendedQuery, error) {
	q := messagebox.SuspendedQuery{
		Host: flagString(fs, "host"), ErrorContains: flagString(fs, "error"),
		Property: flagString(fs, "property"), ResumableOnly: flagBool(fs, "resumable"),
	}
	if k := flagString(fs, "kind"); k != "" {
		kind, ok := kinds[k]
		if !ok {
			return q, fmt.Errorf("%w: -kind %q", errUsage, k)
		}
		q.Kind = kind
	}
	if s := flagString(fs, "subscription"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return q, fmt.Errorf("%w: -subscription: %v", errUsage, err)
		}
		q.Subscription = id
	}
	if v := flagString(fs, "value"); v != "" {
		if q.Property == "" {
			return q, fmt.Errorf("%w: -value needs -property", errUsage)
		}
		q.Value = messagebox.String(v)
	}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"after", &q.After}, {"before", &q.Before}} {
		if s := flagString(fs, f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, fmt.Errorf("%w: -%s: %v", errUsage, f.name, err)
			}
			*f.to = t
		}
	}
	return q, nil
}

// queryText describes the query flags set, for the audit trail.
func queryText(fs *flag.FlagSet) string {
	s := ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "confirm" && f.Name != "limit" {
			s += fmt.Sprintf("-%s=%s ", f.Name, f.Value)
		}
	})
	if s == "" {
		return "(all suspended entries)"
	}
	return s[:len(s)-1]
}

type suspendedView struct {
	Count     int              `json:"count"`
	Resumable int              `json:"resumable"`
	Entries   []suspendedEntry `json:"entries"`
}

type suspendedEntry struct {
	ID          uint64    `json:"id"`
	MessageID   string    `json:"messageId"`
	Host        string    `json:"host"`
	Kind        string    `json:"kind"`
	Resumable   bool      `json:"resumable"`
	Error       string    `json:"error"`
	SuspendedAt time.Time `json:"suspendedAt"`
}

func suspendedQuery(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	q, err := buildQuery(fs)
	if err != nil {
		return err
	}
	mb, err := e.messageBox()
	if err != nil {
		return err
	}
	v := suspendedView{Entries: []suspendedEntry{}}
	if v.Count, err = mb.CountSuspended(ctx, q); err != nil {
		return err
	}
	rq := q
	rq.ResumableOnly = true
	if v.Resumable, err = mb.CountSuspended(ctx, rq); err != nil {
		return err
	}
	q.Limit = fs.Lookup("limit").Value.(flag.Getter).Get().(int)
	es, err := mb.ListSuspended(ctx, q)
	if err != nil {
		return err
	}
	var rows [][]string
	for _, s := range es {
		v.Entries = append(v.Entries, suspendedEntry{ID: uint64(s.ID), MessageID: s.MessageID.String(), Host: s.Host,
			Kind: s.Kind.String(), Resumable: s.Resumable, Error: s.Error, SuspendedAt: s.SuspendedAt})
		rows = append(rows, []string{fmt.Sprint(s.ID), s.MessageID.String(), s.Host, s.Kind.String(), fmt.Sprint(s.Resumable),
			s.SuspendedAt.UTC().Format(time.RFC3339), s.Error})
	}
	if !e.json {
		fmt.Fprintf(e.out, "%d suspended entries match (%d resumable)\n", v.Count, v.Resumable)
	}
	return e.table(v, []string{"ENTRY", "MESSAGE", "HOST", "KIND", "RESUMABLE", "SUSPENDED", "ERROR"}, rows)
}

func suspendedBulk(action string) func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	return func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
		q, err := buildQuery(fs)
		if err != nil {
			return err
		}
		if action == "resume" {
			// Resume acts on the resumable entries only: the count to
			// confirm is theirs.
			q.ResumableOnly = true
		}
		mb, err := e.messageBox()
		if err != nil {
			return err
		}
		n, err := mb.CountSuspended(ctx, q)
		if err != nil {
			return err
		}
		confirm := fs.Lookup("confirm").Value.(flag.Getter).Get().(int)
		if confirm != n {
			return fmt.Errorf("%w: the query matches %d entries; run again with -confirm %d to %s them", errConfirm, n, n, action)
		}
		var done int
		err = e.audited(ctx, "suspended "+action, queryText(fs), func() (int, error) {
			var err error
			if action == "resume" {
				done, err = mb.Resume(ctx, q)
			} else {
				done, err = mb.Terminate(ctx, q)
			}
			return done, err
		})
		if err != nil {
			return err
		}
		return e.result(map[string]any{"action": action, "count": done}, "%sd %d entries", action, done)
	}
}
