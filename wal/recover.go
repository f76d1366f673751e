package wal

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// recover scans the segments and sets nextLSN, lastCRC, epoch and segs.
func (l *Log) recover() error {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return fmt.Errorf("wal: list %s: %w", l.dir, err)
	}
	var firsts []uint64
	for _, n := range names {
		if first, ok := parseSegmentName(n); ok {
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)
	l.nextLSN = l.opts.NextLSN
	l.epoch.Store(l.opts.Epoch)
	for i, first := range firsts {
		isLast := i == len(firsts)-1
		path := l.fs.PathJoin(l.dir, segmentName(first))
		if i > 0 && first != l.nextLSN {
			return &CorruptError{File: path, LSN: l.nextLSN,
				Reason: fmt.Sprintf("segment starts at lsn %d: lsns %d..%d are missing", first, l.nextLSN, first-1)}
		}
		seg, removed, err := l.recoverSegment(path, first, isLast)
		if err != nil {
			return err
		}
		if removed {
			continue
		}
		if i == 0 {
			l.nextLSN = first
		}
		if seg.last >= seg.first {
			l.nextLSN = seg.last + 1
		}
		l.recovered = append(l.recovered, seg)
	}
	if n := len(l.recovered); n > 0 {
		last := l.recovered[n-1]
		if last.last < last.first {
			// An empty final segment (a crash right after a roll): drop it so
			// the new active segment can take its name.
			if err := l.fs.Remove(last.path); err != nil {
				return fmt.Errorf("wal: remove empty segment %s: %w", last.path, err)
			}
			l.recovered = l.recovered[:n-1]
		}
	}
	l.durable.Store(l.nextLSN - 1)
	l.applied.Store(l.nextLSN - 1)
	l.repl.tailCRC.Store(l.lastCRC)
	return nil
}

// recoverSegment checks one segment. removed reports a final segment whose
// header never made it to disk, which is deleted.
func (l *Log) recoverSegment(path string, first uint64, isLast bool) (segment, bool, error) {
	f, err := l.fs.Open(path)
	if err != nil {
		return segment{}, false, fmt.Errorf("wal: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return segment{}, false, fmt.Errorf("wal: stat %s: %w", path, err)
	}
	size := st.Size()
	hdr := make([]byte, segHeaderSize)
	n, err := f.ReadAt(hdr, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		// A failed read is not an unsynced header: never remove on it.
		return segment{}, false, fmt.Errorf("wal: read header of %s: %w", path, err)
	}
	hfirst, herr := decodeSegHeader(hdr[:n])
	if errors.Is(herr, ErrVersion) {
		return segment{}, false, fmt.Errorf("wal: %s: %w", path, herr)
	}
	if herr != nil {
		if isLast && size <= readBlock && allZero(hdr[:n]) {
			l.opts.Logger.Infof("wal: removing segment %s whose header was never synced", path)
			if err := l.fs.Remove(path); err != nil {
				return segment{}, false, fmt.Errorf("wal: remove %s: %w", path, err)
			}
			return segment{}, true, nil
		}
		return segment{}, false, &CorruptError{File: path, Offset: 0, LSN: first, Reason: herr.Error()}
	}
	if hfirst != first {
		return segment{}, false, &CorruptError{File: path, Offset: 0, LSN: first,
			Reason: fmt.Sprintf("header says first lsn %d, file name says %d", hfirst, first)}
	}
	// The chain is known from the previous segment, or from the start of
	// the log; the oldest segment left after truncation has lost its
	// predecessor.
	chained := l.chainKnown || first == 1
	res, err := scanSegment(f, size, first, l.lastCRC, chained, l.opts.MaxFrameSize, l.noteRecovered)
	if err != nil {
		return segment{}, false, fmt.Errorf("wal: recover %s: %w", path, err)
	}
	if res.bad != "" {
		if !isLast || res.laterSynced {
			return segment{}, false, &CorruptError{File: path, Offset: res.end, LSN: res.lastLSN + 1, Reason: res.bad}
		}
		l.opts.Logger.Infof("wal: cutting torn tail of %s at offset %d (lsn %d, %d bytes): %s",
			path, res.end, res.lastLSN+1, size-res.end, res.bad)
		if err := l.cutSegment(f, path, res.end); err != nil {
			return segment{}, false, err
		}
		l.stats.tornTails.Add(1)
	}
	if res.frames > 0 {
		l.lastCRC, l.chainKnown = res.lastCRC, true
		l.epoch.Store(res.lastEp)
	}
	return segment{first: first, last: res.lastLSN, size: res.end, path: path}, false, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// cutSegment replaces path by its first n bytes. vfs has no Truncate, so the
// prefix is copied to a temporary file that is synced and renamed over it.
func (l *Log) cutSegment(src vfs.File, path string, n int64) error {
	tmp := path + ".tmp"
	out, err := l.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("wal: cut %s: %w", path, err)
	}
	buf := make([]byte, min(n, 1<<20))
	for off := int64(0); off < n; {
		k := min(int64(len(buf)), n-off)
		if _, err := src.ReadAt(buf[:k], off); err != nil && !errors.Is(err, io.EOF) {
			out.Close()
			return fmt.Errorf("wal: cut %s: read: %w", path, err)
		}
		if _, err := out.Write(buf[:k]); err != nil {
			out.Close()
			return fmt.Errorf("wal: cut %s: write: %w", path, err)
		}
		off += k
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("wal: cut %s: sync: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("wal: cut %s: %w", path, err)
	}
	if err := l.fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("wal: cut %s: rename: %w", path, err)
	}
	return l.syncDir()
}
