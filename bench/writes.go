package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// WriteCounter is a System whose storage writes happen outside this
// process (an external server), so the process's own I/O counters miss
// them. Written returns a counter of bytes the system has written, which
// only grows; the harness reads it before and after each round instead of
// /proc/self/io. WrittenSource names what the counter counts, for the
// results.
type WriteCounter interface {
	Written(ctx context.Context) (int64, error)
	WrittenSource() string
}

// procWriteSource is what bytes_written_per_msg counts for the in-process
// systems.
const procWriteSource = "process write_bytes (/proc/self/io)"

// parseWriteBytes returns the write_bytes field of /proc/<pid>/io's
// contents: bytes this process caused to be sent to the block layer,
// counted when a page is dirtied (so a small synced append counts a whole
// page, each time the page is dirtied again after a sync).
func parseWriteBytes(data []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "write_bytes" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bench: /proc/self/io: write_bytes %q is not a count", strings.TrimSpace(v))
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("bench: /proc/self/io: %w", err)
	}
	return 0, fmt.Errorf("bench: /proc/self/io: no write_bytes line")
}

// writeMeter reads the bytes written so far by sys: its own counter when
// it has one, otherwise the process's. ok is false when the platform or
// the system cannot say.
func writeMeter(ctx context.Context, sys System) (n int64, source string, ok bool) {
	if wc, isWC := sys.(WriteCounter); isWC {
		n, err := wc.Written(ctx)
		return n, wc.WrittenSource(), err == nil
	}
	n, err := processWriteBytes()
	return n, procWriteSource, err == nil
}
