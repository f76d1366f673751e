package cluster

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/biztier/biztier/wal"
)

// The replication protocol runs over one TCP connection per passive. Every
// message is framed and checksummed, and carries the sender's epoch:
//
//	0 4 body length (type onwards), little-endian
//	4 4 CRC32C of the body
//	8 1 type
//	9 8 sender's epoch
//	17  payload
//
// The passive opens with hello; the active answers accept (then frames and
// heartbeats follow) or reject. The passive sends acks.
const (
	msgHello     = 1 // passive: id, disk identity, last LSN, max applied LSN, epoch history
	msgAccept    = 2 // active: fork LSN (passive cuts its log after it)
	msgReject    = 3 // either side: reason
	msgFrames    = 4 // active: encoded frames, in LSN order
	msgHeartbeat = 5 // active: durable LSN, commit time of its last frame
	msgAck       = 6 // passive: durable LSN, applied LSN

	msgHeaderSize = 17
)

// Reject reasons.
const (
	rejectNotLeader     = 1 // the node asked is not active
	rejectStaleEpoch    = 2 // the peer's epoch is older than one already seen
	rejectNeedBootstrap = 3 // the passive cannot continue from its log
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type message struct {
	typ   byte
	epoch uint64
	body  []byte // owned by the message
}

func writeMsg(w *bufio.Writer, typ byte, epoch uint64, body []byte) error {
	var h [msgHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(9+len(body)))
	h[8] = typ
	binary.LittleEndian.PutUint64(h[9:], epoch)
	crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, body)
	binary.LittleEndian.PutUint32(h[4:], crc)
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return w.Flush()
}

func readMsg(r *bufio.Reader, maxBody int) (message, error) {
	var h [msgHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return message{}, err
	}
	n := int(binary.LittleEndian.Uint32(h[0:]))
	if n < 9 || n-9 > maxBody {
		return message{}, fmt.Errorf("%w: message length %d", ErrProtocol, n)
	}
	body := make([]byte, n-9)
	if _, err := io.ReadFull(r, body); err != nil {
		return message{}, err
	}
	if crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, body); crc != binary.LittleEndian.Uint32(h[4:]) {
		return message{}, fmt.Errorf("%w: message checksum mismatch", ErrProtocol)
	}
	return message{typ: h[8], epoch: binary.LittleEndian.Uint64(h[9:]), body: body}, nil
}

// hello is the passive's opening message.
type hello struct {
	id      string
	disk    string // the passive's disk identity (see diskIdentity)
	last    uint64 // durable LSN
	applied uint64 // highest LSN any store applied
	history []wal.EpochStart
}

func (m hello) encode() []byte {
	b := binary.AppendUvarint(nil, uint64(len(m.id)))
	b = append(b, m.id...)
	b = binary.AppendUvarint(b, uint64(len(m.disk)))
	b = append(b, m.disk...)
	b = binary.LittleEndian.AppendUint64(b, m.last)
	b = binary.LittleEndian.AppendUint64(b, m.applied)
	b = binary.AppendUvarint(b, uint64(len(m.history)))
	for _, e := range m.history {
		b = binary.LittleEndian.AppendUint64(b, e.Epoch)
		b = binary.LittleEndian.AppendUint64(b, e.LSN)
	}
	return b
}

func decodeHello(b []byte) (hello, error) {
	var m hello
	bad := fmt.Errorf("%w: bad hello", ErrProtocol)
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return m, bad
	}
	m.id, b = string(b[k:k+int(n)]), b[k+int(n):]
	n, k = binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return m, bad
	}
	m.disk, b = string(b[k:k+int(n)]), b[k+int(n):]
	if len(b) < 16 {
		return m, bad
	}
	m.last, m.applied, b = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), b[16:]
	n, k = binary.Uvarint(b)
	if k <= 0 || n*16 != uint64(len(b)-k) {
		return m, bad
	}
	b = b[k:]
	for i := uint64(0); i < n; i++ {
		m.history = append(m.history, wal.EpochStart{Epoch: binary.LittleEndian.Uint64(b), LSN: binary.LittleEndian.Uint64(b[8:])})
		b = b[16:]
	}
	return m, nil
}

func twoUints(a, b uint64) []byte {
	out := binary.LittleEndian.AppendUint64(nil, a)
	return binary.LittleEndian.AppendUint64(out, b)
}

func decodeTwoUints(b []byte) (uint64, uint64, error) {
	if len(b) != 16 {
		return 0, 0, fmt.Errorf("%w: body of %d bytes, want 16", ErrProtocol, len(b))
	}
	return binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), nil
}

// decodeFrames splits a frames message. Payloads alias body.
func decodeFrames(body []byte, maxPayload int) ([]*wal.Frame, error) {
	var out []*wal.Frame
	for len(body) > 0 {
		f, n, err := wal.DecodeFrame(body, maxPayload)
		if err != nil {
			return nil, fmt.Errorf("%w: frame %d of message: %w", ErrProtocol, len(out), err)
		}
		out = append(out, &f)
		body = body[n:]
	}
	return out, nil
}
