package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// NodeInfo names a node and says where its replication listener is.
type NodeInfo struct {
	ID   string
	Addr string
}

// SyncRecord is the witness's list of the nodes guaranteed to hold every
// acknowledged commit (Patroni's sync record). A passive may promote only if
// the record it reads when it wins the election lists it, with the disk it
// still has (see Candidate).
type SyncRecord struct {
	// Epoch is the epoch of the active that wrote the record. Every active
	// writes the record before the first frame of its epoch, so a record
	// older than an epoch a node's log holds is stale.
	Epoch uint64
	// Candidates are the listed nodes, the active first.
	Candidates []Candidate
}

// Candidate is one node listed in a SyncRecord.
type Candidate struct {
	// ID is the node's ID (Options.ID).
	ID string
	// Disk is the identity of the node's log when it was listed: made when
	// the log was created, so a node that lost its disk comes back with
	// another one and is not promoted in place of the one listed.
	Disk string
	// From is the LSN from which the node is listed: it held every frame
	// up to From then, and every acknowledged one since. A node whose log
	// ends before From is not the log that was listed.
	From uint64
}

// IDs returns the listed node IDs, the active first.
func (r SyncRecord) IDs() []string {
	ids := make([]string, len(r.Candidates))
	for i, c := range r.Candidates {
		ids[i] = c.ID
	}
	return ids
}

// Lists reports whether the node id is a candidate (with any disk).
func (r SyncRecord) Lists(id string) bool {
	return slices.ContainsFunc(r.Candidates, func(c Candidate) bool { return c.ID == id })
}

// errNotPromotable marks a won election that the node must not use.
var errNotPromotable = errors.New("cluster: not promotable")

// checkPromotion decides whether a node that won an election may promote
// (§4.6 of the design): the record read with the election must list it
// with the disk it has, its log must reach the LSN it was listed from, and
// the record must not be older than an epoch its log has seen (a witness
// restored from an old backup). A missing record allows only a log that
// never served in a pair (epoch 1: no term ever wrote to it). logEpoch is
// the highest epoch in the node's log, durable its last durable LSN.
func checkPromotion(rec SyncRecord, ok bool, id, disk string, logEpoch, durable uint64) error {
	if !ok {
		if logEpoch > 1 {
			return fmt.Errorf("%w: the witness holds no sync record, but this log has seen epoch %d: the record was lost", errNotPromotable, logEpoch)
		}
		return nil
	}
	if rec.Epoch < logEpoch {
		return fmt.Errorf("%w: the sync record (epoch %d) is older than epoch %d in this log: a stale record", errNotPromotable, rec.Epoch, logEpoch)
	}
	i := slices.IndexFunc(rec.Candidates, func(c Candidate) bool { return c.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: the sync record (epoch %d, %v) does not list %q", errNotPromotable, rec.Epoch, rec.IDs(), id)
	}
	c := rec.Candidates[i]
	if c.Disk != disk {
		return fmt.Errorf("%w: the sync record lists %q with disk %q, this node has disk %q: it lost the disk it was listed with", errNotPromotable, id, c.Disk, disk)
	}
	if durable < c.From {
		return fmt.Errorf("%w: the sync record lists %q from lsn %d, its log ends at %d", errNotPromotable, id, c.From, durable)
	}
	return nil
}

// Witness decides which node is active: the third vote that two nodes
// cannot supply themselves. EtcdWitness runs it on etcd; LocalWitness runs
// it in process, for one machine and for tests. Implementations are safe
// for concurrent use.
type Witness interface {
	// Campaign blocks until node leads, ctx is done, or the witness fails.
	// Each won election starts a new Term with a new, higher epoch.
	Campaign(ctx context.Context, node NodeInfo) (Term, error)
	// Leader returns the current leader and its epoch; ok is false if no
	// node leads.
	Leader(ctx context.Context) (leader NodeInfo, epoch uint64, ok bool, err error)
}

// Term is one won election. Its methods are safe for concurrent use.
type Term interface {
	// Epoch is the term's fencing token: above every earlier term's.
	Epoch() uint64
	// Sync is the sync record as read when the election was won; ok is
	// false if no record was ever written (a new pair).
	Sync() (rec SyncRecord, ok bool)
	// SetSync writes rec only if this term still leads; otherwise it fails
	// with an error wrapping ErrNotActive.
	SetSync(ctx context.Context, rec SyncRecord) error
	// ValidUntil is a conservative deadline: until then no other node can
	// have won an election. It moves forward as the lease is renewed. Past
	// it, the node must stop acknowledging commits and answering reads. It
	// carries a monotonic clock reading (compare it with time.Now, never
	// with a time rebuilt from wall-clock fields), so a step of the wall
	// clock cannot stretch it.
	ValidUntil() time.Time
	// Done is closed once the term is known to be over.
	Done() <-chan struct{}
	// Resign ends the term so that another node can win at once.
	Resign(ctx context.Context) error
}

// deadline is a lease deadline that one goroutine moves and others read. It
// keeps the time.Time whole, monotonic reading included: a deadline kept
// as Unix nanoseconds is compared by wall clock, which an NTP step can move
// back by minutes and so stretch a lease that has run out.
type deadline struct{ p atomic.Pointer[time.Time] }

func (d *deadline) set(t time.Time) { d.p.Store(&t) }

// get returns the deadline; the zero time (already past) if never set.
func (d *deadline) get() time.Time {
	if t := d.p.Load(); t != nil {
		return *t
	}
	return time.Time{}
}
