package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/wal"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Role is what a node does in its pair.
type Role int

const (
	// Starting: the node has opened its group and not yet found its place.
	Starting Role = iota
	// Passive: the node follows the active (or looks for it) and campaigns
	// to replace it.
	Passive
	// Active: the node accepts commits and streams them to the passive.
	Active
	// Closed: Close has been called.
	Closed
)

func (r Role) String() string {
	switch r {
	case Starting:
		return "starting"
	case Passive:
		return "passive"
	case Active:
		return "active"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// Node is one node of an active/passive pair: a Group whose log is
// replicated to (or from) the other node, with the witness deciding which
// node is active. It is safe for concurrent use.
type Node struct {
	opts Options
	dir  string
	// g and log change only when a bootstrap rebuilds the group (under
	// opMu, held exclusively).
	g    atomic.Pointer[biztier.Group]
	log  atomic.Pointer[wal.Log]
	ln   net.Listener
	addr string
	// disk is the identity of the node's log (see diskIdentity); it
	// changes only when a bootstrap rebuilds the group.
	disk atomic.Pointer[string]

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
	// opMu is held shared by Update and exclusively by Close and by a
	// bootstrap, so the group is never closed under a commit.
	opMu sync.RWMutex
	// mbMu orders MessageBox (which opens the group's MessageBox on the
	// active) with closing it on stepping down.
	mbMu sync.Mutex

	// mu guards role, epoch, leader, prim, fol, lastErr and alarm.
	mu      sync.Mutex
	role    Role
	epoch   uint64
	leader  NodeInfo
	prim    *primary
	fol     followState
	lastErr error
	alarm   error

	// bootstraps counts the times this node was rebuilt from the active's
	// checkpoints since Open.
	bootstraps atomic.Int64

	// Test hooks.
	crashed atomic.Bool // a killed node: it does not resign on the way out
	// pause, if set, is called at the points where a process stopped by
	// SIGSTOP does the most harm when it resumes (between a lease check and
	// the answer it guards, and in the loop that watches the lease), with
	// the point's name; a test blocks in it to pause the node.
	pause atomic.Pointer[func(where string)]
}

// pausePoint runs the test's pause hook, if any.
func (n *Node) pausePoint(where string) {
	if f := n.pause.Load(); f != nil {
		(*f)(where)
	}
}

// followState is what the passive knows of its stream, for Status.
type followState struct {
	connected bool
	lastHeard time.Time
	activeLSN uint64 // the active's durable LSN, from its last heartbeat
}

// Open opens the group in dir as a node of a pair and starts it: it
// listens for a passive, finds the active through the witness, and either
// follows it or wins the election and becomes active. Nothing is committed
// locally before the node knows its place: the log's unapplied tail is kept
// out of the databases until the active has said how much of it to keep.
func Open(dir string, opts *Options) (*Node, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	g, err := openReplica(dir, o.Group)
	if err != nil {
		return nil, err
	}
	n := &Node{opts: o, dir: dir}
	if err := n.setGroup(g); err != nil {
		return nil, errors.Join(err, g.Close())
	}
	n.wlog().SetFollower(ErrNotActive)
	n.wlog().SetGate(refuseAll)
	n.ln = o.Listener
	if n.ln == nil {
		if n.ln, err = net.Listen("tcp", o.Addr); err != nil {
			return nil, errors.Join(fmt.Errorf("cluster: listen on %s: %w", o.Addr, err), g.Close())
		}
	}
	n.addr = n.ln.Addr().String()
	if o.Listener != nil && o.Addr != "" {
		n.addr = o.Addr
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(2)
	go n.serve()
	go n.run()
	return n, nil
}

func refuseAll(uint64) error { return errInDoubt }

// tracer makes the pair's spans (promotion, switchover) through the otel
// API; without a tracer provider they cost a no-op.
var tracer = otel.Tracer("github.com/biztier/biztier/cluster")

// openReplica opens the group in dir with its log's tail unapplied: the
// databases stay where they were until the active says how much of the
// tail to keep (TruncateTail) or the node becomes active (Replay).
func openReplica(dir string, opts *biztier.Options) (*biztier.Group, error) {
	g, err := clusterhooks.OpenReplica(dir, opts)
	if err != nil {
		return nil, err
	}
	return g.(*biztier.Group), nil
}

// setGroup makes g the node's group and reads its disk identity.
func (n *Node) setGroup(g *biztier.Group) error {
	hooks := clusterhooks.Of(g)
	disk, err := diskIdentity(n.fs(), hooks.LogDir())
	if err != nil {
		return err
	}
	n.g.Store(g)
	n.log.Store(hooks.Log())
	n.disk.Store(&disk)
	return nil
}

// diskID is the identity of the node's log.
func (n *Node) diskID() string {
	if d := n.disk.Load(); d != nil {
		return *d
	}
	return ""
}

// ID is the node's ID.
func (n *Node) ID() string { return n.opts.ID }

// Addr is the replication address the node advertises.
func (n *Node) Addr() string { return n.addr }

// Group returns the node's group, for reads. On the passive, reads see the
// frames applied so far (all acknowledged commits only in SyncApply mode).
// Writes must go through Update: the group's own Update fails with
// ErrNotActive on a passive but is not fenced like Node.Update on an
// active that is losing its lease.
//
// A bootstrap (see doc.go) replaces the group: call Group again afterwards.
func (n *Node) Group() *biztier.Group { return n.group() }

func (n *Node) group() *biztier.Group { return n.g.Load() }
func (n *Node) wlog() *wal.Log        { return n.log.Load() }

// Role returns the node's current role.
func (n *Node) Role() Role {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.role
}

// Update runs fn and commits what it wrote as one transaction on the active
// node (see biztier.Group.Update), returning its LSN once the commit is
// durable where the mode requires and visible. On a node that is not
// active, or stops being active before the commit is acknowledged, it
// fails with an error wrapping ErrNotActive. On a closed (or closing) node
// it fails with ErrClosed: alone if nothing was written, with ErrInDoubt
// too if the frame may have been. fn must not call back into the node.
func (n *Node) Update(ctx context.Context, fn func(*biztier.Tx) error) (uint64, error) {
	n.mu.Lock()
	role := n.role
	n.mu.Unlock()
	if role == Closed {
		return 0, ErrClosed
	}
	if role != Active {
		return 0, ErrNotActive
	}
	n.opMu.RLock()
	defer n.opMu.RUnlock()
	if n.ctx.Err() != nil {
		return 0, ErrClosed
	}
	lsn, err := n.group().Update(ctx, fn)
	if err != nil && errors.Is(err, biztier.ErrClosed) {
		return 0, fmt.Errorf("%w: %w", ErrClosed, ErrInDoubt)
	}
	if err != nil && errors.Is(err, wal.ErrFailed) && !errors.Is(err, ErrNotActive) {
		// The log failed (a write or fsync error): this node can acknowledge
		// nothing more, so it steps down and lets the passive take over.
		n.mu.Lock()
		p := n.prim
		n.mu.Unlock()
		if p != nil {
			p.fence("log failed: " + err.Error())
		}
	}
	return lsn, err
}

// Read runs fn on the active node's group with linearizable reads: fn
// runs only while the node is active and its lease valid, and its result
// is kept only if the lease is still valid once fn returns. No other node
// can have acknowledged a commit in between, since no other node can win
// the election before this node's lease has run out. On a node that is not
// active, or whose lease lapses meanwhile, Read fails with ErrNotActive
// (fn's result must then be discarded). Reads through Group() instead may
// be stale during a failover. fn must not call back into the node.
func (n *Node) Read(ctx context.Context, fn func(*biztier.Group) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	p := n.prim
	n.mu.Unlock()
	valid := func() bool { return p != nil && !p.isFenced() && p.leaseValid() }
	if !valid() {
		return ErrNotActive
	}
	n.opMu.RLock()
	err := fn(n.group())
	n.opMu.RUnlock()
	if err != nil {
		return err
	}
	n.pausePoint("read")
	if !valid() {
		return ErrNotActive
	}
	return nil
}

// WaitActive blocks until some node of the pair is active and returns it,
// for tests and examples; nodes lists the nodes to watch.
func WaitActive(ctx context.Context, nodes ...*Node) (*Node, error) {
	for {
		for _, n := range nodes {
			if n.Role() == Active {
				return n, nil
			}
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (n *Node) setErr(err error) {
	if err == nil || n.ctx.Err() != nil {
		return
	}
	n.mu.Lock()
	n.lastErr = err
	n.mu.Unlock()
}

// setAlarm records a condition an operator must look at (a refused
// promotion) in Status.Alarm.
func (n *Node) setAlarm(err error) {
	n.mu.Lock()
	n.alarm = err
	n.mu.Unlock()
}

func (n *Node) setRole(r Role) {
	n.mu.Lock()
	n.role = r
	n.mu.Unlock()
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run is the node's state machine: passive (following and campaigning)
// until it wins a term it may use, then active until it loses it.
func (n *Node) run() {
	defer n.wg.Done()
	for n.ctx.Err() == nil {
		t := n.runPassive()
		if t == nil {
			return
		}
		n.runActive(t)
	}
}

// campaignLoop campaigns until it wins a term this node may use, which it
// sends on out. A won term whose sync record does not list the node is
// resigned at once: promoting it could lose acknowledged commits.
func (n *Node) campaignLoop(ctx context.Context, out chan<- Term) {
	for ctx.Err() == nil {
		t, err := n.opts.Witness.Campaign(ctx, NodeInfo{ID: n.opts.ID, Addr: n.addr})
		if err != nil {
			n.setErr(fmt.Errorf("cluster: campaign: %w", err))
			if !sleep(ctx, n.opts.Heartbeat) {
				return
			}
			continue
		}
		rec, ok := t.Sync()
		log := n.wlog()
		if err := checkPromotion(rec, ok, n.opts.ID, n.diskID(), log.Epoch(), log.DurableLSN()); err != nil {
			n.setAlarm(fmt.Errorf("cluster: won epoch %d but not promoting: %w", t.Epoch(), err))
		} else if err := n.checkSSO(ctx); err != nil {
			n.setAlarm(fmt.Errorf("cluster: won epoch %d but not promoting: %w", t.Epoch(), err))
		} else if t.Epoch() <= log.Epoch() {
			n.setErr(fmt.Errorf("cluster: won epoch %d but the log is already at epoch %d", t.Epoch(), log.Epoch()))
		} else {
			select {
			case out <- t:
				return
			case <-ctx.Done():
			}
		}
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = t.Resign(rctx)
		cancel()
		if !sleep(ctx, 2*n.opts.Heartbeat) {
			return
		}
	}
}

// runPassive follows the active and campaigns until it wins a usable term
// (returned) or the node closes (nil).
func (n *Node) runPassive() Term {
	n.mu.Lock()
	if n.role != Starting {
		n.role = Passive
	}
	n.mu.Unlock()
	ctx, cancel := context.WithCancel(n.ctx)
	termCh := make(chan Term, 1)
	var cwg sync.WaitGroup
	cwg.Add(1)
	go func() {
		defer cwg.Done()
		n.campaignLoop(ctx, termCh)
	}()
	finish := func(t Term) Term {
		cancel()
		cwg.Wait()
		if t == nil {
			select {
			case t2 := <-termCh:
				_ = t2.Resign(context.Background())
			default:
			}
		}
		return t
	}
	for {
		fctx, fcancel := context.WithCancel(ctx)
		fdone := make(chan error, 1)
		go func() { fdone <- n.follow(fctx) }()
		select {
		case t := <-termCh:
			fcancel()
			<-fdone
			return finish(t)
		case <-ctx.Done():
			fcancel()
			<-fdone
			return finish(nil)
		case err := <-fdone:
			fcancel()
			if err == nil {
				continue // bootstrapped: reconnect at once
			}
			n.setErr(err)
		}
		t := time.NewTimer(n.opts.Heartbeat)
		select {
		case tm := <-termCh:
			t.Stop()
			return finish(tm)
		case <-ctx.Done():
			t.Stop()
			return finish(nil)
		case <-t.C:
		}
	}
}

// runActive promotes the node for term t and runs it as active until it
// loses the term, is switched over, or closes; then it demotes it.
func (n *Node) runActive(t Term) {
	e := t.Epoch()
	p := newPrimary(n, t)
	err := n.promote(p)
	if err != nil {
		n.setErr(fmt.Errorf("cluster: promote to epoch %d: %w", e, err))
		p.fence("promotion failed")
	} else {
		if n.opts.OnPromote != nil {
			n.opts.OnPromote(e)
		}
		n.watchLease(p)
	}
	// Demote.
	n.wlog().SetFollower(ErrNotActive)
	n.wlog().SetGate(refuseAll)
	n.mu.Lock()
	n.prim = nil
	if n.role == Active {
		n.role = Passive
	}
	n.mu.Unlock()
	n.closeMessageBox()
	p.stop()
	p.mu.Lock()
	why := p.why
	p.mu.Unlock()
	if why != "switchover" && why != "closing" {
		n.setErr(fmt.Errorf("%w: stepped down from epoch %d: %s", ErrNotActive, e, why))
	}
	if !n.crashed.Load() {
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = t.Resign(rctx)
		cancel()
	} else if a, ok := t.(interface{ abandon() }); ok {
		a.abandon()
	}
	close(p.demoted)
	if err == nil && n.opts.OnDemote != nil {
		n.opts.OnDemote(e)
	}
}

// promote makes the node active for p's term (§4.7): it applies every frame
// it holds (frames it never acknowledged included: they were never
// acknowledged to a client either), records that it alone is in sync,
// writes the epoch frame, and opens for commits.
func (n *Node) promote(p *primary) (err error) {
	_, span := tracer.Start(n.ctx, "cluster.promote", trace.WithAttributes(
		attribute.String("cluster.node", n.opts.ID), attribute.Int64("cluster.epoch", int64(p.epoch))))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	// Settle the log: the applier drains and the stores catch up with every
	// durable frame.
	if err := clusterhooks.Of(n.group()).TruncateTail(n.ctx, n.wlog().DurableLSN()); err != nil {
		return err
	}
	p.mu.Lock()
	p.selfFrom = n.wlog().DurableLSN()
	p.mu.Unlock()
	if err := p.writeSync(false); err != nil {
		return err
	}
	n.wlog().SetGate(p.gate)
	n.wlog().SetFollower(nil)
	if _, err := n.wlog().BeginEpoch(n.ctx, p.epoch); err != nil {
		return err
	}
	n.mu.Lock()
	n.role, n.epoch, n.prim, n.leader = Active, p.epoch, p, NodeInfo{ID: n.opts.ID, Addr: n.addr}
	n.lastErr, n.alarm = nil, nil
	n.mu.Unlock()
	return nil
}

// watchLease returns once p is fenced: its term ended, its lease lapsed
// (by the node's own conservative clock), a passive reported a newer
// epoch, a switchover handed over, or the node is closing.
func (n *Node) watchLease(p *primary) {
	for {
		p.checkRetention()
		d := min(time.Until(p.term.ValidUntil()), n.opts.Heartbeat)
		timer := time.NewTimer(max(d, 0))
		n.pausePoint("lease")
		select {
		case <-p.term.Done():
			p.fence("term over")
		case <-p.fenceCh:
		case <-n.ctx.Done():
			p.fence("closing")
		case <-timer.C:
			if !p.leaseValid() {
				p.fence("lease lapsed")
			}
		}
		timer.Stop()
		if p.isFenced() {
			return
		}
	}
}

// Switchover hands the active role to the passive without losing
// anything (a planned failover): it stops admitting commits, waits until
// the passive holds and has applied every frame, and resigns, so the
// passive wins the election at once; this node then rejoins as passive.
// When it returns nil, this node is no longer active.
// It fails with ErrNotActive on a passive and with ErrNoStandby when the
// passive is not in sync (commits are admitted again then).
func (n *Node) Switchover(ctx context.Context) (err error) {
	ctx, span := tracer.Start(ctx, "cluster.switchover", trace.WithAttributes(attribute.String("cluster.node", n.opts.ID)))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	n.mu.Lock()
	p := n.prim
	n.mu.Unlock()
	if p == nil {
		return ErrNotActive
	}
	if !p.inSync() {
		return ErrNoStandby
	}
	n.wlog().SetFollower(ErrNotActive)
	for {
		last := n.wlog().DurableLSN()
		ok, ch := p.caughtUp(last)
		if ok && n.wlog().AppliedLSN() >= last {
			break
		}
		t := time.NewTimer(2 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			if !p.isFenced() {
				n.wlog().SetFollower(nil)
			}
			return ctx.Err()
		case <-p.fenceCh:
			t.Stop()
			return ErrNotActive
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
	p.fence("switchover")
	select { // until this node has stepped down and resigned
	case <-p.demoted:
	case <-ctx.Done():
	}
	return nil
}

// Close stops the node: an active node resigns (its passive takes over
// once it has its term), a passive stops following. Then the group is
// closed. Close is safe to call twice.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		_ = n.ln.Close() // an error here only means it was already closed
		n.wg.Wait()
		n.setRole(Closed)
		n.opMu.Lock()
		n.closeErr = n.group().Close()
		n.opMu.Unlock()
	})
	return n.closeErr
}
