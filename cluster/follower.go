package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/wal"
)

var errNoLeader = errors.New("cluster: no active node to follow")

// follow connects to the active, settles this node's log against it and
// appends what it streams until the stream breaks or ctx is done.
func (n *Node) follow(ctx context.Context) error {
	leader, _, ok, err := n.opts.Witness.Leader(ctx)
	if err != nil {
		return fmt.Errorf("cluster: find active: %w", err)
	}
	if !ok || leader.ID == n.opts.ID {
		return errNoLeader
	}
	conn, err := n.opts.Dial(ctx, leader.Addr)
	if err != nil {
		return fmt.Errorf("cluster: connect to active %q at %s: %w", leader.ID, leader.Addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	br, bw := bufio.NewReaderSize(conn, 256<<10), bufio.NewWriterSize(conn, 4<<10)

	log := n.wlog()
	h := hello{id: n.opts.ID, disk: n.diskID(), last: log.DurableLSN(), applied: clusterhooks.Of(n.group()).MaxAppliedLSN(), history: log.Epochs()}
	if err := writeMsg(bw, msgHello, log.Epoch(), h.encode()); err != nil {
		return err
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := readMsg(br, 1<<10)
	if err != nil {
		return fmt.Errorf("cluster: handshake with %q: %w", leader.ID, err)
	}
	switch {
	case m.typ == msgReject && len(m.body) == 1 && m.body[0] == rejectNeedBootstrap:
		_ = conn.Close()
		if err := n.bootstrap(ctx, leader); err != nil {
			return fmt.Errorf("%w: the active cannot stream from lsn %d, and bootstrap failed: %w", ErrNeedBootstrap, h.last+1, err)
		}
		return nil // reconnect at once and follow from the rebuilt group
	case m.typ == msgReject:
		return fmt.Errorf("cluster: %q rejected this node (reason %v)", leader.ID, m.body)
	case m.typ != msgAccept:
		return fmt.Errorf("%w: unexpected message type %d in handshake", ErrProtocol, m.typ)
	}
	epoch := m.epoch
	if epoch < log.Epoch() {
		// A deposed active: refuse it for good.
		_ = writeMsg(bw, msgReject, log.Epoch(), []byte{rejectStaleEpoch})
		return fmt.Errorf("cluster: %q offered epoch %d, this node has seen %d", leader.ID, epoch, log.Epoch())
	}
	fork, _, err := decodeTwoUints(m.body)
	if err != nil {
		return err
	}
	// Cut the tail the active does not share. Nothing past the fork can
	// have been applied: frames are applied only once the gate passes.
	if err := clusterhooks.Of(n.group()).TruncateTail(ctx, fork); err != nil {
		if errors.Is(err, biztier.ErrDiverged) {
			_ = conn.Close()
			if berr := n.bootstrap(ctx, leader); berr != nil {
				return fmt.Errorf("%w: %w; bootstrap failed: %w", ErrNeedBootstrap, err, berr)
			}
			return nil
		}
		return err
	}
	n.mu.Lock()
	n.leader, n.fol = leader, followState{connected: true, lastHeard: time.Now()}
	if n.role == Starting {
		n.role = Passive
	}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.fol.connected = false
		n.mu.Unlock()
	}()

	err = n.stream(ctx, conn, br, bw, leader, epoch)
	if errors.Is(err, wal.ErrDiverged) {
		// The chain check caught a divergence the epoch histories missed:
		// rebuild from the active's checkpoints.
		_ = conn.Close()
		if berr := n.bootstrap(ctx, leader); berr != nil {
			return fmt.Errorf("%w: %w; bootstrap failed: %w", ErrNeedBootstrap, err, berr)
		}
		return nil
	}
	return err
}

// stream appends what the active streams until the stream breaks or ctx
// is done.
func (n *Node) stream(ctx context.Context, conn net.Conn, br *bufio.Reader, bw *bufio.Writer, leader NodeInfo, epoch uint64) error {
	log := n.wlog()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan []*wal.Frame, 64)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	defer conn.Close()
	wg.Add(2)
	go func() { // reader
		defer wg.Done()
		errc <- n.receive(sctx, conn, br, epoch, in)
	}()
	go func() { // acker: the only writer once streaming
		defer wg.Done()
		errc <- n.ack(sctx, bw, epoch)
	}()
	for {
		select {
		case frames := <-in:
			for more := true; more && len(frames) < 4096; {
				select {
				case f := <-in:
					frames = append(frames, f...)
				default:
					more = false
				}
			}
			if err := log.Append(sctx, frames); err != nil {
				if errors.Is(err, wal.ErrStaleEpoch) {
					_ = conn.Close()
				}
				return fmt.Errorf("cluster: append frames from %q: %w", leader.ID, err)
			}
		case err := <-errc:
			return err
		case <-sctx.Done():
			return sctx.Err()
		}
	}
}

// receive reads the active's messages, passing frames on.
func (n *Node) receive(ctx context.Context, conn interface{ SetReadDeadline(time.Time) error }, br *bufio.Reader, epoch uint64, in chan<- []*wal.Frame) error {
	maxBody := maxBatch + 2*(n.maxFrame()+64)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(4*n.opts.Heartbeat + time.Second))
		m, err := readMsg(br, maxBody)
		if err != nil {
			return err
		}
		if m.epoch != epoch {
			return fmt.Errorf("%w: message of epoch %d on a stream of epoch %d", ErrProtocol, m.epoch, epoch)
		}
		n.mu.Lock()
		n.fol.lastHeard = time.Now()
		n.mu.Unlock()
		switch m.typ {
		case msgFrames:
			frames, err := decodeFrames(m.body, n.maxFrame())
			if err != nil {
				return err
			}
			for _, f := range frames {
				if f.Epoch > epoch {
					return fmt.Errorf("%w: frame lsn %d of epoch %d on a stream of epoch %d", ErrProtocol, f.LSN, f.Epoch, epoch)
				}
			}
			if len(frames) > 0 {
				n.mu.Lock()
				n.fol.activeLSN = max(n.fol.activeLSN, frames[len(frames)-1].LSN)
				n.mu.Unlock()
			}
			select {
			case in <- frames:
			case <-ctx.Done():
				return ctx.Err()
			}
		case msgHeartbeat:
			durable, _, err := decodeTwoUints(m.body)
			if err != nil {
				return err
			}
			n.mu.Lock()
			n.fol.activeLSN = max(n.fol.activeLSN, durable)
			n.mu.Unlock()
		default:
			return fmt.Errorf("%w: unexpected message type %d from active", ErrProtocol, m.typ)
		}
	}
}

// ack reports the log's durable and applied LSNs to the active whenever
// they move, and at least every heartbeat.
func (n *Node) ack(ctx context.Context, bw *bufio.Writer, epoch uint64) error {
	log := n.wlog()
	for {
		d, a := log.DurableLSN(), log.AppliedLSN()
		if err := writeMsg(bw, msgAck, log.Epoch(), twoUints(d, a)); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, n.opts.Heartbeat)
		err := log.WaitProgress(wctx, d, a)
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, wal.ErrClosed) {
			return err
		}
	}
}

// maxFrame is the group's frame payload limit.
func (n *Node) maxFrame() int {
	if n.opts.Group != nil && n.opts.Group.MaxFrameSize > 0 {
		return n.opts.Group.MaxFrameSize
	}
	return 64 << 20
}
