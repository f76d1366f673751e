package cluster

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tcpProxy is a fault-injecting TCP proxy on 127.0.0.1: it forwards every
// connection it accepts to target, and a test can delay what it forwards,
// blackhole it (connections stay open but nothing gets through, as in a
// partition), or reset every open connection.
type tcpProxy struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // nanoseconds per chunk
	hole   atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newTCPProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) setDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *tcpProxy) blackhole(on bool) { p.hole.Store(on) }

// reset closes every open connection.
func (p *tcpProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *tcpProxy) close() {
	_ = p.ln.Close()
	p.reset()
	p.wg.Wait()
}

func (p *tcpProxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.track(in, true)
		p.track(out, true)
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *tcpProxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer func() {
		_ = src.Close()
		_ = dst.Close()
		p.track(src, false)
		p.track(dst, false)
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.hole.Load() {
			if d := time.Duration(p.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// openProxiedNode opens a node whose replication listener sits behind a
// proxy: the passive reaches it only through the proxy.
func openProxiedNode(t testing.TB, w Witness, id string, mode Mode, tweak func(*Options)) (*testNode, *tcpProxy) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	px := newTCPProxy(t, ln.Addr().String())
	n := openTestNode(t, w, id, nil, mode, func(o *Options) {
		o.Listener, o.Addr = ln, px.addr()
		if tweak != nil {
			tweak(o)
		}
	})
	return n, px
}

func TestNode_TCPProxyFaults(t *testing.T) {
	w := NewLocalWitness(testTTL)
	short := func(o *Options) { o.SyncTimeout = 300 * time.Millisecond }
	a, pxA := openProxiedNode(t, w, "a", Sync, short)
	waitActive(t, 5*time.Second, a)
	b, pxB := openProxiedNode(t, w, "b", Sync, short)
	waitInSync(t, a)
	l := newLedger()
	stop := make(chan struct{})
	wait := load([]*testNode{a, b}, 4, l, stop)

	pxA.setDelay(2 * time.Millisecond) // slow link: sync commits wait longer
	time.Sleep(150 * time.Millisecond)
	pxA.setDelay(0)
	pxA.blackhole(true) // partition: acks stop, a drops b from the sync record
	waitFor(t, 5*time.Second, "degraded", func() bool { return a.Status().SyncState == "degraded" })
	time.Sleep(100 * time.Millisecond)
	pxA.blackhole(false) // heal: b reconnects, catches up, is listed again
	pxA.reset()
	waitInSync(t, a)
	pxA.reset() // reset mid-stream
	time.Sleep(100 * time.Millisecond)
	waitInSync(t, a)
	close(stop)
	n := wait()
	require.Positive(t, n)
	waitCaughtUp(t, a, b)
	requireSameDigest(t, a, b)
	lost, err := l.check(b.group())
	require.NoError(t, err)
	require.Zero(t, lost)
	_ = pxB
}
