package wal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Reader reads frames in LSN order from a starting LSN, following the log
// as it grows. It sees only durable frames. A Reader is not safe for
// concurrent use; use one per goroutine. Close it when done.
type Reader struct {
	l    *Log
	next uint64

	f       vfs.File
	br      blockReader
	path    string
	off     int64
	segEnd  uint64 // first LSN of the following segment; MaxUint64 if unknown
	prevCRC uint32
	chained bool // prevCRC is known
	// unsynced: the reader follows written frames, not only synced ones
	// (NewUnsyncedReader).
	unsynced bool
}

// NewReader returns a Reader positioned at from. It fails with ErrTruncated
// if from is below the log's first LSN.
func (l *Log) NewReader(from uint64) (*Reader, error) {
	if from == 0 {
		from = 1
	}
	l.mu.Lock()
	first := l.segs.first()
	l.mu.Unlock()
	if from < first {
		return nil, fmt.Errorf("%w: lsn %d, log starts at %d", ErrTruncated, from, first)
	}
	return &Reader{l: l, next: from}, nil
}

// NextLSN is the LSN the next frame read will have.
func (r *Reader) NextLSN() uint64 { return r.next }

// Read returns the next frame, or io.EOF if it is not durable yet. The
// frame owns its payload.
func (r *Reader) Read() (*Frame, error) {
	if r.next > r.limit() {
		return nil, io.EOF
	}
	return r.read()
}

// Next returns the next frame, blocking until it is durable, ctx is done or
// the log closes (ErrClosed).
func (r *Reader) Next(ctx context.Context) (*Frame, error) {
	for {
		ch := r.l.waitChan()
		if r.next <= r.limit() {
			return r.read()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.l.closedCh:
			return nil, ErrClosed
		}
	}
}

func (r *Reader) read() (*Frame, error) {
	for {
		if r.f == nil || r.next >= r.segEnd {
			if err := r.openSegment(); err != nil {
				return nil, err
			}
		}
		fr, n, reason, err := readEntryAt(&r.br, r.off, math.MaxInt64, r.l.opts.MaxFrameSize)
		if err != nil {
			return nil, fmt.Errorf("wal: read %s: %w", r.path, err)
		}
		if reason != "" && r.segEnd == math.MaxUint64 {
			// The end of what was the active segment: if the log has rolled
			// since, the frame is in the next segment.
			path := r.path
			if err := r.openSegment(); err != nil {
				return nil, err
			}
			if r.path != path {
				continue
			}
		}
		if reason == "" && fr.LSN == 0 {
			r.off += int64(n) // a sync mark
			continue
		}
		if reason == "" && fr.LSN > r.next {
			reason = fmt.Sprintf("lsn %d where %d was expected", fr.LSN, r.next)
		}
		if reason == "" && r.chained && fr.PrevCRC != r.prevCRC {
			reason = "previous-frame checksum does not match the chain"
		}
		if reason != "" {
			return nil, &CorruptError{File: r.path, Offset: r.off, LSN: r.next, Reason: reason}
		}
		r.off += int64(n)
		r.prevCRC, r.chained = fr.CRC, true
		if fr.LSN < r.next {
			continue // skipping to the starting LSN
		}
		r.next++
		fr.Payload = append([]byte(nil), fr.Payload...)
		return &fr, nil
	}
}

// openSegment opens the segment that holds r.next.
func (r *Reader) openSegment() error {
	l := r.l
	l.mu.Lock()
	seg, nextFirst, ok := l.segs.locate(r.next)
	first := l.segs.first()
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: lsn %d, log starts at %d", ErrTruncated, r.next, first)
	}
	r.segEnd = nextFirst
	if r.f != nil && r.path == seg.path {
		// Same (active) segment, which has since been followed by another.
		return nil
	}
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	f, err := l.fs.Open(seg.path)
	if err != nil {
		return fmt.Errorf("wal: open %s: %w", seg.path, err)
	}
	r.f, r.path, r.off = f, seg.path, segHeaderSize
	r.br = blockReader{f: f, buf: r.br.buf[:0]}
	hdr, err := r.br.at(0, segHeaderSize)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &CorruptError{File: seg.path, LSN: seg.first, Reason: "segment header: " + err.Error()}
	} else if err != nil {
		return fmt.Errorf("wal: read header of %s: %w", seg.path, err)
	}
	if first, err := decodeSegHeader(hdr); err != nil || first != seg.first {
		return &CorruptError{File: seg.path, LSN: seg.first, Reason: "bad segment header"}
	}
	return nil
}

// Close releases the reader's file.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
