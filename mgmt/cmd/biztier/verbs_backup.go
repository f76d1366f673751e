package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/mgmt/audit"
)

func init() {
	register(&verb{
		noun: "backup", name: "now", args: "-to DIR [-log] [-mark NAME]",
		summary: "take a full (or -log) backup of the group now, ending at a mark",
		flags: func(fs *flag.FlagSet) {
			fs.String("to", "", "the backup directory (required)")
			fs.Bool("log", false, "a log backup after the newest set, instead of a full one")
			fs.String("mark", "", "the mark's name (default BTS_FULL_/BTS_LOG_<time>)")
		},
		run: backupNow,
	})
	register(&verb{
		noun: "backup", name: "list", args: "-from DIR",
		summary: "list the backup sets and the marks a restore can stop at",
		flags:   func(fs *flag.FlagSet) { fs.String("from", "", "the backup directory (required)") },
		run:     backupList,
	})
	register(&verb{
		noun: "restore", name: "mark", args: "-from DIR -to DIR [-mark NAME | -lsn N]",
		summary: "restore the backups into a new group directory, up to a mark (default the newest) or LSN",
		flags: func(fs *flag.FlagSet) {
			fs.String("from", "", "the backup directory (required)")
			fs.String("to", "", "the new group directory, missing or empty (required)")
			fs.String("mark", "", "restore through the newest mark of this name")
			fs.String("lsn", "", "restore through this LSN")
		},
		run: restoreMark,
	})
	register(&verb{
		noun: "shipping", name: "status", args: "-backup DIR [-dr DIR]",
		summary: "what the backup and DR directories hold, and how far behind the group's log they are",
		flags: func(fs *flag.FlagSet) {
			fs.String("backup", "", "the backup directory (required)")
			fs.String("dr", "", "the disaster-recovery directory log shipping copies to")
		},
		run: shippingStatus,
	})
}

func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if flagString(fs, n) == "" {
			return fmt.Errorf("%w: -%s is required", errUsage, n)
		}
	}
	return nil
}

type setView struct {
	Name     string    `json:"name"`
	Full     bool      `json:"full"`
	Mark     string    `json:"mark"`
	First    uint64    `json:"first"`
	Last     uint64    `json:"last"`
	Finished time.Time `json:"finished"`
	Bytes    int64     `json:"bytes"`
}

func viewSet(s biztier.BackupSet) setView {
	return setView{Name: s.Name, Full: s.Full, Mark: s.Mark.Name, First: s.First, Last: s.Last, Finished: s.Finished, Bytes: s.Bytes}
}

func backupNow(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := required(fs, "to"); err != nil {
		return err
	}
	g, err := e.group()
	if err != nil {
		return err
	}
	to := biztier.DirShipper(nil, flagString(fs, "to"))
	p := e.newProgress("backup")
	opts := &biztier.BackupOptions{MarkName: flagString(fs, "mark"), Progress: p.report}
	var set *biztier.BackupSet
	kind := "full"
	if flagBool(fs, "log") {
		kind = "log"
	}
	err = e.audited(ctx, "backup "+kind, flagString(fs, "to"), func() (int, error) {
		var err error
		if kind == "log" {
			set, err = g.BackupLog(ctx, to, opts)
		} else {
			set, err = g.Backup(ctx, to, opts)
		}
		if errors.Is(err, biztier.ErrBackupChainBroken) {
			// Each run of this command closes the group, and Close
			// truncates the log: only a running LogShipping keeps the
			// chain whole between log backups.
			return 0, fmt.Errorf("%w: take a full backup (without -log)", err)
		}
		if err != nil {
			return 0, err
		}
		return 1, nil
	})
	if err != nil {
		return err
	}
	v := viewSet(*set)
	return e.result(v, "%s backup %s: mark %s, LSN %d..%d, %s", kind, v.Name, v.Mark, v.First, v.Last, bytesText(v.Bytes))
}

func backupList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := required(fs, "from"); err != nil {
		return err
	}
	sets, err := biztier.ListBackups(ctx, biztier.DirShipper(nil, flagString(fs, "from")))
	if err != nil {
		return err
	}
	out := []setView{}
	var rows [][]string
	for _, s := range sets {
		v := viewSet(s)
		out = append(out, v)
		kind := "log"
		if v.Full {
			kind = "full"
		}
		rows = append(rows, []string{v.Name, kind, v.Mark, fmt.Sprintf("%d..%d", v.First, v.Last), v.Finished.UTC().Format(time.RFC3339), bytesText(v.Bytes)})
	}
	return e.table(out, []string{"SET", "KIND", "MARK", "LSN", "FINISHED", "SIZE"}, rows)
}

type restoreView struct {
	Dir   string `json:"dir"`
	ID    string `json:"id"`
	From  string `json:"from"`
	LSN   uint64 `json:"lsn"`
	Mark  string `json:"mark,omitempty"`
	Base  string `json:"base"`
	Sets  int    `json:"sets"`
	Bytes int64  `json:"bytes"`
}

func restoreMark(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := required(fs, "from", "to"); err != nil {
		return err
	}
	opts := &biztier.RestoreOptions{Mark: flagString(fs, "mark")}
	if s := flagString(fs, "lsn"); s != "" {
		if opts.Mark != "" {
			return fmt.Errorf("%w: -mark or -lsn, not both", errUsage)
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: -lsn: %v", errUsage, err)
		}
		opts.LSN = n
	}
	opts.Progress = e.newProgress("restore").report
	dir := flagString(fs, "to")
	res, err := biztier.Restore(ctx, biztier.DirShipper(nil, flagString(fs, "from")), dir, opts)
	if err != nil {
		return err
	}
	v := restoreView{Dir: dir, ID: res.ID.String(), From: res.From.String(), LSN: res.LSN, Mark: res.Mark.Name, Base: res.Base, Sets: len(res.Sets), Bytes: res.Bytes}
	// The restored group did not exist before: its own trail is where the
	// restore is recorded.
	g, err := biztier.Open(dir, nil)
	if err != nil {
		return fmt.Errorf("open the restored group: %w", err)
	}
	_, aerr := audit.New(g, nil).Append(ctx, audit.Record{Principal: e.user, Tool: "biztier", Action: "restore", Phase: "end",
		Target: fmt.Sprintf("from %s mark %q lsn %d", flagString(fs, "from"), v.Mark, v.LSN), Count: v.Sets})
	if err := errors.Join(aerr, g.Close()); err != nil {
		return err
	}
	return e.result(v, "restored %s to LSN %d (mark %q) from %d sets: new group %s", dir, v.LSN, v.Mark, v.Sets, v.ID)
}

type shippingView struct {
	GroupLSN uint64      `json:"groupLsn,omitempty"`
	Places   []shipPlace `json:"places"`
}

type shipPlace struct {
	Role     string    `json:"role"` // "backup" or "dr"
	Dir      string    `json:"dir"`
	Sets     int       `json:"sets"`
	Newest   string    `json:"newest,omitempty"`
	Mark     string    `json:"mark,omitempty"`
	LastLSN  uint64    `json:"lastLsn"`
	Finished time.Time `json:"finished"`
	// LagFrames is how many frames the group's log holds past LastLSN
	// (when -dir is given).
	LagFrames uint64 `json:"lagFrames"`
}

func shippingStatus(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := required(fs, "backup"); err != nil {
		return err
	}
	v := shippingView{Places: []shipPlace{}}
	if e.dir != "" {
		g, err := e.group()
		if err != nil {
			return err
		}
		v.GroupLSN = g.Stats().LSN
	}
	for _, p := range []struct{ role, dir string }{{"backup", flagString(fs, "backup")}, {"dr", flagString(fs, "dr")}} {
		if p.dir == "" {
			continue
		}
		sets, err := biztier.ListBackups(ctx, biztier.DirShipper(nil, p.dir))
		if err != nil {
			return fmt.Errorf("%s: %w", p.role, err)
		}
		sp := shipPlace{Role: p.role, Dir: p.dir, Sets: len(sets)}
		if len(sets) > 0 {
			s := sets[len(sets)-1]
			sp.Newest, sp.Mark, sp.LastLSN, sp.Finished = s.Name, s.Mark.Name, s.Last, s.Finished
		}
		if v.GroupLSN > sp.LastLSN {
			sp.LagFrames = v.GroupLSN - sp.LastLSN
		}
		v.Places = append(v.Places, sp)
	}
	var rows [][]string
	for _, p := range v.Places {
		rows = append(rows, []string{p.Role, p.Dir, fmt.Sprint(p.Sets), p.Mark, fmt.Sprint(p.LastLSN), fmt.Sprint(p.LagFrames)})
	}
	return e.table(v, []string{"WHERE", "DIR", "SETS", "NEWEST MARK", "LAST LSN", "LAG FRAMES"}, rows)
}
