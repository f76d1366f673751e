package crashtest

import (
	"math/rand/v2"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// Crash is the file system as a power cut before one operation left it,
// with what the workload had acknowledged by then.
type Crash struct {
	FS    *vfs.MemFS
	Acked int
}

// Recorder records a crash before every file system operation a workload
// makes while it is armed: the synced state plus, per seed, a share of
// what was not synced (0, 50 or 100%). It is safe for concurrent use.
type Recorder struct {
	mem  *vfs.MemFS
	seed uint64
	pct  int

	// mu guards the fields below.
	mu      sync.Mutex
	armed   bool
	acked   int
	crashes []Crash
}

// NewRecorder returns a recorder and the file system to run the workload
// on.
func NewRecorder(seed uint64) (*Recorder, vfs.FS) {
	r := &Recorder{mem: vfs.NewCrashableMem(), seed: seed,
		pct: []int{0, 50, 100}[rand.New(rand.NewPCG(seed, seed)).IntN(3)]}
	fs := errorfs.Wrap(r.mem, errorfs.InjectorFunc(func(errorfs.Op) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.armed {
			r.crashes = append(r.crashes, Crash{Acked: r.acked, FS: r.mem.CrashClone(vfs.CrashCloneCfg{
				UnsyncedDataPercent: r.pct, RNG: rand.New(rand.NewPCG(r.seed, uint64(len(r.crashes))))})})
		}
		return nil
	}))
	return r, fs
}

// Arm starts recording crashes; Disarm stops.
func (r *Recorder) Arm() { r.set(true) }

// Disarm stops recording crashes.
func (r *Recorder) Disarm() { r.set(false) }

func (r *Recorder) set(armed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = armed
}

// Ack records that the workload's first n steps were acknowledged: every
// crash recorded after it carries n.
func (r *Recorder) Ack(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked = n
}

// Crashes returns the crashes recorded, in order.
func (r *Recorder) Crashes() []Crash {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Crash(nil), r.crashes...)
}

// Len is how many crashes have been recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.crashes)
}

// UnsyncedPercent is the share of unsynced data the crashes keep.
func (r *Recorder) UnsyncedPercent() int { return r.pct }
