package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/pprof/profile"
)

// Run runs cfg's scenarios on cfg's systems and returns one Result per
// scenario and system. Within a scenario the systems alternate, round by
// round, each on a store of its own kept open across rounds. A system
// that cannot run a scenario gets a Result with Skipped set; a system
// that fails gets one with Error set, and Run's error joins those
// failures. Run removes the data directories it made.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.PostgresDSN == "" && slices.Contains(c.Systems, "postgres") {
		c.PostgresDSN = FindPostgres(ctx)
	}
	root, err := os.MkdirTemp(c.Dir, "biztierbench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(root)
	var results []Result
	var errs []error
	for _, name := range c.Scenarios {
		rs, err := runScenario(ctx, &c, lookupScenario(name), root)
		results = append(results, rs...)
		if err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	progress(&c, "")
	return results, errors.Join(errs...)
}

// instance is one system open for a scenario, with its accumulated
// measurements.
type instance struct {
	name  string
	sys   System
	batch int
	acc   accum
	res   *Result
	// allocs adds up what the rounds allocated (see Config.ProfileDir).
	allocs *profile.Profile
}

func runScenario(ctx context.Context, c *Config, sc *scenario, root string) ([]Result, error) {
	size := sc.size
	if c.Size > 0 {
		size = c.Size
	}
	body := xmlBody(size)
	var insts []*instance
	var errs []error
	results := make([]Result, len(c.Systems))
	defer func() {
		for _, in := range insts {
			if in.sys != nil {
				if err := in.sys.Close(); err != nil {
					in.res.Error = joinNote(in.res.Error, "close: "+err.Error())
					errs = append(errs, fmt.Errorf("bench: %s/%s: close: %w", sc.name, in.name, err))
				}
			}
		}
	}()
	for i, name := range c.Systems {
		spec := systems[name]
		results[i] = Result{Scenario: sc.name, System: name, BodyBytes: size}
		in := &instance{name: name, batch: spec.batch(c), res: &results[i]}
		in.batch = max(1, min(in.batch, (8<<20)/max(size, 1)))
		insts = append(insts, in)
		progress(c, fmt.Sprintf("%s: %s: setting up", sc.name, name))
		sys, err := openSystem(ctx, c, sc, spec, name, filepath.Join(root, sc.name+"-"+name), body)
		if err != nil {
			if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrUnavailable) {
				results[i].Skipped = err.Error()
			} else {
				results[i].Error = err.Error()
				errs = append(errs, fmt.Errorf("bench: %s/%s: %w", sc.name, name, err))
			}
			continue
		}
		in.sys = sys
	}
	for round := range c.Rounds {
		for k := range insts {
			in := insts[(k+round)%len(insts)]
			if in.sys == nil || in.res.Error != "" {
				continue
			}
			if ctx.Err() != nil {
				return results, errors.Join(append(errs, ctx.Err())...)
			}
			label := fmt.Sprintf("%s: round %d/%d: %s", sc.name, round+1, c.Rounds, in.name)
			if err := runRound(ctx, c, sc, in, round, body, label); err != nil {
				in.res.Error = err.Error()
				errs = append(errs, fmt.Errorf("bench: %s/%s: %w", sc.name, in.name, err))
			}
		}
	}
	for _, in := range insts {
		if in.sys != nil && in.res.Error == "" {
			in.acc.fill(in.res, size)
		}
	}
	ratios(results)
	return results, errors.Join(errs...)
}

func openSystem(ctx context.Context, c *Config, sc *scenario, spec systemSpec, name, dir string, body []byte) (System, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sys, err := spec.open(ctx, dir, c)
	if err != nil {
		return nil, err
	}
	if err := sys.Setup(ctx, sc.queues(c), sc.routes(c)); err != nil {
		return nil, errors.Join(err, sys.Close())
	}
	if sc.prepare != nil {
		progress(c, fmt.Sprintf("%s: %s: preparing", sc.name, name))
		if err := sc.prepare(ctx, sys, c, body); err != nil {
			return nil, errors.Join(err, sys.Close())
		}
	}
	return sys, nil
}

// accum adds up a system's rounds.
type accum struct {
	messages  int64
	published int64
	elapsed   time.Duration
	cpu       time.Duration
	peakHeap  uint64
	latencies []int64
	// written is the bytes written during the rounds, by writeSource;
	// writeUnknown is set if any round could not measure them.
	written      int64
	writeSource  string
	writeUnknown bool
}

func (a *accum) fill(r *Result, size int) {
	r.Messages = a.messages
	r.Published = a.published
	r.Seconds = a.elapsed.Seconds()
	if r.Seconds > 0 {
		r.MsgsPerSec = float64(a.messages) / r.Seconds
		r.MBPerSec = r.MsgsPerSec * float64(size) / 1e6
	}
	if a.messages > 0 {
		r.CPUPer1k = a.cpu.Seconds() / float64(a.messages) * 1000
	}
	r.PeakHeap = a.peakHeap
	if !a.writeUnknown && a.messages > 0 {
		r.BytesPerMsg = float64(a.written) / float64(a.messages)
		r.WriteSource = a.writeSource
	}
	slices.Sort(a.latencies)
	r.P50 = time.Duration(percentile(a.latencies, 0.50))
	r.P99 = time.Duration(percentile(a.latencies, 0.99))
	r.P999 = time.Duration(percentile(a.latencies, 0.999))
}

// percentile returns the p-quantile (0 < p ≤ 1) of sorted by the
// nearest-rank method: the smallest sample with at least p of the samples
// at or below it, so p999 of fewer than 1,000 samples is the largest.
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// runRound runs one round of sc on in: publishers and consumers until the
// round's time or count is used up and every published message has been
// dequeued at the end of its flow, then stops the consumers, which
// complete what they hold.
func runRound(ctx context.Context, c *Config, sc *scenario, in *instance, round int, body []byte, label string) error {
	fan := int64(sc.fan(c))
	sinks := sc.sinks(c)
	inflight := int64(c.Inflight)
	if inflight <= 0 {
		inflight = 4 * int64(c.Publishers) * int64(in.batch)
	}
	inflight = max(int64(in.batch)*2, min(inflight, int64(64<<20)/int64(max(len(body), 1))))
	win := newWindow(inflight * fan)
	runtime.GC()
	prof, err := startProfile(c, sc, in, round)
	if err != nil {
		return err
	}
	w0, writeSource, writeOK := writeMeter(ctx, in.sys)
	cpu0 := cpuTime()
	heapStop := sampleHeap()

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		expected  atomic.Int64 // sink deliveries to wait for; max until publishers stop
		dequeued  atomic.Int64 // sink deliveries dequeued
		completed atomic.Int64 // sink deliveries completed
		published atomic.Int64
		allIn     = make(chan struct{})
		allOnce   sync.Once
		errMu     sync.Mutex
		firstErr  error
	)
	expected.Store(math.MaxInt64)
	fail := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		cancel()
	}
	checkAllIn := func() {
		if dequeued.Load() >= expected.Load() {
			allOnce.Do(func() { close(allIn) })
		}
	}
	start := time.Now()

	// Consumers.
	var cwg sync.WaitGroup
	lats := make([][]int64, 0)
	var latMu sync.Mutex
	for _, q := range sc.queues(c) {
		sink := slices.Contains(sinks, q)
		fwd := sc.forward[q]
		fctx := encodeContext(fwd)
		for range c.Consumers {
			cwg.Go(func() {
				var lat []int64
				defer func() {
					latMu.Lock()
					lats = append(lats, lat)
					latMu.Unlock()
				}()
				var done []Delivery
				var out []Msg
				fw, _ := in.sys.(Forwarder)
				if fwd == "" {
					fw = nil
				}
				for {
					var (
						ds  []Delivery
						err error
					)
					if fw != nil && len(done) > 0 {
						// The forwards of done, its completion and the next
						// batch in one commit.
						ds, err = fw.Forward(cctx, q, out, done, in.batch)
					} else {
						ds, err = in.sys.Next(cctx, q, done, in.batch)
					}
					if sink && len(done) > 0 {
						now := time.Now().UnixNano()
						for _, d := range done {
							lat = append(lat, now-d.Sent)
						}
						completed.Add(int64(len(done)))
					}
					done = nil
					if cctx.Err() != nil {
						return
					}
					if err != nil {
						fail(fmt.Errorf("%s: next: %w", q, err))
						return
					}
					if len(ds) == 0 {
						ds, err = in.sys.Wait(cctx, q, in.batch)
						if cctx.Err() != nil {
							return
						}
						if err != nil {
							fail(fmt.Errorf("%s: wait: %w", q, err))
							return
						}
					}
					if fwd != "" {
						out = out[:0]
						for _, d := range ds {
							out = append(out, Msg{Type: fwd, Sent: d.Sent, Body: body, Context: fctx})
						}
						if fw == nil {
							if err := in.sys.Publish(context.WithoutCancel(cctx), out); err != nil {
								fail(fmt.Errorf("%s: forward: %w", q, err))
								return
							}
						}
					}
					if sink {
						win.release(int64(len(ds)))
						dequeued.Add(int64(len(ds)))
						checkAllIn()
					}
					done = ds
				}
			})
		}
	}

	// Publishers.
	rounds := int64(c.Rounds)
	var quota int64 = math.MaxInt64
	var deadline time.Time
	if c.Count > 0 {
		quota = (int64(c.Count) + rounds - 1) / rounds
	} else {
		deadline = start.Add(c.Duration / time.Duration(c.Rounds))
	}
	var claimed atomic.Int64
	var pwg sync.WaitGroup
	mctx := encodeContext(typeOrder)
	// Open loop: each publisher sends a batch every interval, the
	// publishers staggered over it.
	var interval time.Duration
	if c.Rate > 0 {
		interval = time.Duration(float64(in.batch*c.Publishers) / c.Rate * float64(time.Second))
	}
	for p := range c.Publishers {
		pwg.Go(func() {
			msgs := make([]Msg, 0, in.batch)
			next := start.Add(interval * time.Duration(p) / time.Duration(c.Publishers))
			for cctx.Err() == nil {
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				sent := time.Now()
				if interval > 0 {
					if d := time.Until(next); d > 0 {
						select {
						case <-time.After(d):
						case <-cctx.Done():
							return
						}
					}
					sent, next = next, next.Add(interval)
				}
				n := int64(in.batch)
				if c.Count > 0 {
					first := claimed.Add(n) - n
					if first >= quota {
						return
					}
					n = min(n, quota-first)
				}
				if interval == 0 && !win.acquire(cctx, n*fan) {
					return
				}
				msgs = msgs[:0]
				for range n {
					msgs = append(msgs, Msg{Type: typeOrder, Sent: sent.UnixNano(), Body: body, Context: mctx})
				}
				if err := in.sys.Publish(cctx, msgs); err != nil {
					if cctx.Err() == nil {
						fail(fmt.Errorf("publish: %w", err))
					}
					return
				}
				published.Add(n)
			}
		})
	}

	// Progress.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	pubDone := make(chan struct{})
	go func() { pwg.Wait(); close(pubDone) }()
	report := func() {
		el := time.Since(start).Seconds()
		progress(c, fmt.Sprintf("%s: %d msgs, %.0f msg/s", label, completed.Load()/fan, float64(completed.Load()/fan)/max(el, 1e-9)))
	}
wait:
	for {
		select {
		case <-pubDone:
			break wait
		case <-tick.C:
			report()
		}
	}
	expected.Store(published.Load() * fan)
	checkAllIn()
drain:
	for {
		select {
		case <-allIn:
			break drain
		case <-cctx.Done():
			break drain
		case <-tick.C:
			report()
		}
	}
	cancel()
	cwg.Wait()
	if st, ok := in.sys.(Settler); ok && firstErr == nil {
		// Work the system does behind its commits counts in the round.
		if err := st.Settle(ctx); err != nil {
			fail(err)
		}
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	peak := heapStop()
	w1, _, writeOK1 := writeMeter(context.WithoutCancel(ctx), in.sys)
	win.close()
	if err := prof.stop(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if got, want := completed.Load(), published.Load()*fan; got != want {
		return fmt.Errorf("completed %d deliveries at the end of the flow, want %d (%d published × %d)", got, want, published.Load(), fan)
	}
	a := &in.acc
	a.published += published.Load()
	a.messages += published.Load()
	a.elapsed += elapsed
	a.cpu += cpu
	a.peakHeap = max(a.peakHeap, peak)
	a.written += w1 - w0
	a.writeSource = writeSource
	a.writeUnknown = a.writeUnknown || !writeOK || !writeOK1 || w1 < w0
	for _, l := range lats {
		a.latencies = append(a.latencies, l...)
	}
	return nil
}

// window bounds the deliveries in flight: publishers acquire before they
// publish, sink consumers release as they dequeue.
type window struct {
	mu struct {
		sync.Mutex
		// n and closed are guarded by mu.
		n      int64
		closed bool
	}
	limit int64
	cond  *sync.Cond
}

func newWindow(limit int64) *window {
	w := &window{limit: limit}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// acquire waits until n more fit (or nothing is in flight) and takes
// them; false if ctx ended first.
func (w *window) acquire(ctx context.Context, n int64) bool {
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.mu.n > 0 && w.mu.n+n > w.limit {
		if ctx.Err() != nil || w.mu.closed {
			return false
		}
		w.cond.Wait()
	}
	w.mu.n += n
	return ctx.Err() == nil
}

func (w *window) release(n int64) {
	w.mu.Lock()
	w.mu.n -= n
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (w *window) close() {
	w.mu.Lock()
	w.mu.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
}

// sampleHeap samples the live heap every 10 ms until the returned
// function is called, which returns the largest sample.
func sampleHeap() func() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			return s[0].Value.Uint64()
		}
		return 0
	}
	var peak atomic.Uint64
	peak.Store(read())
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return max(peak.Load(), read())
	}
}

// progress rewrites the progress line; an empty line clears it.
func progress(c *Config, line string) {
	if c.Progress == nil {
		return
	}
	const width = 100
	if len(line) > width {
		line = line[:width]
	}
	fmt.Fprintf(c.Progress, "\r%-*s", width, line)
	if line == "" {
		fmt.Fprint(c.Progress, "\r")
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
