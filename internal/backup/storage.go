package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Storage holds backup files under slash-separated names: a directory
// today, an object store later. Implementations are safe for concurrent
// use.
type Storage interface {
	// Create starts writing name. Nothing is visible under name until the
	// writer's Commit returns nil; Abort drops what was written.
	Create(ctx context.Context, name string) (FileWriter, error)
	// Open reads name. A missing name gives an error wrapping
	// os.ErrNotExist.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the names of the entries directly under dir ("" for the
	// top), sorted, without the dir prefix. A missing dir lists as empty.
	List(ctx context.Context, dir string) ([]string, error)
	// RemoveAll removes name and everything under it. A missing name is
	// not an error.
	RemoveAll(ctx context.Context, name string) error
	// String describes the storage for error messages.
	String() string
}

// FileWriter is a file being written to a Storage.
type FileWriter interface {
	io.Writer
	// Commit makes the file durable and visible under its name, atomically.
	Commit() error
	// Abort discards the file. It is safe after Commit (and then does
	// nothing).
	Abort()
}

// Dir is a Storage on a directory of a vfs.FS.
type Dir struct {
	fs   vfs.FS
	root string
}

var _ Storage = (*Dir)(nil)

// NewDir returns the Storage for directory root on fs (vfs.Default if nil).
// The directory is created on first write.
func NewDir(fs vfs.FS, root string) *Dir {
	if fs == nil {
		fs = vfs.Default
	}
	return &Dir{fs: fs, root: root}
}

// tmpSuffix marks a file still being written; List hides it.
const tmpSuffix = ".tmp"

func (d *Dir) path(name string) string {
	p := d.root
	for _, part := range strings.Split(path.Clean(name), "/") {
		if part == "" || part == "." {
			continue
		}
		p = d.fs.PathJoin(p, part)
	}
	return p
}

func (d *Dir) String() string { return d.root }

// Create implements Storage.
func (d *Dir) Create(ctx context.Context, name string) (FileWriter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := d.path(name)
	if err := mkdirAllSynced(d.fs, d.fs.PathDir(p)); err != nil {
		return nil, err
	}
	f, err := d.fs.Create(p+tmpSuffix, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("backup: create %s: %w", p, err)
	}
	return &dirWriter{d: d, f: f, path: p}, nil
}

type dirWriter struct {
	d    *Dir
	f    vfs.File
	path string
	done bool
}

func (w *dirWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		return n, fmt.Errorf("backup: write %s: %w", w.path, err)
	}
	return n, nil
}

func (w *dirWriter) Commit() error {
	if w.done {
		return fmt.Errorf("backup: %s already finished", w.path)
	}
	w.done = true
	if err := w.f.Sync(); err != nil {
		_ = w.f.Close()
		return fmt.Errorf("backup: sync %s: %w", w.path, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("backup: close %s: %w", w.path, err)
	}
	if err := w.d.fs.Rename(w.path+tmpSuffix, w.path); err != nil {
		return fmt.Errorf("backup: rename %s: %w", w.path, err)
	}
	return syncDir(w.d.fs, w.d.fs.PathDir(w.path))
}

func (w *dirWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	_ = w.f.Close()
	_ = w.d.fs.Remove(w.path + tmpSuffix)
}

// Open implements Storage.
func (d *Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := d.path(name)
	f, err := d.fs.Open(p)
	if err != nil {
		return nil, fmt.Errorf("backup: open %s: %w", p, err)
	}
	return f, nil
}

// List implements Storage.
func (d *Dir) List(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := d.path(dir)
	names, err := d.fs.List(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", p, err)
	}
	out := names[:0]
	for _, n := range names {
		if !strings.HasSuffix(n, tmpSuffix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// RemoveAll implements Storage.
func (d *Dir) RemoveAll(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := d.path(name)
	if err := d.fs.RemoveAll(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: remove %s: %w", p, err)
	}
	if _, err := d.fs.Stat(d.fs.PathDir(p)); err != nil {
		return nil
	}
	return syncDir(d.fs, d.fs.PathDir(p))
}

func syncDir(fs vfs.FS, dir string) error {
	f, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("backup: open dir %s: %w", dir, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("backup: sync dir %s: %w", dir, err)
	}
	return f.Close()
}

// mkdirAllSynced is MkdirAll that also syncs the parent of each directory
// it creates, so that a crash cannot lose a directory whose files were
// synced.
func mkdirAllSynced(fs vfs.FS, dir string) error {
	if _, err := fs.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: stat %s: %w", dir, err)
	}
	parent := fs.PathDir(dir)
	if parent != dir {
		if err := mkdirAllSynced(fs, parent); err != nil {
			return err
		}
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("backup: create %s: %w", dir, err)
	}
	if parent == dir {
		return nil
	}
	return syncDir(fs, parent)
}
