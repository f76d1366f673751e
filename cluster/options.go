package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
)

// Mode says what a commit on the active waits for besides its own fsync.
type Mode int

const (
	// Sync acknowledges a commit only once the passive has its frame
	// durably (PostgreSQL synchronous_commit=on, an availability group's
	// synchronous-commit replica). A failover then loses nothing
	// acknowledged. The default.
	Sync Mode = iota
	// SyncApply also waits until the passive has applied the frame, so a
	// read on the passive sees every acknowledged commit (remote_apply).
	SyncApply
	// Async acknowledges after the local fsync; the passive trails by the
	// lag Status reports. The witness never lists an async passive in the
	// sync record, so it is not promoted automatically (as an availability
	// group allows automatic failover only to a synchronous replica).
	Async
)

func (m Mode) String() string {
	switch m {
	case Sync:
		return "sync"
	case SyncApply:
		return "sync-apply"
	case Async:
		return "async"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Options configure a Node. Open works on a copy.
type Options struct {
	// ID names the node in the witness and the sync record. Required.
	ID string
	// Witness decides which node is active. Required.
	Witness Witness
	// Addr is the address the node listens on for its passive's
	// replication connection, and advertises to it. Defaults to
	// "127.0.0.1:0" (a port chosen at run time).
	Addr string
	// Listener, if set, is used instead of listening on Addr; its address
	// is advertised unless Addr is set.
	Listener net.Listener
	// SSOKeys is where this node keeps the SSO master secret (see
	// sso.KeyProvider). The active node is the master secret server: a
	// node whose provider lacks the secret of the group's SSO database, or
	// holds another one, refuses to be promoted until the secret is
	// restored on it. Nil means the group's default key file beside the
	// node's directory (Group.DefaultSSOKeys).
	SSOKeys sso.KeyProvider
	// Dial connects to the active's replication address. Defaults to a
	// net.Dialer. Tests put a fault-injecting transport here.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Group configures the node's Group (see biztier.Options). Nil means
	// defaults.
	Group *biztier.Options
	// Mode defaults to Sync.
	Mode Mode
	// Strict makes sync-mode commits block while the passive is away
	// instead of degrading to asynchronous (availability groups'
	// REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT, Patroni's
	// synchronous_mode_strict).
	Strict bool
	// SyncTimeout is how long a sync-mode commit waits for a passive that
	// is connected but not acknowledging before the active drops it from
	// the sync record and carries on alone. A passive whose connection
	// breaks is dropped at once. Defaults to 10 s (the availability-group
	// session timeout).
	SyncTimeout time.Duration
	// Heartbeat is how often an idle active tells its passive it is alive.
	// A passive that hears nothing for four heartbeats reconnects. Defaults
	// to 250 ms.
	Heartbeat time.Duration
	// CatchUpWindow is how close (in frames) a catching-up passive must
	// come before commits start waiting for it. Defaults to 1024.
	CatchUpWindow uint64
	// RetainBytes is how large the active lets its log grow while it keeps
	// the frames a disconnected passive still needs; past it, the active
	// drops its pin and the passive, when it returns, is rebuilt from
	// checkpoints (the analogue of PostgreSQL's max_slot_wal_keep_size).
	// Defaults to 10 GiB; negative keeps the frames however large the log
	// grows.
	RetainBytes int64
	// OnPromote is called, on the node's own goroutine, once the node has
	// become active and accepts commits (start host instances here). It
	// must not block for long: the node does not watch its lease while it
	// runs.
	OnPromote func(epoch uint64)
	// OnDemote is called once the node has stopped being active, before it
	// rejoins as passive (stop host instances here).
	OnDemote func(epoch uint64)
}

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.ID == "" {
		return c, errors.New("cluster: options: ID is required")
	}
	if c.Witness == nil {
		return c, errors.New("cluster: options: Witness is required")
	}
	if c.Addr == "" && c.Listener == nil {
		c.Addr = "127.0.0.1:0"
	}
	if c.Dial == nil {
		var d net.Dialer
		c.Dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	if c.SyncTimeout <= 0 {
		c.SyncTimeout = 10 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 250 * time.Millisecond
	}
	if c.RetainBytes == 0 {
		c.RetainBytes = 10 << 30
	}
	if c.CatchUpWindow == 0 {
		c.CatchUpWindow = 1024
	}
	if c.Mode < Sync || c.Mode > Async {
		return c, fmt.Errorf("cluster: options: unknown mode %d", int(c.Mode))
	}
	return c, nil
}
