package cluster

import (
	"bufio"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier/wal"
	"github.com/stretchr/testify/require"
)

// stubWitness always names one leader and never lets the node win: it
// points a passive straight at a scripted active.
type stubWitness struct {
	leader NodeInfo
	epoch  uint64
}

func (w *stubWitness) Campaign(ctx context.Context, _ NodeInfo) (Term, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (w *stubWitness) Leader(ctx context.Context) (NodeInfo, uint64, bool, error) {
	return w.leader, w.epoch, true, ctx.Err()
}

// fakeActive is a scripted active on loopback: for each connection it
// reads the first message; a bootstrap request is refused, and a hello is
// handed to script.
type fakeActive struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startFakeActive(t testing.TB, script func(br *bufio.Reader, bw *bufio.Writer, conn net.Conn, h hello)) *fakeActive {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeActive{ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer conn.Close()
				br, bw := bufio.NewReader(conn), bufio.NewWriter(conn)
				m, err := readMsg(br, 1<<20)
				if err != nil {
					return
				}
				if m.typ != msgHello {
					_ = writeMsg(bw, msgReject, 0, []byte{rejectNotLeader})
					return
				}
				h, err := decodeHello(m.body)
				if err != nil {
					return
				}
				script(br, bw, conn, h)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		f.wg.Wait()
	})
	return f
}

// streamedPassive runs a real pair until the passive holds some frames of
// the active's epoch, closes both, and reopens the passive against a
// scripted active. It returns the reopened passive's log position: its
// epoch, durable LSN and the CRC of its last frame.
func streamedPassive(t *testing.T, script func(br *bufio.Reader, bw *bufio.Writer, conn net.Conn, h hello)) (b *testNode, epoch, durable uint64, lastCRC uint32) {
	t.Helper()
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b0 := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	for i := range 10 {
		_, err := write(context.Background(), a.Node, "k", uint64(i))
		require.NoError(t, err)
	}
	waitCaughtUp(t, a, b0)
	require.NoError(t, b0.Close())
	require.NoError(t, a.Close())
	fa := startFakeActive(t, script)
	sw := &stubWitness{leader: NodeInfo{ID: "fake", Addr: fa.ln.Addr().String()}}
	b = openTestNode(t, sw, "b", b0.fs, Sync, nil)
	log := b.wlog()
	epoch, durable = log.Epoch(), log.DurableLSN()
	r, err := log.NewReader(durable)
	require.NoError(t, err)
	f, err := r.Read()
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return b, epoch, durable, f.CRC
}

// TestFollower_RefusesOlderEpochStream hands a passive, directly (not
// through the witness), a stream from an active of an older epoch than
// its log has seen, asking it to cut its log: it must refuse, for good,
// and keep its log whole.
func TestFollower_RefusesOlderEpochStream(t *testing.T) {
	var mu sync.Mutex
	var epoch, durable uint64
	refused := make(chan struct{}, 16)
	ready := make(chan struct{})
	b, e, d, _ := streamedPassive(t, func(br *bufio.Reader, bw *bufio.Writer, conn net.Conn, h hello) {
		<-ready
		mu.Lock()
		e, d := epoch, durable
		mu.Unlock()
		// Accept in an older epoch, with a fork point three frames back.
		_ = writeMsg(bw, msgAccept, e-1, twoUints(d-3, 0))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, err := readMsg(br, 1<<10)
		if err == nil && m.typ == msgReject && len(m.body) == 1 && m.body[0] == rejectStaleEpoch {
			select {
			case refused <- struct{}{}:
			default: // (the passive keeps trying; one refusal is enough)
			}
		}
	})
	mu.Lock()
	epoch, durable = e, d
	mu.Unlock()
	close(ready)
	select {
	case <-refused:
	case <-time.After(10 * time.Second):
		t.Fatal("the passive did not refuse a stream from an older epoch")
	}
	require.Equal(t, d, b.wlog().DurableLSN(), "the passive cut its log on a stale active's word")
	require.Equal(t, e, b.wlog().Epoch())
}

// runBadFrames accepts the passive at its own epoch and fork point, then
// sends frames; it reports the highest durable LSN the passive
// acknowledged on that connection.
func runBadFrames(frames func(epoch, durable uint64, lastCRC uint32) []wal.Frame) (script func(br *bufio.Reader, bw *bufio.Writer, conn net.Conn, h hello), set func(e, d uint64, crc uint32), acked <-chan uint64) {
	var mu sync.Mutex
	var epoch, durable uint64
	var crc uint32
	ready := make(chan struct{})
	out := make(chan uint64, 16)
	script = func(br *bufio.Reader, bw *bufio.Writer, conn net.Conn, h hello) {
		<-ready
		mu.Lock()
		e, d, c := epoch, durable, crc
		mu.Unlock()
		if writeMsg(bw, msgAccept, e, twoUints(d, 0)) != nil {
			return
		}
		var body []byte
		for _, f := range frames(e, d, c) {
			body = wal.EncodeFrame(body, &f)
		}
		if writeMsg(bw, msgFrames, e, body) != nil {
			return
		}
		var hi uint64
		defer func() {
			select {
			case out <- hi:
			default: // (the passive keeps trying; the first reports are enough)
			}
		}()
		for {
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			m, err := readMsg(br, 1<<10)
			if err != nil {
				return
			}
			if m.typ == msgAck {
				f, _, err := decodeTwoUints(m.body)
				if err == nil {
					hi = max(hi, f)
				}
			}
		}
	}
	set = func(e, d uint64, c uint32) {
		mu.Lock()
		epoch, durable, crc = e, d, c
		mu.Unlock()
		close(ready)
	}
	return script, set, out
}

// TestFollower_RefusesStaleEpochFrames: an active at the passive's epoch
// streams a frame stamped with an older epoch: refused, not appended.
func TestFollower_RefusesStaleEpochFrames(t *testing.T) {
	script, set, acked := runBadFrames(func(e, d uint64, crc uint32) []wal.Frame {
		return []wal.Frame{{Type: wal.TypeNoop, LSN: d + 1, Epoch: e - 1, PrevCRC: crc}}
	})
	b, e, d, crc := streamedPassive(t, script)
	set(e, d, crc)
	hi := <-acked
	require.LessOrEqual(t, hi, d, "the passive acknowledged a frame of an older epoch")
	require.Equal(t, d, b.wlog().DurableLSN(), "the passive appended a frame of an older epoch")
}

// TestFollower_RefusesBrokenChain: a frame that does not chain to the
// passive's last frame (a divergence the epoch histories missed) is
// refused on catch-up, not appended.
func TestFollower_RefusesBrokenChain(t *testing.T) {
	script, set, acked := runBadFrames(func(e, d uint64, crc uint32) []wal.Frame {
		return []wal.Frame{{Type: wal.TypeNoop, LSN: d + 1, Epoch: e, PrevCRC: crc ^ 0x5a5a}}
	})
	b, e, d, crc := streamedPassive(t, script)
	set(e, d, crc)
	hi := <-acked
	require.LessOrEqual(t, hi, d, "the passive acknowledged a frame that does not chain")
	require.Equal(t, d, b.wlog().DurableLSN(), "the passive appended a frame that does not chain")
}
