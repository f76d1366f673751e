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
	// The length comes from the stream, so the buffer grows as the bytes
	// arrive (doubling), never to the claimed length at once: a damaged
	// header costs what the stream holds, not up to maxPayload.
	total := frameHeaderSize + n
	for have := frameHeaderSize; have < total; {
		if have == cap(buf) {
			nb := make([]byte, have, min(total, max(2*cap(buf), 64<<10)))
			copy(nb, buf)
			buf = nb
		}
		end := min(total, cap(buf))
		buf = buf[:end]
		k, err := io.ReadFull(r, buf[have:end])
		have += k
		if err != nil {
			return Frame{}, buf, fmt.Errorf("%w: frame payload cut short at %d of %d bytes: %w", ErrCorrupt, have-frameHeaderSize, n, err)
		}
	}
	f, _, err := DecodeFrame(buf, maxPayload)
	return f, buf, err
}
