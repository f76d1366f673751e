package cluster

import "time"

// Status is a snapshot of a node, named after availability-group and
// PostgreSQL replication views.
type Status struct {
	ID   string
	Role Role
	Mode Mode
	// Epoch is the active's term; on a passive, the highest epoch its log
	// has seen.
	Epoch uint64
	// Leader is the active node as this node last knew it.
	Leader NodeInfo
	// DurableLSN and AppliedLSN are this node's log positions.
	DurableLSN, AppliedLSN uint64
	// SyncState, on the active: "sync" (the passive is in the sync record
	// and commits wait for it), "catching-up" (commits wait for it; it is
	// not listed yet), "degraded" (commits do not wait: no passive, or it
	// was dropped), "async", or "fenced".
	SyncState string
	// Peer is the other node's ID, PeerConnected whether its stream is up.
	Peer          string
	PeerConnected bool
	// PeerFlushedLSN and PeerAppliedLSN: on the active, the passive's last
	// acknowledgement; on the passive, the active's durable LSN as last
	// heard (PeerAppliedLSN is 0).
	PeerFlushedLSN, PeerAppliedLSN uint64
	// LagLSN is how many frames the passive lacks (harden lag), and LagTime
	// how long it has lacked some (an estimate of the data an async
	// failover would lose, in time).
	LagLSN  uint64
	LagTime time.Duration
	// LastHeard is when the passive last heard from the active.
	LastHeard time.Time
	// LeaseRemaining is how long the active may still acknowledge commits
	// without renewing its lease.
	LeaseRemaining time.Duration
	// LastError is the last error the node's background work met (a failed
	// connection, a refused promotion), or nil.
	LastError error
	// Alarm is set while the node refuses to promote although it won the
	// election, because the sync record does not list it, lists it with
	// another disk (it lost the one it was listed with), lists it from an
	// LSN its log does not reach, or is older than an epoch its log holds:
	// the active may have acknowledged commits it lacks. The error matches
	// no exported sentinel; an operator decides (bring the old active back,
	// or accept the loss).
	Alarm error
}

// Status returns the node's status.
func (n *Node) Status() Status {
	n.mu.Lock()
	st := Status{ID: n.opts.ID, Role: n.role, Mode: n.opts.Mode, Leader: n.leader, LastError: n.lastErr, Alarm: n.alarm,
		DurableLSN: n.wlog().DurableLSN(), AppliedLSN: n.wlog().AppliedLSN(), Epoch: n.wlog().Epoch()}
	p, fol := n.prim, n.fol
	if n.role == Active {
		st.Epoch = n.epoch
	}
	n.mu.Unlock()
	if p == nil {
		st.Peer, st.PeerConnected, st.PeerFlushedLSN, st.LastHeard = st.Leader.ID, fol.connected, fol.activeLSN, fol.lastHeard
		if fol.activeLSN > st.DurableLSN {
			st.LagLSN = fol.activeLSN - st.DurableLSN
		}
		return st
	}
	st.LeaseRemaining = max(time.Until(p.term.ValidUntil()), 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	st.Peer, st.PeerConnected, st.PeerFlushedLSN, st.PeerAppliedLSN = p.peer, p.connected, p.flushed, p.applied
	if st.DurableLSN > p.flushed {
		st.LagLSN = st.DurableLSN - p.flushed
		if !p.caughtAt.IsZero() {
			st.LagTime = time.Since(p.caughtAt)
		}
	}
	switch {
	case p.fenced:
		st.SyncState = "fenced"
	case p.mode == Async:
		st.SyncState = "async"
	case p.listed:
		st.SyncState = "sync"
	case p.waitS:
		st.SyncState = "catching-up"
	default:
		st.SyncState = "degraded"
	}
	return st
}
