package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/biztier/biztier"
)

// TestProgress: on a terminal a bar is redrawn in place; elsewhere plain
// lines, one per 10% step at most, always ending with the 100% line.
func TestProgress(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		want     []string
		lines    int
	}{
		{"terminal", true, []string{"\rbackup [###############...............]  50%", "[##############################] 100%"}, 1},
		{"log", false, []string{"backup: 0% (0 B of 1000 B)\n", "backup: 100% (1000 B of 1000 B)\n"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			p := (&env{errw: &b, progress: tc.terminal}).newProgress("backup")
			for done := int64(0); done <= 1000; done += 50 {
				p.report(biztier.BackupProgress{Done: done, Total: 1000})
			}
			// A reader reports its end twice (the last bytes, then EOF).
			p.report(biztier.BackupProgress{Done: 1000, Total: 1000})
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%q", w, b.String())
				}
			}
			if n := strings.Count(b.String(), "\n"); n != tc.lines {
				t.Errorf("%d lines, want %d:\n%q", n, tc.lines, b.String())
			}
		})
	}
}
