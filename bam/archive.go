package bam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Archive is where Maintain moves completed instances that have left the
// online window: BizTalk's BAMArchive database. It is outside the group's
// log, as BAMArchive is outside BizTalk's backup job.
type Archive interface {
	// Put writes one partition of an activity durably before Maintain
	// deletes it from the database. After a crash Maintain puts the same
	// partition again: Put must replace, not add.
	Put(ctx context.Context, activity string, partition time.Time, instances []*Instance) error
	// Scan calls fn for each archived instance of activity, stopping at
	// fn's first error and returning it.
	Scan(ctx context.Context, activity string, fn func(*Instance) error) error
}

// FileArchive is an Archive of files: one per activity partition, written
// to a temporary name, synced and renamed into place. It is safe for
// concurrent use.
type FileArchive struct {
	fs  vfs.FS
	dir string
	mu  sync.Mutex // serialises writers of one archive
}

var _ Archive = (*FileArchive)(nil)

// NewFileArchive returns an archive in dir on fs (vfs.Default for the
// operating system's files), creating dir.
func NewFileArchive(fs vfs.FS, dir string) (*FileArchive, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bam: archive: %w", err)
	}
	return &FileArchive{fs: fs, dir: dir}, nil
}

const archiveVersion = 1

// fileName is the partition's file: the activity (escaped), then the
// partition start as Unix seconds, so names sort by time.
func (a *FileArchive) fileName(activity string, partition time.Time) string {
	return fmt.Sprintf("%s.%020d.bam", escapeName(activity), partition.Unix()+1<<40)
}

func escapeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "~%x~", r)
		}
	}
	return b.String()
}

// Put implements Archive.
func (a *FileArchive) Put(ctx context.Context, activity string, partition time.Time, instances []*Instance) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := codec.NewEncoder(nil)
	e.Version(archiveVersion)
	e.String(activity)
	e.Uvarint(uint64(len(instances)))
	for _, p := range instances {
		e.Bytes(encodeInstance(nil, p.private()))
	}
	name := a.fs.PathJoin(a.dir, a.fileName(activity, partition))
	tmp := name + ".tmp"
	f, err := a.fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("bam: archive: %w", err)
	}
	if _, err := f.Write(e.Encoded()); err != nil {
		_ = f.Close()
		return fmt.Errorf("bam: archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("bam: archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bam: archive: %w", err)
	}
	if err := a.fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("bam: archive: %w", err)
	}
	d, err := a.fs.OpenDir(a.dir)
	if err != nil {
		return fmt.Errorf("bam: archive: %w", err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("bam: archive: %w", err)
	}
	return d.Close()
}

// Scan implements Archive.
func (a *FileArchive) Scan(ctx context.Context, activity string, fn func(*Instance) error) error {
	names, err := a.fs.List(a.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bam: archive: %w", err)
	}
	prefix := escapeName(activity) + "."
	slices.Sort(names)
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || !strings.HasSuffix(n, ".bam") || strings.Count(n[len(prefix):], ".") != 1 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		insts, err := a.read(a.fs.PathJoin(a.dir, n), activity)
		if err != nil {
			return err
		}
		for _, p := range insts {
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *FileArchive) read(path, activity string) ([]*Instance, error) {
	f, err := a.fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bam: archive: %w", err)
	}
	b, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("bam: archive: %w", err)
	}
	return decodeArchive(b, activity)
}

func decodeArchive(b []byte, activity string) ([]*Instance, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(archiveVersion); err != nil {
		return nil, corruptf("archive file: %v", err)
	}
	if got := d.Text(); got != activity && d.Err() == nil {
		return nil, corruptf("archive file of activity %q read for %q", got, activity)
	}
	n := d.Uvarint()
	if n > maxItems {
		return nil, corruptf("archive file: %d instances", n)
	}
	var out []*Instance
	for range n {
		if d.Err() != nil {
			break
		}
		in, err := decodeInstance(d.Bytes())
		if err != nil {
			return nil, err
		}
		out = append(out, in.public(activity, Archived))
	}
	if err := d.Finish(); err != nil {
		return nil, corruptf("archive file: %v", err)
	}
	return out, nil
}
