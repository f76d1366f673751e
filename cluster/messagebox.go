package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/wal"
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
	if mb.Err() == nil {
		return mb, nil
	}
	// A commit of this Store failed while the node stayed active. Reopen
	// it only once every commit written so far has been applied (or has
	// failed), so that the new Store's state includes all of them. The
	// log says when its applied LSN moves; nothing polls.
	last := n.wlog().DurableLSN()
	wctx, cancel := context.WithTimeout(n.ctx, 2*n.opts.SyncTimeout)
	defer cancel()
	for applied := n.wlog().AppliedLSN(); applied < last; applied = n.wlog().AppliedLSN() {
		if p.isFenced() {
			return nil, ErrNotActive
		}
		if err := n.wlog().WaitProgress(wctx, math.MaxUint64, applied); err != nil {
			if n.ctx.Err() != nil || errors.Is(err, wal.ErrClosed) {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("cluster: messagebox failed and commits up to lsn %d are still in flight", last)
		}
	}
	if err := clusterhooks.Of(g).CloseTyped(); err != nil {
		return nil, fmt.Errorf("cluster: close failed messagebox: %w", err)
	}
	if mb, err = g.MessageBox(); err != nil {
		return nil, fmt.Errorf("cluster: reopen messagebox: %w", err)
	}
	return mb, nil
}

// closeMessageBox closes the typed stores (the MessageBox, and Tracking
// under it) when the node steps down. The role has already changed, so
// MessageBox cannot open them again until the next promotion.
func (n *Node) closeMessageBox() {
	n.mbMu.Lock()
	defer n.mbMu.Unlock()
	if err := clusterhooks.Of(n.group()).CloseTyped(); err != nil {
		n.setErr(fmt.Errorf("cluster: close messagebox on stepping down: %w", err))
	}
}
