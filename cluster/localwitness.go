package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// LocalWitness is a Witness inside the process: a lease-based election
// with the same rules as EtcdWitness (a term's lease must be renewed within
// its TTL; a new term starts only after the old one's lease has run out or
// it resigned; sync-record writes are guarded by the term). Its expiry
// behaves as etcd's does: the witness counts a lease from when it handles
// a renewal; a node learns that its term ended only by hearing from the
// witness (as a watch event reaches an etcd client) or by its own client
// deadline (the last answer it heard plus the TTL), never the instant the
// witness decides; so a node cut off from it must fence itself by its own
// clock. It serves a pair run in one process and tests, which can also cut
// a node off from it. It is safe for concurrent use.
type LocalWitness struct {
	ttl, margin time.Duration

	// mu guards everything below.
	mu      sync.Mutex
	epoch   uint64
	leader  *localTerm
	rec     SyncRecord
	hasRec  bool
	cut     map[string]bool
	queue   []localCandidate
	changed chan struct{}
}

type localCandidate struct {
	id  string
	tok *int
}

// firstLocked returns the oldest campaigner that can reach the witness.
func (w *LocalWitness) firstLocked() *int {
	for _, c := range w.queue {
		if !w.cut[c.id] {
			return c.tok
		}
	}
	return nil
}

var _ Witness = (*LocalWitness)(nil)

// NewLocalWitness returns a witness whose leases last ttl (defaults to 2 s
// when ttl is not positive). A term counts itself valid for ttl minus a
// quarter of ttl after each renewal is sent, so it fences itself before
// the witness lets another node win.
func NewLocalWitness(ttl time.Duration) *LocalWitness {
	if ttl <= 0 {
		ttl = 2 * time.Second
	}
	return &LocalWitness{ttl: ttl, margin: ttl / 4, epoch: 1, cut: map[string]bool{}, changed: make(chan struct{})}
}

// Isolate cuts node off from the witness (cut true) or reconnects it: an
// isolated node cannot renew its lease or campaign, as if the network
// between it and the witness were down.
func (w *LocalWitness) Isolate(node string, cut bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cut[node] = cut
	w.notifyLocked()
}

// Expire ends node's term at the witness at once, without telling the
// node: what a node that was paused past its lease would find on waking.
func (w *LocalWitness) Expire(node string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t := w.leader; t != nil && t.node.ID == node {
		t.over = true
		w.leader = nil
		w.notifyLocked()
	}
}

// RestoreSyncRecord replaces the sync record with rec, as restoring the
// witness's store from an old backup would: a test of what a node does
// with a record older than what it has seen.
func (w *LocalWitness) RestoreSyncRecord(rec SyncRecord) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rec, w.hasRec = cloneRecord(rec), true
}

// SyncRecord returns the current sync record.
func (w *LocalWitness) SyncRecord() (SyncRecord, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return cloneRecord(w.rec), w.hasRec
}

func (w *LocalWitness) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// expireLocked ends the leader's term if its lease has run out. A node
// the witness can reach hears of it at once (an etcd watch event); one cut
// off learns it only from its client deadline or when it reconnects.
func (w *LocalWitness) expireLocked(now time.Time) {
	if t := w.leader; t != nil && !now.Before(t.expiry) {
		t.over = true
		w.leader = nil
		if !w.cut[t.node.ID] {
			t.tellLocked()
		}
		w.notifyLocked()
	}
}

// Campaign implements Witness.
func (w *LocalWitness) Campaign(ctx context.Context, node NodeInfo) (Term, error) {
	// Campaigners queue, as on etcd, where the oldest candidate key wins.
	me := new(int)
	w.mu.Lock()
	w.queue = append(w.queue, localCandidate{id: node.ID, tok: me})
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.queue = slices.DeleteFunc(w.queue, func(c localCandidate) bool { return c.tok == me })
		w.notifyLocked()
		w.mu.Unlock()
	}()
	for {
		now := time.Now()
		w.mu.Lock()
		w.expireLocked(now)
		if !w.cut[node.ID] && w.leader == nil && w.firstLocked() == me {
			w.epoch++
			t := &localTerm{w: w, node: node, epoch: w.epoch, rec: cloneRecord(w.rec), hasRec: w.hasRec,
				expiry: now.Add(w.ttl), heard: now, done: make(chan struct{}), stop: make(chan struct{})}
			t.valid.set(now.Add(w.ttl - w.margin))
			w.leader = t
			w.notifyLocked()
			w.mu.Unlock()
			go t.renew()
			return t, nil
		}
		wait := w.ttl
		if w.leader != nil && !w.cut[node.ID] {
			wait = max(w.leader.expiry.Sub(now), time.Millisecond)
		}
		ch := w.changed
		w.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-ch:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
		timer.Stop()
	}
}

// Leader implements Witness.
func (w *LocalWitness) Leader(ctx context.Context) (NodeInfo, uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return NodeInfo{}, 0, false, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireLocked(time.Now())
	if w.leader == nil {
		return NodeInfo{}, 0, false, nil
	}
	return w.leader.node, w.leader.epoch, true, nil
}

// localTerm is a LocalWitness term.
type localTerm struct {
	w      *LocalWitness
	node   NodeInfo
	epoch  uint64
	rec    SyncRecord
	hasRec bool
	valid  deadline // node-side: send time of the last renewal + ttl - margin

	// Guarded by w.mu.
	expiry     time.Time // witness-side lease end: ttl after it handled the last renewal
	heard      time.Time // when the node last heard a renewal answer
	over       bool      // the witness has ended the term (the node may not know)
	done       chan struct{}
	doneClosed bool
	ended      bool // stop is closed
	stop       chan struct{}
}

// tellLocked lets the node know that its term is over.
func (t *localTerm) tellLocked() {
	if !t.doneClosed {
		t.doneClosed = true
		close(t.done)
	}
}

func (t *localTerm) endLocked() {
	t.over = true
	t.tellLocked()
	if !t.ended {
		t.ended = true
		close(t.stop)
	}
}

// renew renews the lease every ttl/3 until the term ends, as the node's
// witness client would. While the node is cut off its renewals are lost;
// the client gives the term up once ttl has passed since the last answer
// it heard (etcd's client-side lease deadline).
func (t *localTerm) renew() {
	w := t.w
	for {
		w.mu.Lock()
		wait := min(w.ttl/3, max(time.Until(t.heard.Add(w.ttl)), time.Millisecond))
		w.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-t.stop:
			timer.Stop()
			return
		case <-timer.C:
		}
		sent := time.Now()
		w.mu.Lock()
		now := time.Now()
		w.expireLocked(now)
		switch {
		case !w.cut[t.node.ID] && t.over:
			// The renewal reaches the witness, which has ended the term.
			t.tellLocked()
			w.mu.Unlock()
			return
		case !w.cut[t.node.ID]:
			t.expiry, t.heard = now.Add(w.ttl), now
			t.valid.set(sent.Add(w.ttl - w.margin))
		case !now.Before(t.heard.Add(w.ttl)):
			// Cut off for a whole TTL: the client gives the lease up.
			t.tellLocked()
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// abandon stops renewing the lease without resigning: the node died, and
// the term ends when its lease runs out.
func (t *localTerm) abandon() {
	w := t.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if !t.ended {
		t.ended = true
		close(t.stop)
	}
}

func (t *localTerm) Epoch() uint64 { return t.epoch }

func (t *localTerm) Sync() (SyncRecord, bool) { return cloneRecord(t.rec), t.hasRec }

func (t *localTerm) SetSync(ctx context.Context, rec SyncRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := t.w
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expireLocked(time.Now())
	if w.cut[t.node.ID] {
		return fmt.Errorf("%w: witness unreachable", ErrNotActive)
	}
	if w.leader != t {
		return fmt.Errorf("%w: epoch %d no longer leads", ErrNotActive, t.epoch)
	}
	w.rec, w.hasRec = cloneRecord(rec), true
	return nil
}

func (t *localTerm) ValidUntil() time.Time { return t.valid.get() }

func (t *localTerm) Done() <-chan struct{} { return t.done }

func (t *localTerm) Resign(ctx context.Context) error {
	w := t.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cut[t.node.ID] {
		// The witness cannot hear it: the lease just runs out.
		if !t.ended {
			t.ended = true
			close(t.stop)
		}
		return fmt.Errorf("cluster: resign epoch %d: witness unreachable", t.epoch)
	}
	if w.leader == t {
		w.leader = nil
		w.notifyLocked()
	}
	t.endLocked()
	return nil
}

func cloneRecord(r SyncRecord) SyncRecord {
	r.Candidates = slices.Clone(r.Candidates)
	return r
}
