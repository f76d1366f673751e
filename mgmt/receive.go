package mgmt

import (
	"strings"
	"time"
)

// Accepting reports whether the location takes messages at t, as a BizTalk
// receive handler decides before it polls or listens: the location is
// enabled, t is on or after its start date and before its end date (when
// those are enabled), and t's time of day (UTC) is inside its service
// window (when enabled; a window from 22:00 to 06:00 spans midnight).
// Dates and times that cannot be read do not restrict.
func (l *ReceiveLocation) Accepting(t time.Time) bool {
	if !l.Enabled {
		return false
	}
	t = t.UTC()
	if d, ok := parseBindingTime(l.StartDate.Date); l.StartDate.Enabled && ok && t.Before(d) {
		return false
	}
	if d, ok := parseBindingTime(l.EndDate.Date); l.EndDate.Enabled && ok && !t.Before(d) {
		return false
	}
	if l.ServiceWindow.Enabled {
		if w := serviceWindow(l.ServiceWindow); w != nil {
			day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			off := t.Sub(day)
			if w.Start <= w.Stop {
				return off >= w.Start && off < w.Stop
			}
			return off >= w.Start || off < w.Stop
		}
	}
	return true
}

// parseBindingTime reads a binding file's date-time ("2026-01-01T00:00:00",
// with or without fraction or zone; no zone is UTC).
func parseBindingTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
