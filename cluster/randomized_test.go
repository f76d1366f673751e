package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/biztier/biztier"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestFailoverRandomized runs a pair under continuous load while a nemesis
// crashes and restarts nodes, partitions and resets the replication link,
// cuts the active off from the witness, pauses it past its lease and
// switches over, at random. The load is the MessageBox (publishers, and
// consumers that dequeue and complete, on whichever node is active; see
// mbload_test.go) alongside raw Node.Update writes, bank transfers between
// two databases and linearizable reads.
//
// After each trial it checks that no acknowledged publish or completion
// is lost and no message is delivered after an acknowledged completion
// (nor with a delivery count not above an acknowledged earlier one), that
// no acknowledged raw write is lost and the history is linearizable, that
// the bank kept its total (no transaction split), that both nodes hold the
// same data at the same LSN with identical logs, and that no epoch was
// promoted twice or had commits acknowledged by two nodes. It prints
// trials=N lost=0 diverged=0. BIZTIER_TRIALS sets the number of trials
// (default 2); BIZTIER_SEED replays one seed.
func TestFailoverRandomized(t *testing.T) {
	trials := 2
	if s := os.Getenv("BIZTIER_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		trials = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BIZTIER_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	lostTotal, diverged := 0, 0
	for i := range trials {
		s := seed + uint64(i)
		t.Logf("trial %d: BIZTIER_SEED=%d", i, s)
		lost, div := runTrial(t, s)
		lostTotal += lost
		diverged += div
		if t.Failed() {
			break
		}
	}
	fmt.Printf("trials=%d lost=%d diverged=%d\n", trials, lostTotal, diverged)
	require.Zero(t, lostTotal)
	require.Zero(t, diverged)
}

const (
	bankAccounts = 8
	bankStart    = 1000
)

func bankKey(i int) []byte { return fmt.Appendf(nil, "acct%02d", i) }

// bankDB is where account i lives: half the accounts in each of two
// databases, so every transfer between halves is a cross-database commit.
func bankDB(i int) biztier.Database {
	if i%2 == 0 {
		return biztier.MessageBox
	}
	return biztier.Tracking
}

func bankTotal(g *biztier.Group) (int64, error) {
	var sum int64
	for i := range bankAccounts {
		v, ok, err := g.Get(bankDB(i), bankKey(i))
		if err != nil {
			return 0, err
		}
		if ok {
			sum += int64(binary.BigEndian.Uint64(v))
		}
	}
	return sum, nil
}

// history records register operations for porcupine: Call and Return
// come from one counter; a write whose outcome is unknown returns at
// infinity.
type history struct {
	clock atomic.Int64
	mu    sync.Mutex
	ops   []porcupine.Operation
}

type regInput struct {
	key   string
	write bool
	v     uint64
}

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// registerModel is a register per key; absent reads as 0.
var registerModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range ops {
			k := op.Input.(regInput).key
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(by))
		for _, p := range by {
			out = append(out, p)
		}
		return out
	},
	Init: func() any { return uint64(0) },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		if in.write {
			return true, in.v
		}
		return output.(uint64) == state.(uint64), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		if in.write {
			return fmt.Sprintf("write(%s, %d)", in.key, in.v)
		}
		return fmt.Sprintf("read(%s) = %v", in.key, output)
	},
}

type trialPair struct {
	hist  history
	t     *testing.T
	w     *LocalWitness
	mu    sync.Mutex
	nodes [2]*testNode
	px    [2]*tcpProxy

	promoMu    sync.Mutex
	promos     map[uint64]string // epoch -> node that promoted in it
	committers map[uint64]string // epoch -> node that acknowledged a commit in it
	dupEpoch   string
}

func (p *trialPair) open(i int, fs *vfs.MemFS) {
	id := string(rune('a' + i))
	n, px := openProxiedNode(p.t, p.w, id, Sync, func(o *Options) {
		o.SyncTimeout = 500 * time.Millisecond
		if fs != nil {
			o.Group.FS = fs
		}
		o.OnPromote = func(e uint64) {
			p.promoMu.Lock()
			defer p.promoMu.Unlock()
			if prev, ok := p.promos[e]; ok {
				p.dupEpoch = fmt.Sprintf("epoch %d promoted by %s and %s", e, prev, id)
			}
			p.promos[e] = id
		}
	})
	if fs != nil {
		n.fs = fs
	}
	p.mu.Lock()
	p.nodes[i], p.px[i] = n, px
	p.mu.Unlock()
}

func (p *trialPair) node(i int) *testNode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nodes[i]
}

func (p *trialPair) active() (int, *testNode) {
	for i := range 2 {
		if n := p.node(i); n != nil && n.Role() == Active {
			return i, n
		}
	}
	return -1, nil
}

func runTrial(t *testing.T, seed uint64) (lost, diverged int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	p := &trialPair{t: t, w: NewLocalWitness(testTTL), promos: map[uint64]string{}, committers: map[uint64]string{}}
	p.open(0, nil)
	waitActive(t, 5*time.Second, p.node(0))
	p.open(1, nil)
	waitInSync(t, p.node(0))
	// Fund the bank.
	_, err := p.node(0).Update(context.Background(), func(tx *biztier.Txn) error {
		for i := range bankAccounts {
			if err := tx.Set(bankDB(i), bankKey(i), u64(bankStart)); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	mbc := newMBChecker(p)
	require.NoError(t, mbc.setup(context.Background(), p.node(0).Node))

	l := newLedger()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var commits, transfers int
	for w := range 2 { // the MessageBox load: publishers and consumers
		wg.Add(2)
		go func() {
			defer wg.Done()
			mbc.publish(w, stop)
		}()
		go func() {
			defer wg.Done()
			mbc.consume(rand.New(rand.NewPCG(seed, uint64(10+w))), stop)
		}()
	}
	wg.Add(2)
	go func() { // writers: acknowledged values must survive
		defer wg.Done()
		commits = p.load(l, stop)
	}()
	go func() { // bank: one transfer at a time, read on the active
		defer wg.Done()
		r := rand.New(rand.NewPCG(seed, 1))
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, n := p.active()
			if n == nil {
				time.Sleep(time.Millisecond)
				continue
			}
			from, to := r.IntN(bankAccounts), r.IntN(bankAccounts)
			e := n.curEpoch()
			g := n.Group()
			fv, ok1, err1 := g.Get(bankDB(from), bankKey(from))
			tv, ok2, err2 := g.Get(bankDB(to), bankKey(to))
			if err1 != nil || err2 != nil || !ok1 || !ok2 || from == to {
				continue
			}
			amt := uint64(r.IntN(10))
			fb, tb := binary.BigEndian.Uint64(fv), binary.BigEndian.Uint64(tv)
			if fb < amt {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err := n.Update(ctx, func(tx *biztier.Txn) error {
				if err := tx.Set(bankDB(from), bankKey(from), u64(fb-amt)); err != nil {
					return err
				}
				return tx.Set(bankDB(to), bankKey(to), u64(tb+amt))
			})
			cancel()
			if err == nil {
				transfers++
				p.committed(n, e)
			}
		}
	}()

	wg.Add(1)
	go func() { // reader: linearizable reads on the active
		defer wg.Done()
		r := rand.New(rand.NewPCG(seed, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, n := p.active()
			if n == nil {
				time.Sleep(time.Millisecond)
				continue
			}
			key := fmt.Sprintf("w%02d", r.IntN(4))
			var got uint64
			call := p.hist.clock.Add(1)
			err := n.Read(context.Background(), func(g *biztier.Group) error {
				v, ok, err := g.Get(biztier.MessageBox, []byte(key))
				if ok {
					got = binary.BigEndian.Uint64(v)
				}
				return err
			})
			ret := p.hist.clock.Add(1)
			if err == nil {
				// (A failed read has no effect.)
				p.hist.add(porcupine.Operation{ClientId: 10, Input: regInput{key: key}, Call: call, Output: got, Return: ret})
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	// The nemesis.
	steps := 2 + rng.IntN(3)
	for range steps {
		time.Sleep(time.Duration(50+rng.IntN(150)) * time.Millisecond)
		ai, an := p.active()
		if an == nil {
			waitActive(t, 10*time.Second, p.node(0), p.node(1))
			continue
		}
		switch k := rng.IntN(6); k {
		case 0: // crash the active, restart it later
			t.Logf("  crash active %s", an.id)
			fs := an.crash(p.w)
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
			p.open(ai, fs)
		case 1: // crash the passive, restart it
			pi := 1 - ai
			pn := p.node(pi)
			t.Logf("  crash passive %s", pn.id)
			fs := pn.crash(p.w)
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
			p.open(pi, fs)
		case 2: // partition the replication link, then heal
			d := time.Duration(rng.IntN(1200)) * time.Millisecond
			t.Logf("  partition link for %v", d)
			p.px[ai].blackhole(true)
			time.Sleep(d)
			p.px[ai].blackhole(false)
			p.px[ai].reset()
		case 3: // cut the active off from the witness
			d := time.Duration(rng.IntN(2000)) * time.Millisecond
			t.Logf("  isolate %s from the witness for %v", an.id, d)
			p.w.Isolate(an.id, true)
			time.Sleep(d)
			p.w.Isolate(an.id, false)
		case 4: // pause the active past its lease, then resume it
			t.Logf("  pause %s past its lease", an.id)
			resume := an.pauseNode(t)
			p.w.Isolate(an.id, true)
			time.Sleep(testTTL + testTTL/2)
			resume()
			p.w.Isolate(an.id, false)
		case 5:
			t.Logf("  switchover from %s", an.id)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = an.Switchover(ctx)
			cancel()
		}
	}
	// Heal and settle.
	for i := range 2 {
		p.px[i].blackhole(false)
	}
	close(stop)
	wg.Wait()
	var an, pn *testNode
	for attempt := 0; ; attempt++ {
		an = waitActive(t, 15*time.Second, p.node(0), p.node(1))
		ai := 0
		if an == p.node(1) {
			ai = 1
		}
		pn = p.node(1 - ai)
		waitInSync(t, an, pn)
		// The MessageBox check runs on the settled active; a failover still
		// under way (a lease lost just before the nemesis healed) makes it
		// settle again.
		_, err = mbc.check(an)
		if err == nil || attempt == 3 {
			break
		}
		t.Logf("  settle again: %v", err)
	}
	require.NoError(t, err)
	_, err = write(context.Background(), an.Node, "final", 1)
	require.NoError(t, err)
	waitCaughtUp(t, an, pn)

	lost, err = l.check(an.group())
	require.NoError(t, err)
	// Every MessageBox violation (a lost publish or completion, a completed
	// message delivered again) counts as a loss.
	mbc.mu.Lock()
	for _, v := range mbc.violations {
		t.Error(v)
	}
	lost += len(mbc.violations)
	mbc.mu.Unlock()
	total, err := bankTotal(an.group())
	require.NoError(t, err)
	require.Equal(t, int64(bankAccounts*bankStart), total, "bank total changed: a transaction was split or lost")
	la, da, err := an.group().Digest()
	require.NoError(t, err)
	lb, db, err := pn.group().Digest()
	require.NoError(t, err)
	if la != lb || da != db {
		diverged++
		t.Errorf("nodes diverged: %s at lsn %d digest %x, %s at lsn %d digest %x", an.id, la, da, pn.id, lb, db)
	}
	if err := sameLogs(an.wlog(), pn.wlog()); err != nil {
		diverged++
		t.Error(err)
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, p.hist.ops, 20*time.Second)
	if res != porcupine.Ok {
		path := fmt.Sprintf("%s/porcupine-%d.html", os.TempDir(), seed)
		_ = porcupine.VisualizePath(registerModel, info, path)
		t.Errorf("history of %d operations is not linearizable (%s); see %s", len(p.hist.ops), res, path)
	}
	p.promoMu.Lock()
	require.Empty(t, p.dupEpoch)
	p.promoMu.Unlock()
	t.Logf("  commits=%d transfers=%d ops=%d published=%d delivered=%d completed=%d lost=%d epochs=%d",
		commits, transfers, len(p.hist.ops), mbc.published, mbc.delivered, mbc.completed, lost, len(p.promos))
	return lost, diverged
}

func (p *trialPair) load(l *ledger, stop <-chan struct{}) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := 0
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("w%02d", w)
			var v uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, n := p.active()
				if n == nil {
					time.Sleep(time.Millisecond)
					continue
				}
				v++
				e := n.curEpoch()
				call := p.hist.clock.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := write(ctx, n.Node, key, v)
				cancel()
				ret := p.hist.clock.Add(1)
				if err != nil {
					ret = math.MaxInt64 // outcome unknown
				}
				if err == nil || !errors.Is(err, ErrNotActive) || errors.Is(err, ErrInDoubt) {
					// (A commit refused outright had no effect.)
					p.hist.add(porcupine.Operation{ClientId: w, Input: regInput{key: key, write: true, v: v}, Call: call, Return: ret})
				}
				l.record(key, v, err)
				if err == nil {
					p.committed(n, e)
					mu.Lock()
					total++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return total
}

// sameLogs checks that two logs hold the same frames (LSN, epoch, CRC and
// chain) over the LSNs both still hold.
func sameLogs(a, b *wal.Log) error {
	from := max(a.FirstLSN(), b.FirstLSN())
	to := min(a.DurableLSN(), b.DurableLSN())
	if from > to {
		return nil
	}
	ra, err := a.NewReader(from)
	if err != nil {
		return err
	}
	defer ra.Close()
	rb, err := b.NewReader(from)
	if err != nil {
		return err
	}
	defer rb.Close()
	for lsn := from; lsn <= to; lsn++ {
		fa, err := ra.Read()
		if err != nil {
			return fmt.Errorf("read lsn %d: %w", lsn, err)
		}
		fb, err := rb.Read()
		if err != nil {
			return fmt.Errorf("read lsn %d: %w", lsn, err)
		}
		if fa.Epoch != fb.Epoch || fa.CRC != fb.CRC || fa.PrevCRC != fb.PrevCRC {
			return fmt.Errorf("logs differ at lsn %d: epoch %d crc %08x vs epoch %d crc %08x", lsn, fa.Epoch, fa.CRC, fb.Epoch, fb.CRC)
		}
	}
	return nil
}
