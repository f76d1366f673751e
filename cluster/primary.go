package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/biztier/biztier/wal"
)

// primary is the active side of the pair for one term: the commit gate,
// the stream to the passive and the sync record.
type primary struct {
	n     *Node
	term  Term
	epoch uint64
	mode  Mode

	fenceCh chan struct{} // closed by fence
	demoted chan struct{} // closed once the node has stepped down from the term
	wg      sync.WaitGroup

	// syncMu serialises sync-record writes with the decisions they record.
	syncMu sync.Mutex

	// mu guards the fields below and is the lock behind changed, which is
	// closed and replaced whenever any of them changes.
	mu        sync.Mutex
	changed   chan struct{}
	fenced    bool
	why       string   // why it was fenced
	conn      net.Conn // current passive's connection
	peer      string
	peerDisk  string // the passive's disk identity, from its hello
	selfFrom  uint64 // this node's durable LSN when it promoted
	connected bool
	flushed   uint64 // passive's durable LSN
	applied   uint64 // passive's applied LSN
	lastAck   time.Time
	caughtAt  time.Time // last time the passive had every durable frame
	waitS     bool      // commits wait for the passive
	addAt     uint64    // the passive is listed once it holds this LSN
	listed    bool      // the sync record lists the passive
	listing   bool      // a write listing it is under way
	passed    uint64    // highest LSN the gate let through
	retain    *wal.Pin  // keeps the frames the passive still needs
}

func newPrimary(n *Node, t Term) *primary {
	return &primary{n: n, term: t, epoch: t.Epoch(), mode: n.opts.Mode,
		fenceCh: make(chan struct{}), demoted: make(chan struct{}), changed: make(chan struct{})}
}

func (p *primary) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *primary) isFenced() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fenced
}

// leaseValid reports whether the term's lease still holds by the node's
// own (monotonic) clock: commits and reads alike are answered only while
// it does.
func (p *primary) leaseValid() bool {
	return time.Now().Before(p.term.ValidUntil())
}

// fence stops the node acknowledging anything for this term, at once and
// for good: commits in flight fail with ErrNotActive and the stream closes.
func (p *primary) fence(why string) {
	p.mu.Lock()
	if p.fenced {
		p.mu.Unlock()
		return
	}
	p.fenced, p.why = true, why
	close(p.fenceCh)
	p.notifyLocked()
	conn := p.conn
	p.mu.Unlock()
	p.n.wlog().SetFollower(ErrNotActive)
	if conn != nil {
		_ = conn.Close()
	}
}

// stop fences and waits for the term's goroutines.
func (p *primary) stop() {
	p.fence("stopped")
	p.wg.Wait()
	p.mu.Lock()
	if p.retain != nil {
		p.retain.Release()
		p.retain = nil
	}
	p.mu.Unlock()
}

// register counts a goroutine that stop waits for; it fails once fenced.
func (p *primary) register() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fenced {
		return false
	}
	p.wg.Add(1)
	return true
}

func (p *primary) inSync() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listed && p.connected && !p.fenced
}

// caughtUp reports whether the passive holds (and, but for Async, has
// applied) every frame up to last, and returns a channel closed on change.
func (p *primary) caughtUp(last uint64) (bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected && p.flushed >= last && p.applied >= last, p.changed
}

// checkRetention drops the pin held for a disconnected passive once the
// log has grown past Options.RetainBytes.
func (p *primary) checkRetention() {
	limit := p.n.opts.RetainBytes
	if limit < 0 {
		return
	}
	p.mu.Lock()
	pin := p.retain
	if p.connected || pin == nil {
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	if p.n.wlog().Stats().Bytes <= limit {
		return
	}
	p.mu.Lock()
	if p.retain == pin && !p.connected {
		pin.Release()
		p.retain = nil
		p.mu.Unlock()
		p.n.setErr(fmt.Errorf("cluster: log past %d bytes: no longer keeping frames from lsn %d for passive %q, which will need a bootstrap", limit, pin.LSN(), p.peer))
		return
	}
	p.mu.Unlock()
}

// errInDoubt is the gate's error once the node has stepped down.
var errInDoubt = fmt.Errorf("%w: %w", ErrNotActive, ErrInDoubt)

// gate is the log's replication gate (wal.Log.SetGate): it returns once
// the group ending at last may be applied and acknowledged, or fails it.
func (p *primary) gate(last uint64) error {
	start := time.Now()
	for {
		p.mu.Lock()
		if p.fenced {
			p.mu.Unlock()
			return errInDoubt
		}
		if !p.leaseValid() {
			p.mu.Unlock()
			p.fence("lease lapsed at commit")
			return fmt.Errorf("%w: %w: lease lapsed", ErrNotActive, ErrInDoubt)
		}
		ok := p.mode == Async || !p.waitS
		if !ok && p.mode == SyncApply {
			ok = p.applied >= last
		} else if !ok {
			ok = p.flushed >= last
		}
		if ok {
			p.passed = max(p.passed, last)
			p.mu.Unlock()
			p.n.pausePoint("gate")
			return nil
		}
		since := start
		if p.lastAck.After(since) {
			since = p.lastAck
		}
		stalled := !p.connected || time.Since(since) >= p.n.opts.SyncTimeout
		if stalled && !p.n.opts.Strict {
			p.mu.Unlock()
			if err := p.degrade(); err != nil {
				p.fence("could not drop the passive from the sync record: " + err.Error())
				return fmt.Errorf("%w: %w: %w", ErrNotActive, ErrInDoubt, err)
			}
			continue
		}
		wait := time.Until(p.term.ValidUntil())
		if p.connected {
			wait = min(wait, p.n.opts.SyncTimeout-time.Since(since))
		}
		ch := p.changed
		p.mu.Unlock()
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// writeSync records the sync record for this term: the active alone, or
// with the passive. The write is guarded by the term (a node that no
// longer leads cannot write it).
func (p *primary) writeSync(withPeer bool) error {
	p.mu.Lock()
	rec := SyncRecord{Epoch: p.epoch, Candidates: []Candidate{{ID: p.n.opts.ID, Disk: p.n.diskID(), From: p.selfFrom}}}
	if withPeer {
		// The passive holds every frame up to flushed, and every commit
		// acknowledged from now on.
		rec.Candidates = append(rec.Candidates, Candidate{ID: p.peer, Disk: p.peerDisk, From: p.flushed})
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.n.ctx, max(p.n.opts.SyncTimeout, time.Second))
	defer cancel()
	return p.term.SetSync(ctx, rec)
}

// degrade drops the passive from the sync record, then stops waiting for
// it: Patroni's order, so that the passive is never promoted while commits
// it lacks are acknowledged.
func (p *primary) degrade() error {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	p.mu.Lock()
	if !p.waitS {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	if err := p.writeSync(false); err != nil {
		return err
	}
	p.mu.Lock()
	p.waitS, p.listed = false, false
	p.notifyLocked()
	p.mu.Unlock()
	return nil
}

// list adds the passive to the sync record once it holds every
// acknowledged commit (commits already wait for it).
func (p *primary) list() {
	defer p.wg.Done()
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	p.mu.Lock()
	ok := p.waitS && !p.fenced
	p.mu.Unlock()
	var err error
	if ok {
		err = p.writeSync(true)
	}
	p.mu.Lock()
	p.listing = false
	if ok && err == nil && p.waitS {
		p.listed = true
	}
	p.notifyLocked()
	p.mu.Unlock()
	if err != nil {
		p.fence("could not list the passive in the sync record: " + err.Error())
	}
}

// onAck records a passive's acknowledgement.
func (p *primary) onAck(flushed, applied uint64) {
	durable := p.n.wlog().DurableLSN()
	p.mu.Lock()
	p.flushed, p.applied = max(p.flushed, flushed), max(p.applied, applied)
	now := time.Now()
	p.lastAck = now
	if p.flushed >= durable {
		p.caughtAt = now
	}
	if p.mode != Async && !p.waitS && !p.fenced && p.flushed+p.n.opts.CatchUpWindow >= durable {
		// Close enough: from now on commits wait for the passive, and once
		// it holds everything acknowledged so far it is listed.
		p.waitS, p.addAt = true, p.passed
	}
	reached := p.flushed >= p.addAt
	if p.mode == SyncApply {
		reached = p.applied >= p.addAt
	}
	start := p.waitS && !p.listed && !p.listing && !p.fenced && reached
	if start {
		p.listing = true
		p.wg.Add(1)
	}
	p.notifyLocked()
	p.mu.Unlock()
	if start {
		go p.list()
	}
}

// serve runs the active's side of one passive's connection: the
// handshake, then frames out and acks in.
func (p *primary) serve(conn net.Conn, br *bufio.Reader, bw *bufio.Writer, peerEpoch uint64, h hello) error {
	log := p.n.wlog()
	if peerEpoch > p.epoch {
		_ = writeMsg(bw, msgReject, p.epoch, []byte{rejectStaleEpoch})
		p.fence(fmt.Sprintf("passive %q has seen epoch %d", h.id, peerEpoch))
		return ErrNotActive
	}
	fork := forkPoint(log.Epochs(), log.DurableLSN(), h.history, h.last)
	if h.applied > fork {
		_ = writeMsg(bw, msgReject, p.epoch, []byte{rejectNeedBootstrap})
		return fmt.Errorf("%w: passive %q applied lsn %d, past the fork at %d", ErrNeedBootstrap, h.id, h.applied, fork)
	}
	pin, err := log.Pin("cluster:"+h.id, fork+1)
	if err != nil {
		_ = writeMsg(bw, msgReject, p.epoch, []byte{rejectNeedBootstrap})
		return fmt.Errorf("%w: passive %q needs lsn %d: %w", ErrNeedBootstrap, h.id, fork+1, err)
	}
	r, err := log.NewUnsyncedReader(fork + 1)
	if err != nil {
		pin.Release()
		_ = writeMsg(bw, msgReject, p.epoch, []byte{rejectNeedBootstrap})
		return fmt.Errorf("%w: %w", ErrNeedBootstrap, err)
	}
	defer r.Close()
	if err := writeMsg(bw, msgAccept, p.epoch, twoUints(fork, 0)); err != nil {
		pin.Release()
		return err
	}
	// A passive that comes back as another node or on another disk (it
	// lost its own) is not the one the record may list: drop that one
	// from the record before anything is acknowledged without it.
	p.mu.Lock()
	other := p.peer != "" && (p.peer != h.id || p.peerDisk != h.disk)
	p.mu.Unlock()
	if other {
		if err := p.degrade(); err != nil {
			pin.Release()
			p.fence("could not drop the passive from the sync record: " + err.Error())
			return fmt.Errorf("%w: %w", ErrNotActive, err)
		}
	}
	// Attach: this connection replaces any earlier one.
	p.mu.Lock()
	if p.fenced {
		p.mu.Unlock()
		pin.Release()
		return ErrNotActive
	}
	old := p.conn
	p.conn, p.peer, p.peerDisk, p.connected = conn, h.id, h.disk, true
	p.flushed, p.applied, p.lastAck = fork, min(fork, h.applied), time.Now()
	if fork >= log.DurableLSN() || p.caughtAt.IsZero() {
		p.caughtAt = p.lastAck
	}
	if p.retain != nil {
		p.retain.Release()
	}
	p.retain = pin
	p.notifyLocked()
	p.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	defer func() {
		p.mu.Lock()
		if p.conn == conn {
			p.conn, p.connected = nil, false
			p.notifyLocked()
		}
		p.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(p.n.ctx)
	defer cancel()
	sendErr := make(chan error, 1)
	go func() {
		sendErr <- p.send(ctx, r, bw)
		_ = conn.Close()
	}()
	var err2 error
	for {
		_ = conn.SetReadDeadline(time.Now().Add(4*p.n.opts.Heartbeat + time.Second))
		m, err := readMsg(br, 1<<10)
		if err != nil {
			err2 = err
			break
		}
		if m.epoch > p.epoch {
			p.fence(fmt.Sprintf("passive %q reports epoch %d", h.id, m.epoch))
			err2 = ErrNotActive
			break
		}
		switch m.typ {
		case msgAck:
			flushed, applied, err := decodeTwoUints(m.body)
			if err != nil {
				err2 = err
				break
			}
			p.onAck(flushed, applied)
			pin.Advance(flushed + 1)
			continue
		case msgReject:
			if len(m.body) == 1 && m.body[0] == rejectStaleEpoch {
				p.fence(fmt.Sprintf("passive %q rejected epoch %d as stale", h.id, p.epoch))
			}
			err2 = fmt.Errorf("%w: passive %q rejected the stream (reason %d)", ErrProtocol, h.id, m.body)
		default:
			err2 = fmt.Errorf("%w: unexpected message type %d from passive", ErrProtocol, m.typ)
		}
		break
	}
	_ = conn.Close()
	cancel()
	<-sendErr
	if errors.Is(err2, io.EOF) || errors.Is(err2, net.ErrClosed) {
		err2 = nil
	}
	return err2
}

// maxBatch bounds one frames message.
const maxBatch = 1 << 20

// send streams durable frames from r to the passive, with heartbeats while
// the log is idle.
func (p *primary) send(ctx context.Context, r *wal.Reader, bw *bufio.Writer) error {
	log := p.n.wlog()
	var buf []byte
	for {
		hctx, cancel := context.WithTimeout(ctx, p.n.opts.Heartbeat)
		f, err := r.Next(hctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			if err := writeMsg(bw, msgHeartbeat, p.epoch, twoUints(log.DurableLSN(), uint64(time.Now().UnixNano()))); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		buf = wal.EncodeFrame(buf[:0], f)
		for len(buf) < maxBatch {
			f, err = r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			buf = wal.EncodeFrame(buf, f)
		}
		if err := writeMsg(bw, msgFrames, p.epoch, buf); err != nil {
			return err
		}
	}
}

// handle serves one incoming replication connection.
func (n *Node) handle(conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(n.ctx, func() { _ = conn.Close() })
	defer stop()
	br, bw := bufio.NewReaderSize(conn, 64<<10), bufio.NewWriterSize(conn, 64<<10)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := readMsg(br, 1<<20)
	if err != nil {
		return
	}
	if m.typ == msgBootstrap {
		n.mu.Lock()
		p := n.prim
		n.mu.Unlock()
		if p == nil || !p.register() {
			_ = writeMsg(bw, msgReject, n.wlog().Epoch(), []byte{rejectNotLeader})
			return
		}
		defer p.wg.Done()
		if err := p.sendBootstrap(bw, string(m.body)); err != nil {
			n.setErr(fmt.Errorf("cluster: bootstrap %q: %w", m.body, err))
		}
		return
	}
	if m.typ != msgHello {
		return
	}
	h, err := decodeHello(m.body)
	if err != nil {
		return
	}
	n.mu.Lock()
	p := n.prim
	n.mu.Unlock()
	if p == nil || !p.register() {
		_ = writeMsg(bw, msgReject, n.wlog().Epoch(), []byte{rejectNotLeader})
		return
	}
	defer p.wg.Done()
	if err := p.serve(conn, br, bw, m.epoch, h); err != nil {
		n.setErr(fmt.Errorf("cluster: stream to %q: %w", h.id, err))
	}
}

// serve accepts replication connections until the listener closes.
func (n *Node) serve() {
	defer n.wg.Done()
	var cwg sync.WaitGroup
	defer cwg.Wait()
	for {
		conn, err := n.ln.Accept()
		if err != nil {
			return
		}
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			n.handle(conn)
		}()
	}
}
