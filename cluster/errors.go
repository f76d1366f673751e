package cluster

import (
	"errors"

	"github.com/biztier/biztier/internal/sentinel"
)

var (
	// ErrNotActive is returned by commits on a node that is not the active
	// node of its pair, or that has stopped being active (it lost its
	// witness lease, resigned, or saw a newer epoch) before the commit was
	// acknowledged. In the latter case the error also matches ErrInDoubt:
	// the commit may have reached the passive and survive a failover, as
	// with any database whose connection drops during a commit.
	ErrNotActive = errors.New("cluster: node is not active")

	// ErrInDoubt accompanies ErrNotActive (errors.Is holds for both) when
	// a commit failed after its frame was written: the node stepped down
	// while waiting for the passive, and the frame may have reached it and
	// survive a failover. A commit that fails with ErrNotActive alone was
	// refused before anything was written.
	ErrInDoubt = errors.New("cluster: commit outcome unknown")

	// ErrClosed is returned by calls on a closed Node.
	ErrClosed = sentinel.New("cluster: node closed", sentinel.ErrClosed)

	// ErrNoStandby is returned by Switchover when no passive holds every
	// acknowledged commit, so handing over would lose data.
	ErrNoStandby = errors.New("cluster: no passive node is in sync")

	// ErrNeedBootstrap is reported (in Status.LastError) when the passive
	// cannot continue from its own log: the active no longer holds the
	// frames it needs, or it applied frames the active never had.
	ErrNeedBootstrap = errors.New("cluster: passive must be rebuilt from a checkpoint")

	// ErrProtocol marks a malformed or unexpected replication message.
	ErrProtocol = errors.New("cluster: replication protocol error")
)
