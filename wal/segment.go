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

// Segment file layout: a 32-byte header, then whole frames. Frames never span
// segments. The header:
//
//	0  8 magic "BZWALSEG"
//	8  4 format version
//	12 4 reserved (0)
//	16 8 first LSN the segment holds (also its file name, in hex)
//	24 4 CRC32C over bytes 0..23
//	28 4 reserved (0)
const (
	segHeaderSize = 32
	segVersion    = 1
	segSuffix     = ".log"
)

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
		return 0, fmt.Errorf("segment format version %d not supported (this build reads %d)", v, segVersion)
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
	end     int64  // offset after the last good frame
	lastLSN uint64 // LSN of the last good frame (first-1 if none)
	lastCRC uint32
	lastEp  uint64
	lastT   int64
	// bad describes the first bad frame, if any, at offset end.
	bad string
	// laterDurable is set when a frame after the bad one is intact and
	// records (in its Synced field) that the bad one had been durable.
	laterDurable bool
}

// scanSegment reads every frame of a segment after the header, checking
// checksum, LSN density and the CRC chain. chained says whether prevCRC is
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
		fr, n, reason, err := readFrameAt(r, off, size, maxPayload)
		if err != nil {
			return res, err
		}
		if reason == "" {
			if fr.LSN != res.lastLSN+1 {
				reason = fmt.Sprintf("lsn %d where %d was expected", fr.LSN, res.lastLSN+1)
			} else if chained && fr.PrevCRC != res.lastCRC {
				reason = "previous-frame checksum does not match the chain"
			}
		}
		if reason != "" {
			res.bad = reason
			res.laterDurable, err = laterFrameSaysDurable(r, off+1, size, res.lastLSN+1, maxPayload)
			return res, err
		}
		if fn != nil {
			if err := fn(&fr); err != nil {
				return res, err
			}
		}
		res.frames++
		res.lastLSN, res.lastCRC, res.lastEp, res.lastT = fr.LSN, fr.CRC, fr.Epoch, fr.Time
		chained = true
		off += int64(n)
		res.end = off
	}
	return res, nil
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

// laterFrameSaysDurable searches the bytes after a bad frame for an intact
// frame whose Synced watermark covers badLSN. Such a frame proves the bad
// frame had been fsynced before it was damaged: that is corruption, not a
// torn write. Frames written in the same unsynced group as the bad one
// carry an older watermark, which is why a torn tail does not trip this.
func laterFrameSaysDurable(r *blockReader, from, size int64, badLSN uint64, maxPayload int) (bool, error) {
	for off := from; off+frameHeaderSize <= size; off++ {
		h, err := r.at(off, 2)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("wal: read at offset %d: %w", off, err)
		}
		if h[0] != frameMagic0 || h[1] != frameMagic1 {
			continue
		}
		fr, _, reason, err := readFrameAt(r, off, size, maxPayload)
		if err != nil {
			return false, err
		}
		if reason == "" && fr.LSN > badLSN && fr.Synced >= badLSN {
			return true, nil
		}
	}
	return false, nil
}
