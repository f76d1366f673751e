package bench

import (
	"fmt"
	"io"
)

// Goal is one of the project's throughput targets, stated as a ratio of
// two rows measured in the same run (absolute figures drift with the
// machine; ratios do not).
type Goal struct {
	// Name says what is compared, as "messaging: biztier / pebble-batch msgs/s".
	Name string `json:"name"`
	// Measured is the ratio this run gave; Target the bound it must meet,
	// from above (AtMost false: Measured >= Target) or below.
	Measured float64 `json:"measured"`
	Target   float64 `json:"target"`
	AtMost   bool    `json:"at_most,omitempty"`
	// Met reports whether Measured meets Target.
	Met bool `json:"met"`
}

// goalSpec is a goal over two rows: num's metric over den's.
type goalSpec struct {
	scenarioNum, systemNum string
	scenarioDen, systemDen string
	cpu                    bool // compare CPU per message instead of msgs/s
	target                 float64
	atMost                 bool
}

// goalSpecs are the targets of issue 17 (message persistence at the speed
// of the storage engine) that the harness's rows can show.
var goalSpecs = []goalSpec{
	{"messaging", "biztier", "messaging", "pebble-batch", false, 0.5, false},
	{"messaging", "biztier", "messaging", "pebble-batch", true, 3, true},
	{"messaging", "biztier-notrack", "messaging", "pebble-batch", false, 0.7, false},
	{"messaging", "biztier", "messaging", "postgres", false, 5, false},
	{"messaging", "biztier", "messaging", "nats", false, 10, false},
	{"orchestration", "biztier", "messaging", "biztier", false, 0.5, false},
	{"backlog", "biztier", "messaging", "biztier", false, 0.8, false},
}

// Goals returns the goals whose two rows are both in rs, measured.
func Goals(rs []Result) []Goal {
	row := func(scenario, system string) *Result {
		for i := range rs {
			r := &rs[i]
			if r.Scenario == scenario && r.System == system && r.Error == "" && r.Skipped == "" && r.MsgsPerSec > 0 {
				return r
			}
		}
		return nil
	}
	var out []Goal
	for _, g := range goalSpecs {
		num, den := row(g.scenarioNum, g.systemNum), row(g.scenarioDen, g.systemDen)
		if num == nil || den == nil {
			continue
		}
		metric, a, b := "msgs/s", num.MsgsPerSec, den.MsgsPerSec
		if g.cpu {
			metric, a, b = "CPU per message", num.CPUPer1k, den.CPUPer1k
		}
		if b <= 0 {
			continue
		}
		name := fmt.Sprintf("%s: %s / %s %s", g.scenarioNum, g.systemNum, g.systemDen, metric)
		if g.scenarioNum != g.scenarioDen {
			name = fmt.Sprintf("%s %s / %s %s %s", g.scenarioNum, g.systemNum, g.scenarioDen, g.systemDen, metric)
		}
		m := a / b
		met := m >= g.target
		if g.atMost {
			met = m <= g.target
		}
		out = append(out, Goal{Name: name, Measured: m, Target: g.target, AtMost: g.atMost, Met: met})
	}
	return out
}

// WriteGoals writes one line per goal: the measured ratio, the target and
// whether it is met.
func WriteGoals(w io.Writer, gs []Goal) {
	for _, g := range gs {
		op, verdict := "≥", "met"
		if g.AtMost {
			op = "≤"
		}
		if !g.Met {
			verdict = "not met"
		}
		fmt.Fprintf(w, "goal: %s = %.2f× (target %s %.1f×): %s\n", g.Name, g.Measured, op, g.Target, verdict)
	}
}
