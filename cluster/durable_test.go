package cluster

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// syncGateFS holds every sync of the log's files (paths with a "wal"
// directory) while held, as a slow disk would: frames are written but not
// durable until it is released.
type syncGateFS struct {
	vfs.FS
	mu   sync.Mutex
	held chan struct{} // non-nil while held; closed on release
}

func (f *syncGateFS) hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held == nil {
		f.held = make(chan struct{})
	}
}

func (f *syncGateFS) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held != nil {
		close(f.held)
		f.held = nil
	}
}

func (f *syncGateFS) wait() {
	f.mu.Lock()
	ch := f.held
	f.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (f *syncGateFS) wrap(name string, file vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.Contains(name, "wal") {
		return file, err
	}
	return gatedFile{File: file, fs: f}, nil
}

func (f *syncGateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	file, err := f.FS.Create(name, c)
	return f.wrap(name, file, err)
}

func (f *syncGateFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	file, err := f.FS.Open(name, opts...)
	return f.wrap(name, file, err)
}

func (f *syncGateFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	file, err := f.FS.OpenReadWrite(name, c, opts...)
	return f.wrap(name, file, err)
}

func (f *syncGateFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	file, err := f.FS.ReuseForWrite(oldname, newname, c)
	return f.wrap(newname, file, err)
}

type gatedFile struct {
	vfs.File
	fs *syncGateFS
}

func (g gatedFile) Sync() error {
	g.fs.wait()
	return g.File.Sync()
}

func (g gatedFile) SyncData() error {
	g.fs.wait()
	return g.File.SyncData()
}

func (g gatedFile) SyncTo(length int64) (bool, error) {
	g.fs.wait()
	return g.File.SyncTo(length)
}

// TestNode_CommitWaitsForPassiveFsync: in sync mode a commit is
// acknowledged only once the passive has its frame durably. The passive's
// disk stalls its fsyncs; it receives the frame but cannot make it
// durable, and the commit must wait (neither the passive acknowledging
// what it only received, nor the active settling for its own fsync).
func TestNode_CommitWaitsForPassiveFsync(t *testing.T) {
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	mem := vfs.NewCrashableMem()
	gfs := &syncGateFS{FS: mem}
	b := openTestNode(t, w, "b", mem, Sync, func(o *Options) { o.Group.FS = gfs })
	waitInSync(t, a)
	_, err := write(context.Background(), a.Node, "k", 1)
	require.NoError(t, err)
	gfs.hold()
	defer gfs.release()
	done := make(chan error, 1)
	go func() {
		_, err := write(context.Background(), a.Node, "k", 2)
		done <- err
	}()
	// The passive has received the frame (the active's log holds it and
	// the passive has heard of it) but cannot sync it.
	waitFor(t, 5*time.Second, "frame received by the passive", func() bool {
		d := a.wlog().DurableLSN()
		b.mu.Lock()
		got := b.fol.activeLSN
		b.mu.Unlock()
		return d > 0 && got >= d
	})
	select {
	case err := <-done:
		t.Fatalf("commit returned (%v) while the passive could not make it durable", err)
	case <-time.After(300 * time.Millisecond):
	}
	gfs.release()
	require.NoError(t, <-done)
	waitCaughtUp(t, a, b)
	requireSameDigest(t, a, b)
}
