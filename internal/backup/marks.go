package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// MarkListName is the file, in a group's directory, that lists the group's
// marks. It is a JSON document rewritten whole (through a temporary file
// and a rename) on each change: marks are rare, and a rewrite is the
// simplest crash-safe update on every vfs.FS.
const MarkListName = "MARKS"

const markListFormat = 1

// markListDoc is MARKS's content.
type markListDoc struct {
	Format int    `json:"format"`
	Marks  []Mark `json:"marks"`
	// Pending is a mark being committed: its name and the LSN it cannot
	// be below. If the process dies before the mark is recorded, the next
	// open finds it in the log (which the log's pin kept) from there.
	Pending *pendingMark `json:"pending,omitempty"`
}

type pendingMark struct {
	Name string `json:"name"`
	From uint64 `json:"from"`
}

// MarkList is a group's list of marks. Marks live in the log, which is
// truncated; the list keeps them, so they can be listed (and restored to,
// from backups) after their frames are gone. It is safe for concurrent
// use.
type MarkList struct {
	fs   vfs.FS
	path string

	// mu guards doc and serialises writes of the file.
	mu  sync.Mutex
	doc markListDoc
}

// OpenMarkList reads the list at path (a missing file is an empty list)
// and, if a mark was being committed when the group last stopped, looks
// for it in l.
func OpenMarkList(fs vfs.FS, path string, l *wal.Log) (*MarkList, error) {
	ml := &MarkList{fs: fs, path: path, doc: markListDoc{Format: markListFormat}}
	f, err := fs.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("backup: open %s: %w", path, err)
	default:
		data, err := io.ReadAll(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("backup: read %s: %w", path, err)
		}
		if err := json.Unmarshal(data, &ml.doc); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
		}
		if ml.doc.Format > markListFormat {
			return nil, fmt.Errorf("backup: %s has format %d, this build reads up to %d", path, ml.doc.Format, markListFormat)
		}
	}
	if p := ml.doc.Pending; p != nil && l != nil {
		if err := ml.recoverPending(l, p); err != nil {
			return nil, err
		}
	}
	return ml, nil
}

func (ml *MarkList) recoverPending(l *wal.Log, p *pendingMark) error {
	from := max(p.From, l.FirstLSN())
	r, err := l.NewReader(from)
	if err != nil {
		return fmt.Errorf("backup: recover pending mark %q: %w", p.Name, err)
	}
	defer r.Close()
	for {
		f, err := r.Read()
		if errors.Is(err, io.EOF) {
			break // the mark never committed
		}
		if err != nil {
			return fmt.Errorf("backup: recover pending mark %q: %w", p.Name, err)
		}
		if f.Type == wal.TypeMark && string(f.Payload) == p.Name {
			ml.doc.Marks = append(ml.doc.Marks, Mark{Name: p.Name, LSN: f.LSN, Time: f.Time})
			break
		}
	}
	ml.doc.Pending = nil
	return ml.writeLocked()
}

// Begin records that a mark named name is about to be committed at an LSN
// of at least from.
func (ml *MarkList) Begin(name string, from uint64) error {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	ml.doc.Pending = &pendingMark{Name: name, From: from}
	return ml.writeLocked()
}

// Done records a committed mark (and clears the pending one), then drops
// marks older than keepSince except the newest. A zero keepSince keeps
// all.
func (ml *MarkList) Done(m Mark, keepSince time.Time) error {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	ml.doc.Pending = nil
	ml.doc.Marks = append(ml.doc.Marks, m)
	ml.pruneLocked(keepSince)
	return ml.writeLocked()
}

// Abandon clears the pending mark after a commit that failed outright.
func (ml *MarkList) Abandon() error {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	ml.doc.Pending = nil
	return ml.writeLocked()
}

// Add records marks known from elsewhere (a restore), keeping the list in
// LSN order without duplicates.
func (ml *MarkList) Add(marks ...Mark) error {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	for _, m := range marks {
		if !slices.ContainsFunc(ml.doc.Marks, func(x Mark) bool { return x.LSN == m.LSN }) {
			ml.doc.Marks = append(ml.doc.Marks, m)
		}
	}
	slices.SortFunc(ml.doc.Marks, func(a, b Mark) int { return cmpU64(a.LSN, b.LSN) })
	return ml.writeLocked()
}

// Prune drops marks older than before, except the newest, and returns how
// many it dropped.
func (ml *MarkList) Prune(before time.Time) (int, error) {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	n := ml.pruneLocked(before)
	if n == 0 {
		return 0, nil
	}
	return n, ml.writeLocked()
}

func (ml *MarkList) pruneLocked(before time.Time) int {
	if before.IsZero() || len(ml.doc.Marks) < 2 {
		return 0
	}
	cut := before.UnixNano()
	keep := ml.doc.Marks[:0]
	last := len(ml.doc.Marks) - 1
	for i, m := range ml.doc.Marks {
		if m.Time >= cut || i == last {
			keep = append(keep, m)
		}
	}
	n := len(ml.doc.Marks) - len(keep)
	ml.doc.Marks = keep
	return n
}

// List returns the marks, oldest first. The slice is the caller's.
func (ml *MarkList) List() []Mark {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	return slices.Clone(ml.doc.Marks)
}

func (ml *MarkList) writeLocked() error {
	data, err := json.Marshal(&ml.doc)
	if err != nil {
		return fmt.Errorf("backup: encode marks: %w", err)
	}
	return WriteFileAtomic(ml.fs, ml.path, append(data, '\n'))
}

// WriteFileAtomic replaces path with data: written to a temporary file,
// synced, renamed over path, and the directory synced.
func WriteFileAtomic(fs vfs.FS, path string, data []byte) error {
	tmp := path + ".tmp"
	if err := writeSynced(fs, tmp, data); err != nil {
		return err
	}
	if err := fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("backup: rename %s: %w", tmp, err)
	}
	return syncDir(fs, fs.PathDir(path))
}

// WriteMarkList writes a mark list holding marks to path, for a restored
// group.
func WriteMarkList(fs vfs.FS, path string, marks []Mark) error {
	doc := markListDoc{Format: markListFormat, Marks: slices.Clone(marks)}
	slices.SortFunc(doc.Marks, func(a, b Mark) int { return cmpU64(a.LSN, b.LSN) })
	data, err := json.Marshal(&doc)
	if err != nil {
		return fmt.Errorf("backup: encode marks: %w", err)
	}
	return WriteFileAtomic(fs, path, append(data, '\n'))
}
