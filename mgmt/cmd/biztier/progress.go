package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/biztier/biztier"
)

// progress reports a long operation's progress on stderr: a bar redrawn in
// place on a terminal, plain lines (at most one per second and per 10%)
// otherwise, so logs stay readable.
type progress struct {
	e        *env
	what     string
	lastLine time.Time
	lastPct  int
}

func (e *env) newProgress(what string) *progress {
	return &progress{e: e, what: what, lastPct: -1}
}

// report is a BackupOptions/RestoreOptions Progress callback.
func (p *progress) report(bp biztier.BackupProgress) {
	pct := 100
	if bp.Total > 0 {
		pct = int(bp.Done * 100 / bp.Total)
	}
	if pct > 100 {
		pct = 100
	}
	if p.lastPct == 100 {
		return // finished already: a reader reports its EOF once more
	}
	if p.e.progress {
		const width = 30
		n := pct * width / 100
		fmt.Fprintf(p.e.errw, "\r%s [%s%s] %3d%% %s", p.what, strings.Repeat("#", n), strings.Repeat(".", width-n), pct, bytesText(bp.Done))
		if bp.Done >= bp.Total {
			p.lastPct = 100
			fmt.Fprintln(p.e.errw)
		}
		return
	}
	done := bp.Done >= bp.Total
	first := p.lastPct < 0
	if !done && !first && (pct/10 == p.lastPct/10 || time.Since(p.lastLine) < time.Second) {
		return
	}
	p.lastPct, p.lastLine = pct, time.Now()
	fmt.Fprintf(p.e.errw, "%s: %d%% (%s of %s)\n", p.what, pct, bytesText(bp.Done), bytesText(bp.Total))
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
