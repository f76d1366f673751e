package cluster

import (
	"context"
	"errors"
	"net"
	"sync"
)

// faultNet is an in-process fault-injecting transport for one node's
// outgoing replication connections: a test can cut the link (closing open
// connections and refusing new ones) and heal it.
type faultNet struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

var errLinkCut = errors.New("faultnet: link cut")

func (f *faultNet) dial(ctx context.Context, addr string) (net.Conn, error) {
	f.mu.Lock()
	cut := f.cut
	f.mu.Unlock()
	if cut {
		return nil, errLinkCut
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut {
		c.Close()
		return nil, errLinkCut
	}
	f.conns = append(f.conns, c)
	return c, nil
}

// partition cuts the link (true) or heals it (false).
func (f *faultNet) partition(cut bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = cut
	if cut {
		for _, c := range f.conns {
			_ = c.Close()
		}
		f.conns = nil
	}
}
