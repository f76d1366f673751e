package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"strings"
	"time"

	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Bootstrap (§4.8): when the active no longer holds the frames a passive
// needs, or the passive's stores applied frames the active never had, the
// passive is rebuilt from the active's databases. It asks with a bootstrap
// message on a new connection; the active takes a Pebble checkpoint of
// every store without pausing commits (each records the LSN it holds),
// pins its log from the lowest of those LSNs, and sends the checkpoint
// files in checksummed chunks, then the frames from the lowest LSN to the
// highest, then done. The passive writes the files into a staging
// directory, applies the frames to bring every store to the highest LSN,
// and swaps the stores in place of its own, with an empty log that starts
// right after; then it reconnects and follows as usual.
const (
	msgBootstrap = 7 // passive: id
	msgFile      = 8 // active: path, offset, CRC32C, data
	msgDone      = 9 // active: lowest and highest LSN of the checkpoints
)

// fileChunk bounds one file message.
const fileChunk = 1 << 20

// fs is the filesystem the node's group lives on.
func (n *Node) fs() vfs.FS {
	if n.opts.Group != nil && n.opts.Group.FS != nil {
		return n.opts.Group.FS
	}
	return vfs.Default
}

// sendBootstrap serves a passive's bootstrap request.
func (p *primary) sendBootstrap(bw *bufio.Writer, id string) error {
	n := p.n
	g, log, fs := n.group(), n.wlog(), n.fs()
	pin, err := log.Pin("cluster-bootstrap:"+id, log.FirstLSN())
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			pin.Release()
		}
	}()
	staging := fs.PathJoin(n.dir, fmt.Sprintf(".bootstrap-%d", time.Now().UnixNano()))
	defer func() { _ = fs.RemoveAll(staging) }()
	lsns, err := clusterhooks.Of(g).Checkpoint(staging)
	if err != nil {
		return err
	}
	lo, hi := uint64(1<<64-1), uint64(0)
	for _, l := range lsns {
		lo, hi = min(lo, l), max(hi, l)
	}
	pin.Advance(lo + 1)
	if err := sendTree(bw, p.epoch, fs, staging, ""); err != nil {
		return err
	}
	if hi > lo {
		r, err := log.NewReader(lo + 1)
		if err != nil {
			return err
		}
		defer r.Close()
		var buf []byte
		for lsn := lo + 1; lsn <= hi; lsn++ {
			f, err := r.Read()
			if err != nil {
				return fmt.Errorf("read lsn %d for bootstrap: %w", lsn, err)
			}
			buf = wal.EncodeFrame(buf, f)
			if len(buf) >= maxBatch || lsn == hi {
				if err := writeMsg(bw, msgFrames, p.epoch, buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if err := writeMsg(bw, msgDone, p.epoch, twoUints(lo, hi)); err != nil {
		return err
	}
	// Keep the frames after the checkpoints until the passive's stream
	// attaches (which replaces this pin).
	pin.Advance(hi + 1)
	p.mu.Lock()
	if !p.fenced {
		if p.retain != nil {
			p.retain.Release()
		}
		p.retain, keep = pin, true
	}
	p.mu.Unlock()
	return nil
}

// sendTree sends every file under root/rel.
func sendTree(bw *bufio.Writer, epoch uint64, fs vfs.FS, root, rel string) error {
	names, err := fs.List(fs.PathJoin(root, rel))
	if err != nil {
		return err
	}
	for _, name := range names {
		r := path.Join(rel, name)
		full := fs.PathJoin(root, r)
		st, err := fs.Stat(full)
		if err != nil {
			return err
		}
		if st.IsDir() {
			if err := sendTree(bw, epoch, fs, root, r); err != nil {
				return err
			}
			continue
		}
		if err := sendFile(bw, epoch, fs, full, r); err != nil {
			return err
		}
	}
	return nil
}

func sendFile(bw *bufio.Writer, epoch uint64, fs vfs.FS, full, rel string) error {
	f, err := fs.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, fileChunk)
	for off := uint64(0); ; {
		k, err := io.ReadFull(f, buf)
		if k > 0 || off == 0 {
			body := binary.AppendUvarint(nil, uint64(len(rel)))
			body = append(body, rel...)
			body = binary.LittleEndian.AppendUint64(body, off)
			body = binary.LittleEndian.AppendUint32(body, crc32.Checksum(buf[:k], castagnoli))
			body = append(body, buf[:k]...)
			if err := writeMsg(bw, msgFile, epoch, body); err != nil {
				return err
			}
			off += uint64(k)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func decodeFile(b []byte) (rel string, off uint64, data []byte, err error) {
	bad := fmt.Errorf("%w: bad file message", ErrProtocol)
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", 0, nil, bad
	}
	rel, b = string(b[k:k+int(n)]), b[k+int(n):]
	if len(b) < 12 {
		return "", 0, nil, bad
	}
	off, crc, data := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint32(b[8:]), b[12:]
	if crc32.Checksum(data, castagnoli) != crc {
		return "", 0, nil, fmt.Errorf("%w: file %s chunk at %d: checksum mismatch", ErrProtocol, rel, off)
	}
	if rel == "" || path.IsAbs(rel) || strings.HasPrefix(path.Clean(rel), "..") {
		return "", 0, nil, fmt.Errorf("%w: file path %q", ErrProtocol, rel)
	}
	return rel, off, data, nil
}

// bootstrap rebuilds this passive's group from the active's databases.
func (n *Node) bootstrap(ctx context.Context, leader NodeInfo) (err error) {
	conn, err := n.opts.Dial(ctx, leader.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	br, bw := bufio.NewReaderSize(conn, 256<<10), bufio.NewWriterSize(conn, 4<<10)
	if err := writeMsg(bw, msgBootstrap, n.wlog().Epoch(), []byte(n.opts.ID)); err != nil {
		return err
	}
	fs := n.fs()
	staging := fs.PathJoin(fs.PathDir(n.dir), fs.PathBase(n.dir)+".reseed")
	if err := fs.RemoveAll(staging); err != nil {
		return err
	}
	var (
		cur     vfs.File
		curPath string
		curOff  uint64
		rs      clusterhooks.Reseed
		epoch   uint64
	)
	closeCur := func() error {
		if cur == nil {
			return nil
		}
		err := errors.Join(cur.Sync(), cur.Close())
		cur = nil
		return err
	}
	defer func() {
		_ = closeCur()
		if rs != nil && err != nil {
			_ = rs.Abort()
		} else if err != nil {
			_ = fs.RemoveAll(staging)
		}
	}()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
		m, err := readMsg(br, maxBatch+2*(n.maxFrame()+64)+fileChunk)
		if err != nil {
			return fmt.Errorf("cluster: bootstrap from %q: %w", leader.ID, err)
		}
		if epoch == 0 {
			epoch = m.epoch
		}
		if m.epoch != epoch || epoch < n.wlog().Epoch() {
			return fmt.Errorf("%w: bootstrap message of epoch %d", ErrProtocol, m.epoch)
		}
		switch m.typ {
		case msgReject:
			return fmt.Errorf("cluster: %q refused to bootstrap this node", leader.ID)
		case msgFile:
			if rs != nil {
				return fmt.Errorf("%w: file after frames", ErrProtocol)
			}
			rel, off, data, err := decodeFile(m.body)
			if err != nil {
				return err
			}
			if rel != curPath || cur == nil {
				if err := closeCur(); err != nil {
					return err
				}
				full := fs.PathJoin(staging, rel)
				if err := fs.MkdirAll(fs.PathDir(full), 0o755); err != nil {
					return err
				}
				if cur, err = fs.Create(full, vfs.WriteCategoryUnspecified); err != nil {
					return err
				}
				curPath, curOff = rel, 0
			}
			if off != curOff {
				return fmt.Errorf("%w: file %s chunk at %d, expected %d", ErrProtocol, rel, off, curOff)
			}
			if _, err := cur.Write(data); err != nil {
				return err
			}
			curOff += uint64(len(data))
		case msgFrames, msgDone:
			if rs == nil {
				if err := closeCur(); err != nil {
					return err
				}
				if rs, err = clusterhooks.BeginReseed(n.dir, n.opts.Group, staging); err != nil {
					return err
				}
			}
			if m.typ == msgFrames {
				frames, err := decodeFrames(m.body, n.maxFrame())
				if err != nil {
					return err
				}
				if err := rs.Apply(frames); err != nil {
					return err
				}
				continue
			}
			_, hi, err := decodeTwoUints(m.body)
			if err != nil {
				return err
			}
			return n.swapIn(rs, hi)
		default:
			return fmt.Errorf("%w: unexpected message type %d in bootstrap", ErrProtocol, m.typ)
		}
	}
}

// swapIn closes the node's group, puts the rebuilt databases in its place
// and reopens it.
func (n *Node) swapIn(rs clusterhooks.Reseed, lsn uint64) error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	if err := n.group().Close(); err != nil {
		n.setErr(fmt.Errorf("cluster: close group for bootstrap: %w", err))
	}
	if err := rs.Finish(lsn); err != nil {
		return fmt.Errorf("cluster: bootstrap: %w (the node must be restarted)", err)
	}
	g, err := openReplica(n.dir, n.opts.Group)
	if err != nil {
		return fmt.Errorf("cluster: reopen after bootstrap: %w (the node must be restarted)", err)
	}
	clusterhooks.Of(g).Log().SetFollower(ErrNotActive)
	clusterhooks.Of(g).Log().SetGate(refuseAll)
	// The rebuilt log is a new one, with a new disk identity.
	if err := n.setGroup(g); err != nil {
		return fmt.Errorf("cluster: reopen after bootstrap: %w (the node must be restarted)", errors.Join(err, g.Close()))
	}
	n.bootstraps.Add(1)
	return nil
}
