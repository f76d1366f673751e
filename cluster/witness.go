package cluster

import (
	"context"
	"slices"
	"time"
)

// NodeInfo names a node and says where its replication listener is.
type NodeInfo struct {
	ID   string
	Addr string
}

// SyncRecord is the witness's list of the nodes guaranteed to hold every
// acknowledged commit (Patroni's sync record). A passive may promote only if
// the record it reads when it wins the election lists it.
type SyncRecord struct {
	// Epoch is the epoch of the active that wrote the record.
	Epoch uint64
	// Candidates are node IDs, the active first.
	Candidates []string
}

// Lists reports whether id is a candidate.
func (r SyncRecord) Lists(id string) bool { return slices.Contains(r.Candidates, id) }

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
	// it, the node must stop acknowledging commits.
	ValidUntil() time.Time
	// Done is closed once the term is known to be over.
	Done() <-chan struct{}
	// Resign ends the term so that another node can win at once.
	Resign(ctx context.Context) error
}
