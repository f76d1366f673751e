package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Segment file layout: a 32-byte header, then entries: whole frames (see
// frame.go) and sync marks. Frames never span segments. The header:
//
//	0  8 magic "BZWALSEG"
//	8  4 format version
//	12 4 reserved (0)
//	16 8 first LSN the segment holds (also its file name, in hex)
//	24 4 CRC32C over bytes 0..23
//	28 4 reserved (0)
//
// A sync mark records what this file had fsynced when it was written: a fact
// about this file alone, so it is never part of a frame, never chained and
// never shipped. The committer writes one before a group's frames when the
// file's synced LSN has moved since the last mark, and Close writes one
// last. A damaged frame that a later intact mark says was synced is
// corruption; without such a mark it is a torn write. A follower writes its
// own marks from its own fsyncs, so it recovers by the same rule as the
// leader. Layout (little-endian):
//
//	0  2 magic 0xB7 0x5C
//	2  1 format version (2)
//	3  1 kind (markGroup or markClose)
//	4  8 the highest LSN this file had fsynced when the mark was written
//	12 4 CRC32C over bytes 0..11
//
// Format version 1 segments, whose frames carried a writer's durable LSN,
// are refused with ErrVersion.
const (
	segHeaderSize = 32
	segVersion    = 2
	segSuffix     = ".log"

	markSize   = 16
	markMagic1 = 0x5C
	markGroup  = 1
	markClose  = 2
)

// appendMark appends a sync mark saying the file had fsynced through synced.
func appendMark(dst []byte, kind byte, synced uint64) []byte {
	var m [markSize]byte
	m[0], m[1], m[2], m[3] = frameMagic0, markMagic1, segVersion, kind
	binary.LittleEndian.PutUint64(m[4:], synced)
	binary.LittleEndian.PutUint32(m[12:], crc32.Checksum(m[:12], crcTable))
	return append(dst, m[:]...)
}

// decodeMark checks a sync mark and returns its synced LSN.
func decodeMark(m []byte) (uint64, error) {
	if len(m) < markSize {
		return 0, errShort
	}
	if m[0] != frameMagic0 || m[1] != markMagic1 {
		return 0, errors.New("bad magic")
	}
	if crc32.Checksum(m[:12], crcTable) != binary.LittleEndian.Uint32(m[12:]) {
		return 0, errors.New("sync mark checksum mismatch")
	}
	if m[2] != segVersion || (m[3] != markGroup && m[3] != markClose) {
		return 0, fmt.Errorf("unknown sync mark version %d kind %d", m[2], m[3])
	}
	return binary.LittleEndian.Uint64(m[4:]), nil
}

var segMagic = [8]byte{'B', 'Z', 'W', 'A', 'L', 'S', 'E', 'G'}

// segmentName is the file name of the segment whose first frame is lsn.
func segmentName(first uint64) string {
	return fmt.Sprintf("%016x%s", first, segSuffix)
}

// parseSegmentName returns the first LSN named by a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != 16+len(segSuffix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	v, err := strconv.ParseUint(name[:16], 16, 64)
	if err != nil || v == 0 {
		return 0, false
	}
	return v, true
}

func encodeSegHeader(first uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h, segMagic[:])
	binary.LittleEndian.PutUint32(h[8:], segVersion)
	binary.LittleEndian.PutUint64(h[16:], first)
	binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], crcTable))
	return h
}

func decodeSegHeader(h []byte) (first uint64, err error) {
	if len(h) < segHeaderSize {
		return 0, errors.New("segment header truncated")
	}
	if [8]byte(h[:8]) != segMagic {
		return 0, errors.New("not a segment file (bad magic)")
	}
	if crc32.Checksum(h[:24], crcTable) != binary.LittleEndian.Uint32(h[24:]) {
		return 0, errors.New("segment header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != segVersion {
		return 0, fmt.Errorf("%w: segment format version %d (this build reads %d)", ErrVersion, v, segVersion)
	}
	return binary.LittleEndian.Uint64(h[16:]), nil
}

// blockReader reads byte ranges of a file through one reusable buffer, so
// sequential frame reads cost one ReadAt per buffer, not one per frame.
type blockReader struct {
	f      vfs.File
	buf    []byte
	bufOff int64 // file offset of buf[0]
}

const readBlock = 256 << 10

// at returns the n bytes at off. The slice is valid until the next call. It
// returns io.ErrUnexpectedEOF when the file ends first.
func (r *blockReader) at(off int64, n int) ([]byte, error) {
	if off >= r.bufOff && off+int64(n) <= r.bufOff+int64(len(r.buf)) {
		s := off - r.bufOff
		return r.buf[s : s+int64(n)], nil
	}
	want := max(n, readBlock)
	if cap(r.buf) < want {
		if n > readBlock {
			// n comes from a frame header: make sure the file holds that
			// many bytes before allocating for them, so that a damaged
			// length costs one byte's read, not up to MaxFrameSize.
			var last [1]byte
			if k, err := r.f.ReadAt(last[:], off+int64(n)-1); k < 1 {
				if err == nil || errors.Is(err, io.EOF) {
					return nil, io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		r.buf = make([]byte, want)
	}
	r.buf = r.buf[:want]
	got, err := r.f.ReadAt(r.buf, off)
	r.buf = r.buf[:got]
	r.bufOff = off
	if got >= n {
		return r.buf[:n], nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, io.ErrUnexpectedEOF
	}
	return nil, err
}

// scanResult is what a scan of one segment found.
type scanResult struct {
	frames  uint64 // good frames
	end     int64  // offset after the last good entry
	lastLSN uint64 // LSN of the last good frame (first-1 if none)
	lastCRC uint32
	lastEp  uint64
	lastT   int64
	// bad describes the first bad entry, if any, at offset end.
	bad string
	// laterSynced is set when an intact sync mark after the bad entry says
	// that this file had fsynced the frame expected there.
	laterSynced bool
}

// scanSegment reads every entry of a segment after the header, checking
// checksums, LSN density and the CRC chain. chained says whether prevCRC is
// the checksum of the frame before first: it is not for the oldest segment
// left after truncation, whose predecessor is gone. fn, if set, sees each
// good frame (its payload aliases a buffer reused on the next frame). An
// error is returned only for a failed read or from fn: damage is reported in
// the result, so that a read error is never taken for a torn tail.
func scanSegment(f vfs.File, size int64, first uint64, prevCRC uint32, chained bool, maxPayload int, fn func(*Frame) error) (scanResult, error) {
	r := &blockReader{f: f}
	res := scanResult{end: segHeaderSize, lastLSN: first - 1, lastCRC: prevCRC}
	off := int64(segHeaderSize)
	for off < size {
		fr, n, reason, err := readEntryAt(r, off, size, maxPayload)
		if err != nil {
			return res, err
		}
		if reason == "" && fr.LSN != 0 {
			if fr.LSN != res.lastLSN+1 {
				reason = fmt.Sprintf("lsn %d where %d was expected", fr.LSN, res.lastLSN+1)
			} else if chained && fr.PrevCRC != res.lastCRC {
				reason = "previous-frame checksum does not match the chain"
			}
		}
		if reason != "" {
			res.bad = reason
			res.laterSynced, err = laterMarkSaysSynced(r, off+1, size, res.lastLSN+1)
			return res, err
		}
		off += int64(n)
		res.end = off
		if fr.LSN == 0 {
			continue // a sync mark
		}
		if fn != nil {
			if err := fn(&fr); err != nil {
				return res, err
			}
		}
		res.frames++
		res.lastLSN, res.lastCRC, res.lastEp, res.lastT = fr.LSN, fr.CRC, fr.Epoch, fr.Time
		chained = true
	}
	return res, nil
}

// readEntryAt decodes the entry at off: a frame, or a sync mark, which it
// returns as a Frame with LSN 0 (n is then markSize). A non-empty reason
// says why the entry is bad (including a file that ends before it does).
// err is set only when reading the file failed.
func readEntryAt(r *blockReader, off, size int64, maxPayload int) (Frame, int, string, error) {
	if size-off >= 2 {
		h, err := r.at(off, 2)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, 0, "", fmt.Errorf("wal: read 2 bytes at offset %d: %w", off, err)
		}
		if err == nil && h[0] == frameMagic0 && h[1] == markMagic1 {
			if size-off < markSize {
				return Frame{}, 0, "incomplete sync mark", nil
			}
			m, err := r.at(off, markSize)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Frame{}, 0, "incomplete sync mark", nil
			} else if err != nil {
				return Frame{}, 0, "", fmt.Errorf("wal: read %d bytes at offset %d: %w", markSize, off, err)
			}
			if _, err := decodeMark(m); err != nil {
				return Frame{}, 0, err.Error(), nil
			}
			return Frame{}, markSize, "", nil
		}
	}
	return readFrameAt(r, off, size, maxPayload)
}

// readFrameAt decodes the frame at off; a non-empty reason says why it is
// bad (including a file that ends before the frame does). err is set only
// when reading the file failed.
func readFrameAt(r *blockReader, off, size int64, maxPayload int) (Frame, int, string, error) {
	if size-off < frameHeaderSize {
		return Frame{}, 0, "incomplete frame header", nil
	}
	h, err := r.at(off, frameHeaderSize)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return Frame{}, 0, "incomplete frame header", nil
	} else if err != nil {
		return Frame{}, 0, "", fmt.Errorf("wal: read %d bytes at offset %d: %w", frameHeaderSize, off, err)
	}
	_, n, err := decodeHeader(h, maxPayload)
	if err != nil {
		return Frame{}, 0, err.Error(), nil
	}
	if size-off < int64(frameHeaderSize+n) {
		return Frame{}, 0, "incomplete frame payload", nil
	}
	b, err := r.at(off, frameHeaderSize+n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return Frame{}, 0, "incomplete frame payload", nil
	} else if err != nil {
		return Frame{}, 0, "", fmt.Errorf("wal: read %d bytes at offset %d: %w", frameHeaderSize+n, off, err)
	}
	fr, used, err := DecodeFrame(b, maxPayload)
	if err != nil {
		return Frame{}, 0, strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": "), nil
	}
	return fr, used, "", nil
}

// laterMarkSaysSynced searches the bytes after a bad entry for an intact
// sync mark saying this file had fsynced badLSN. Such a mark proves the bad
// entry had been on disk before it was damaged: that is corruption, not a
// torn write. A mark is written only after the fsync it reports, so the
// marks of a group torn by a crash never claim that group.
func laterMarkSaysSynced(r *blockReader, from, size int64, badLSN uint64) (bool, error) {
	for off := from; off+markSize <= size; off++ {
		h, err := r.at(off, 2)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("wal: read at offset %d: %w", off, err)
		}
		if h[0] != frameMagic0 || h[1] != markMagic1 {
			continue
		}
		m, err := r.at(off, markSize)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("wal: read at offset %d: %w", off, err)
		}
		if synced, err := decodeMark(m); err == nil && synced >= badLSN {
			return true, nil
		}
	}
	return false, nil
}
