package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/messagebox"
)

// MessageBox returns the group's MessageBox on the active node. It fails
// with ErrNotActive on any other node: on a passive, frames are applied
// under the MessageBox's databases, so it is open only while the node is
// active. The node opens it on first use after each promotion (rebuilding
// its subscription index and host queues from the store) and closes it
// when it steps down, so a Store obtained here fails with
// messagebox.ErrClosed once the node is no longer active: call MessageBox
// again on the new active. Leases do not survive a failover (entries
// leased and not completed are delivered again).
//
// A MessageBox write commits through the node's log like Update, with the
// same fencing: on a node losing its lease it fails rather than being
// acknowledged, and the Store then fails every write
// (messagebox.ErrFailed). MessageBox replaces such a Store with a fresh
// one while the node stays active (after a switchover that timed out,
// say), once the commits in flight have settled.
func (n *Node) MessageBox() (*messagebox.Store, error) {
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	n.mu.Lock()
	role, p := n.role, n.prim
	n.mu.Unlock()
	if role == Closed {
		return nil, ErrClosed
	}
	if role != Active || p == nil || p.isFenced() {
		return nil, ErrNotActive
	}
	g := n.group()
	mb, err := g.MessageBox()
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if !mbFailed(mb) {
		return mb, nil
	}
	// A commit of this Store failed while the node stayed active. Reopen
	// it only once every commit written so far has been applied (or has
	// failed), so that the new Store's state includes all of them.
	last := n.wlog().DurableLSN()
	deadline := time.Now().Add(2 * n.opts.SyncTimeout)
	for n.wlog().AppliedLSN() < last {
		if p.isFenced() {
			return nil, ErrNotActive
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cluster: messagebox failed and commits up to lsn %d are still in flight", last)
		}
		if !sleep(n.ctx, time.Millisecond) {
			return nil, ErrClosed
		}
	}
	if err := g.CloseTyped(); err != nil {
		return nil, fmt.Errorf("cluster: close failed messagebox: %w", err)
	}
	if mb, err = g.MessageBox(); err != nil {
		return nil, fmt.Errorf("cluster: reopen messagebox: %w", err)
	}
	return mb, nil
}

// mbFailed reports whether mb fails every call: a commit of it failed
// (messagebox.ErrFailed) or it was closed. It probes with an Extend of a
// lease that cannot exist, which writes nothing.
func mbFailed(mb *messagebox.Store) bool {
	_, err := mb.Extend(context.Background(), messagebox.Lease{}, time.Second)
	return errors.Is(err, messagebox.ErrFailed) || errors.Is(err, messagebox.ErrClosed)
}

// closeMessageBox closes the typed stores (the MessageBox, and Tracking
// under it) when the node steps down. The role has already changed, so
// MessageBox cannot open them again until the next promotion.
func (n *Node) closeMessageBox() {
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	if err := n.group().CloseTyped(); err != nil {
		n.setErr(fmt.Errorf("cluster: close messagebox on stepping down: %w", err))
	}
}
