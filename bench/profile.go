package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/google/pprof/profile"
)

// profiled reports whether Config.ProfileDir profiles the rounds of the
// system called name: the biztier rows, whose hot paths are ours to
// improve.
func profiled(name string) bool { return strings.HasPrefix(name, "biztier") }

// roundProfile is one round's profiling of a biztier row: a CPU profile
// running to a file of its own, and the allocation profile taken when the
// round began. A nil *roundProfile profiles nothing.
type roundProfile struct {
	in      *instance
	base    string // path prefix: DIR/<scenario>-<system>
	cpuFile *os.File
	before  *profile.Profile
}

// startProfile starts profiling a round of in when c.ProfileDir is set and
// in is a biztier row.
func startProfile(c *Config, sc *scenario, in *instance, round int) (*roundProfile, error) {
	if c.ProfileDir == "" || !profiled(in.name) {
		return nil, nil
	}
	p := &roundProfile{in: in, base: filepath.Join(c.ProfileDir, sc.name+"-"+in.name)}
	publishAllocs()
	var err error
	if p.before, err = allocsNow(); err != nil {
		return nil, err
	}
	path := fmt.Sprintf("%s.r%d.cpu.pprof", p.base, round+1)
	if p.cpuFile, err = os.Create(path); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := pprof.StartCPUProfile(p.cpuFile); err != nil {
		// Only one CPU profile runs at a time: a whole-run one
		// (-cpuprofile) is already running.
		return nil, errors.Join(fmt.Errorf("profile: %s: %w", path, err), p.cpuFile.Close())
	}
	return p, nil
}

// stop ends the round's CPU profile, adds the allocations made since
// startProfile to the system's and rewrites its allocation profile,
// DIR/<scenario>-<system>.allocs.pprof, so that it covers every round so
// far.
func (p *roundProfile) stop() error {
	if p == nil {
		return nil
	}
	pprof.StopCPUProfile()
	if err := p.cpuFile.Close(); err != nil {
		return fmt.Errorf("profile: %s: %w", p.cpuFile.Name(), err)
	}
	publishAllocs()
	after, err := allocsNow()
	if err != nil {
		return err
	}
	if p.in.allocs, err = allocDelta(p.in.allocs, p.before, after); err != nil {
		return err
	}
	path := p.base + ".allocs.pprof"
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := errors.Join(p.in.allocs.Write(f), f.Close()); err != nil {
		return fmt.Errorf("profile: %s: %w", path, err)
	}
	return nil
}

// publishAllocs makes the allocation profile current. The runtime
// publishes what was allocated during a GC cycle only at the end of the
// next, so it takes two: without them, a round's last allocations would
// fall into the next round.
func publishAllocs() {
	runtime.GC()
	runtime.GC()
}

// allocsNow returns the process's allocation profile. The runtime's
// profile is cumulative since the process started.
func allocsNow() (*profile.Profile, error) {
	var buf bytes.Buffer
	if err := pprof.Lookup("allocs").WriteTo(&buf, 0); err != nil {
		return nil, fmt.Errorf("profile: allocs: %w", err)
	}
	pr, err := profile.Parse(&buf)
	if err != nil {
		return nil, fmt.Errorf("profile: allocs: %w", err)
	}
	return pr, nil
}

// allocDelta adds to acc (nil for none) the allocations after holds beyond
// before, two allocation profiles of this process: what one round
// allocated. Samples are matched by stack, and those that net to zero are
// dropped. before is modified.
func allocDelta(acc, before, after *profile.Profile) (*profile.Profile, error) {
	before.Scale(-1)
	srcs := []*profile.Profile{after, before}
	if acc != nil {
		srcs = append(srcs, acc)
	}
	out, err := profile.Merge(srcs)
	if err != nil {
		return nil, fmt.Errorf("profile: allocs: %w", err)
	}
	// A stack's cumulative figures never go down, but the runtime's
	// sampled estimates of them can, by a few objects: what nets below
	// zero is noise and is dropped.
	kept := out.Sample[:0]
	for _, s := range out.Sample {
		pos := false
		for i, v := range s.Value {
			if v > 0 {
				pos = true
			} else {
				s.Value[i] = 0
			}
		}
		if pos {
			kept = append(kept, s)
		}
	}
	out.Sample = kept
	return out, nil
}
