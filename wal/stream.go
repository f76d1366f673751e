package wal

import (
	"errors"
	"fmt"
	"io"
)

// ReadFrame reads one frame, as EncodeFrame wrote it, from r: the form in
// which backups and log shipping store runs of frames outside segment
// files. buf is reused for the frame's bytes if it is large enough and is
// returned for the next call; the frame's payload aliases it. At a clean
// end of r, ReadFrame returns io.EOF; a frame cut short or damaged gives an
// error wrapping ErrCorrupt.
func ReadFrame(r io.Reader, buf []byte, maxPayload int) (Frame, []byte, error) {
	if cap(buf) < frameHeaderSize {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:frameHeaderSize]
	if n, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) && n == 0 {
			return Frame{}, buf, io.EOF
		}
		return Frame{}, buf, fmt.Errorf("%w: frame header cut short after %d bytes: %w", ErrCorrupt, n, err)
	}
	_, n, err := decodeHeader(buf, maxPayload)
	if err != nil {
		return Frame{}, buf, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	total := frameHeaderSize + n
	if cap(buf) < total {
		nb := make([]byte, total)
		copy(nb, buf)
		buf = nb
	}
	buf = buf[:total]
	if k, err := io.ReadFull(r, buf[frameHeaderSize:]); err != nil {
		return Frame{}, buf, fmt.Errorf("%w: frame payload cut short at %d of %d bytes: %w", ErrCorrupt, k, n, err)
	}
	f, _, err := DecodeFrame(buf, maxPayload)
	return f, buf, err
}
