package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Type says what a frame carries.
type Type uint8

const (
	// TypeCommit carries one transaction: a Pebble batch representation per
	// store it touched (see EncodeRecords).
	TypeCommit Type = 1
	// TypeMark is a named position in the log, BizTalk's marked transaction.
	// Its payload is the mark's name.
	TypeMark Type = 2
	// TypeEpoch starts a new epoch; the frame's Epoch is the new one and its
	// payload holds the previous epoch (8 bytes, little-endian).
	TypeEpoch Type = 3
	// TypeNoop carries nothing. Log.Sync writes one to have something to
	// sync.
	TypeNoop Type = 4
)

func (t Type) String() string {
	switch t {
	case TypeCommit:
		return "commit"
	case TypeMark:
		return "mark"
	case TypeEpoch:
		return "epoch"
	case TypeNoop:
		return "noop"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

func (t Type) valid() bool { return t >= TypeCommit && t <= TypeNoop }

// Frame header layout (little-endian), then the payload. This is the form a
// frame has everywhere: in segment files, on the replication stream, in
// backups and shipped logs. Everything in it is the same on every copy of
// the frame, so the CRC, which covers all of it, identifies the frame:
//
//	0  2 magic 0xB7 0x5A
//	2  1 format version
//	3  1 type
//	4  4 payload length
//	8  8 LSN
//	16 8 epoch
//	24 8 commit time, unix nanoseconds
//	32 4 CRC of the previous frame (a chain: it detects divergence at equal LSN)
//	36 4 CRC32C over bytes 0..35 and the payload
//
// Format version 1 also carried, at 32..39, the LSN the writer knew durable;
// a follower copied it from the active, so it said nothing true about the
// follower's own file. What a file has synced now lives in the segment, in
// sync marks that are never shipped (see segment.go). Version 1 frames are
// refused with ErrVersion.
const (
	frameHeaderSize = 40
	frameMagic0     = 0xB7
	frameMagic1     = 0x5A
	frameVersion    = 2
	frameCRCOff     = 36
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Frame is one entry of the log.
type Frame struct {
	Type  Type
	LSN   uint64
	Epoch uint64
	// Time is the commit time in Unix nanoseconds, from the writer's clock.
	Time int64
	// PrevCRC is the CRC of the frame at LSN-1 (0 for the first frame ever).
	PrevCRC uint32
	// CRC is this frame's checksum.
	CRC uint32
	// Payload's meaning depends on Type. A frame returned by a Reader owns
	// its payload; a frame handed to Options.Apply shares it with the
	// committer and must not be modified or kept past the call.
	Payload []byte
}

// Size is the frame's encoded size in bytes.
func (f *Frame) Size() int { return frameHeaderSize + len(f.Payload) }

// appendFrame encodes f, computing its CRC, and returns the extended slice.
func appendFrame(dst []byte, f *Frame) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	h := dst[start:]
	h[0], h[1], h[2], h[3] = frameMagic0, frameMagic1, frameVersion, byte(f.Type)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(f.Payload)))
	binary.LittleEndian.PutUint64(h[8:], f.LSN)
	binary.LittleEndian.PutUint64(h[16:], f.Epoch)
	binary.LittleEndian.PutUint64(h[24:], uint64(f.Time))
	binary.LittleEndian.PutUint32(h[32:], f.PrevCRC)
	crc := crc32.Update(crc32.Checksum(h[:frameCRCOff], crcTable), crcTable, f.Payload)
	binary.LittleEndian.PutUint32(h[frameCRCOff:], crc)
	f.CRC = crc
	return append(dst, f.Payload...)
}

// errShort means the buffer ends before the frame does.
var errShort = errors.New("wal: short frame")

// decodeHeader decodes and checks a header, returning the payload length.
// An error wraps ErrVersion for a frame of a format this build does not
// read.
func decodeHeader(h []byte, maxPayload int) (Frame, int, error) {
	if len(h) < frameHeaderSize {
		return Frame{}, 0, errShort
	}
	if h[0] != frameMagic0 || h[1] != frameMagic1 {
		return Frame{}, 0, errors.New("bad magic")
	}
	if h[2] != frameVersion {
		return Frame{}, 0, fmt.Errorf("%w: frame format version %d (this build reads %d)", ErrVersion, h[2], frameVersion)
	}
	f := Frame{
		Type:    Type(h[3]),
		LSN:     binary.LittleEndian.Uint64(h[8:]),
		Epoch:   binary.LittleEndian.Uint64(h[16:]),
		Time:    int64(binary.LittleEndian.Uint64(h[24:])),
		PrevCRC: binary.LittleEndian.Uint32(h[32:]),
		CRC:     binary.LittleEndian.Uint32(h[frameCRCOff:]),
	}
	if !f.Type.valid() {
		return Frame{}, 0, fmt.Errorf("unknown frame type %d", h[3])
	}
	n := binary.LittleEndian.Uint32(h[4:])
	if int64(n) > int64(maxPayload) {
		return Frame{}, 0, fmt.Errorf("payload length %d over limit %d", n, maxPayload)
	}
	if f.LSN == 0 {
		return Frame{}, 0, errors.New("lsn 0")
	}
	return f, int(n), nil
}

// DecodeFrame decodes one frame from the start of b, returning it and the
// number of bytes it used. The frame's payload aliases b. Any damage gives
// an error wrapping ErrCorrupt; a b too short for the frame gives one too.
// A frame of a format version this build does not read gives an error
// wrapping ErrVersion.
func DecodeFrame(b []byte, maxPayload int) (Frame, int, error) {
	f, n, err := decodeHeader(b, maxPayload)
	if errors.Is(err, ErrVersion) {
		return Frame{}, 0, fmt.Errorf("wal: %w", err)
	} else if err != nil {
		return Frame{}, 0, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if len(b) < frameHeaderSize+n {
		return Frame{}, 0, fmt.Errorf("%w: %v", ErrCorrupt, errShort)
	}
	f.Payload = b[frameHeaderSize : frameHeaderSize+n : frameHeaderSize+n]
	if crc := crc32.Update(crc32.Checksum(b[:frameCRCOff], crcTable), crcTable, f.Payload); crc != f.CRC {
		return Frame{}, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return f, frameHeaderSize + n, nil
}

// EncodeFrame appends the encoding of f to dst, setting f.CRC.
func EncodeFrame(dst []byte, f *Frame) []byte { return appendFrame(dst, f) }

// Record is one store's part of a commit frame: the store's ID and a Pebble
// batch representation.
type Record struct {
	Store uint8
	Data  []byte
}

// EncodeRecords appends the commit payload for records to dst: a uvarint
// count, then per record the store ID, a uvarint length and the bytes.
func EncodeRecords(dst []byte, records []Record) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(records)))
	for _, r := range records {
		dst = append(dst, r.Store)
		dst = binary.AppendUvarint(dst, uint64(len(r.Data)))
		dst = append(dst, r.Data...)
	}
	return dst
}

// RecordsSize is the length EncodeRecords will add for records.
func RecordsSize(records []Record) int {
	n := binary.MaxVarintLen64
	for _, r := range records {
		n += 1 + binary.MaxVarintLen64 + len(r.Data)
	}
	return n
}

// DecodeRecords decodes a commit payload. Each record's Data aliases p with
// its capacity cut to its length, so appending to it never overwrites the
// next record. The count at the payload's start is not trusted for an
// allocation: the records are checked first, and the slice is made for
// those actually present.
func DecodeRecords(p []byte) ([]Record, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 {
		return nil, fmt.Errorf("%w: bad record count", ErrCorrupt)
	}
	body := p[k:]
	// Each record takes at least two bytes (store ID and length).
	if n > uint64(len(body))/2 {
		return nil, fmt.Errorf("%w: %d records in %d bytes", ErrCorrupt, n, len(body))
	}
	if err := walkRecords(body, n, nil); err != nil {
		return nil, err
	}
	recs := make([]Record, 0, n)
	_ = walkRecords(body, n, func(r Record) { recs = append(recs, r) })
	return recs, nil
}

// walkRecords checks that p holds exactly n records and calls fn, if set,
// with each.
func walkRecords(p []byte, n uint64, fn func(Record)) error {
	for i := uint64(0); i < n; i++ {
		if len(p) < 1 {
			return fmt.Errorf("%w: record %d truncated", ErrCorrupt, i)
		}
		store := p[0]
		l, k := binary.Uvarint(p[1:])
		if k <= 0 || l > uint64(len(p)-1-k) {
			return fmt.Errorf("%w: record %d length", ErrCorrupt, i)
		}
		start := 1 + k
		end := start + int(l)
		if fn != nil {
			fn(Record{Store: store, Data: p[start:end:end]})
		}
		p = p[end:]
	}
	if len(p) != 0 {
		return fmt.Errorf("%w: %d trailing bytes after records", ErrCorrupt, len(p))
	}
	return nil
}
