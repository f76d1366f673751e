package biztier

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/internal/backup"
	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// formatVersion is the group directory layout this build writes and reads.
const formatVersion = 1

// identityFile names the file that makes a directory a group: its format
// version and the group's identity.
const identityFile = "BIZTIER"

// Group is one BizTalk group's persistence tier: every database on one
// transaction log. It is safe for concurrent use.
type Group struct {
	dir  string
	opts Options
	id   uuid.UUID
	lock io.Closer
	set  *store.Set

	// markMu serialises Mark; marks lists them (see marks.go). backupMu
	// serialises full backups (see backup.go).
	markMu   sync.Mutex
	marks    *backup.MarkList
	backupMu sync.Mutex

	typed typedStores

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
}

// Open opens the group in dir, creating it if dir is missing or empty, and
// recovers it: the log is checked and each database replays what it has not
// yet applied. It fails with ErrLocked if the group is already open,
// ErrNotGroup if dir holds something else, ErrFormatTooNew for a newer
// layout, and an error wrapping ErrCorruption for a damaged log.
func Open(dir string, opts *Options) (*Group, error) {
	return open(dir, opts, false)
}

// open is Open; deferReplay leaves the log's tail unapplied, for a node of
// a pair (clusterhooks.OpenReplica).
func open(dir string, opts *Options, deferReplay bool) (*Group, error) {
	o := opts.withDefaults(dir)
	fs := o.FS
	// The group directory's own entry, and that of every directory made
	// above it, must be durable too, or a crash can lose the whole group
	// after commits were acknowledged.
	if err := mkdirAllSynced(fs, dir); err != nil {
		return nil, err
	}
	lock, err := fs.Lock(fs.PathJoin(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
	}
	g := &Group{dir: dir, opts: o, lock: lock}
	if g.id, err = readOrCreateIdentity(fs, dir, o.Now()); err != nil {
		_ = lock.Close()
		return nil, err
	}
	g.set, err = store.Open(&store.Options{
		FS:                 fs,
		Durability:         o.Durability,
		Logger:             o.Logger,
		WALDir:             o.Dirs.Log,
		Dirs:               o.Dirs.byID(),
		MemTableSize:       o.MemTableSize,
		CheckpointInterval: o.CheckpointInterval,
		SegmentSize:        o.SegmentSize,
		MaxFrameSize:       o.MaxFrameSize,
		Now:                o.Now,
		DeferReplay:        deferReplay,
	})
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("biztier: open group %s: %w", dir, err)
	}
	if err := g.openMarks(); err != nil {
		_ = g.set.Close()
		_ = lock.Close()
		return nil, fmt.Errorf("biztier: open group %s: %w", dir, err)
	}
	st := g.set.Stats()
	g.events().Info("biztier: group opened", "dir", dir, "group", g.id, "lsn", st.Log.DurableLSN,
		"replayed_frames", st.ReplayFrames, "replay_time", st.ReplayTime)
	return g, nil
}

// OpenInMemory opens a group on an in-memory filesystem with NoSync
// durability: the same code as Open, for tests that want BizTalk's
// behaviour without a disk. Everything is gone after Close.
func OpenInMemory() (*Group, error) {
	return Open("biztier", &Options{
		FS:                 vfs.NewMem(),
		Durability:         NoSync,
		MemTableSize:       4 << 20,
		CheckpointInterval: -1,
	})
}

func (o *Options) withDefaults(dir string) Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.FS == nil {
		c.FS = vfs.Default
	}
	switch {
	case c.Clock != nil:
		c.Now = c.Clock.Now
	case c.Now != nil:
		c.Clock = nowClock{now: c.Now}
	default:
		c.Clock, c.Now = messagebox.SystemClock{}, time.Now
	}
	def := func(p *string, name string) {
		if *p == "" {
			*p = c.FS.PathJoin(dir, name)
		}
	}
	def(&c.Dirs.Log, "wal")
	def(&c.Dirs.MessageBox, MessageBox.String())
	def(&c.Dirs.Tracking, Tracking.String())
	def(&c.Dirs.Management, Management.String())
	def(&c.Dirs.SSO, SSO.String())
	def(&c.Dirs.BAM, BAM.String())
	def(&c.Dirs.Rules, Rules.String())
	return c
}

func (d Dirs) byID() map[store.ID]string {
	return map[store.ID]string{
		store.MessageBox: d.MessageBox, store.Tracking: d.Tracking, store.Management: d.Management,
		store.SSO: d.SSO, store.BAM: d.BAM, store.Rules: d.Rules,
	}
}

// readOrCreateIdentity reads dir's identity file, or writes one if dir is
// a new group (empty but for the lock file).
func readOrCreateIdentity(fs vfs.FS, dir string, now time.Time) (uuid.UUID, error) {
	path := fs.PathJoin(dir, identityFile)
	f, err := fs.Open(path)
	if err == nil {
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return uuid.Nil, fmt.Errorf("biztier: read %s: %w", path, err)
		}
		return parseIdentity(path, data)
	}
	if !oserror(err) {
		return uuid.Nil, fmt.Errorf("biztier: open %s: %w", path, err)
	}
	names, err := fs.List(dir)
	if err != nil {
		return uuid.Nil, fmt.Errorf("biztier: list %s: %w", dir, err)
	}
	for _, n := range names {
		if n != "LOCK" && n != identityFile+".tmp" {
			return uuid.Nil, fmt.Errorf("%w: %s holds %q but no %s file", ErrNotGroup, dir, n, identityFile)
		}
	}
	id := uuid.New()
	data := fmt.Appendf(nil, "biztier group\nformat %d\nid %s\ncreated %s\n", formatVersion, id, now.UTC().Format(time.RFC3339))
	tmp := path + ".tmp"
	out, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return uuid.Nil, fmt.Errorf("biztier: create %s: %w", tmp, err)
	}
	if _, err := out.Write(data); err != nil {
		out.Close()
		return uuid.Nil, fmt.Errorf("biztier: write %s: %w", tmp, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return uuid.Nil, fmt.Errorf("biztier: sync %s: %w", tmp, err)
	}
	if err := out.Close(); err != nil {
		return uuid.Nil, fmt.Errorf("biztier: close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		return uuid.Nil, fmt.Errorf("biztier: rename %s: %w", tmp, err)
	}
	d, err := fs.OpenDir(dir)
	if err != nil {
		return uuid.Nil, fmt.Errorf("biztier: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return uuid.Nil, fmt.Errorf("biztier: sync dir %s: %w", dir, err)
	}
	return id, nil
}

func oserror(err error) bool { return errors.Is(err, os.ErrNotExist) }

func parseIdentity(path string, data []byte) (uuid.UUID, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	var (
		format int
		id     uuid.UUID
		magic  bool
	)
	for sc.Scan() {
		line := sc.Text()
		k, v, _ := strings.Cut(line, " ")
		switch {
		case line == "biztier group":
			magic = true
		case k == "format":
			n, err := strconv.Atoi(v)
			if err != nil {
				return uuid.Nil, fmt.Errorf("%w: %s: bad format line %q", ErrNotGroup, path, line)
			}
			format = n
		case k == "id":
			u, err := uuid.Parse(v)
			if err != nil {
				return uuid.Nil, fmt.Errorf("%w: %s: bad id line %q", ErrNotGroup, path, line)
			}
			id = u
		}
	}
	switch {
	case !magic:
		return uuid.Nil, fmt.Errorf("%w: %s is not a biztier identity file", ErrNotGroup, path)
	case format > formatVersion:
		return uuid.Nil, fmt.Errorf("%w: %s has format %d, this build reads up to %d", ErrFormatTooNew, path, format, formatVersion)
	case format < 1 || id == uuid.Nil:
		return uuid.Nil, fmt.Errorf("%w: %s lacks a format or id line", ErrNotGroup, path)
	}
	return id, nil
}

// ID is the group's identity, fixed when the group was created.
func (g *Group) ID() uuid.UUID { return g.id }

// Dir is the group's directory.
func (g *Group) Dir() string { return g.dir }

// Mark commits a named mark frame (BizTalk's marked transaction) and
// returns its LSN: every database is consistent at that point of the log.
// The mark is recorded in the group's mark list (see Marks), which keeps
// it after the log is truncated.
func (g *Group) Mark(ctx context.Context, name string) (uint64, error) {
	ctx = store.Context(ctx)
	if g.closed.Load() {
		return 0, ErrClosed
	}
	return g.mark(ctx, name)
}

// Checkpoint flushes every database and truncates the log below what they
// all hold, as the background checkpointer does.
func (g *Group) Checkpoint(ctx context.Context) error {
	ctx = store.Context(ctx)
	if g.closed.Load() {
		return ErrClosed
	}
	return g.set.Checkpoint(ctx)
}

// events is the group's operational log; it discards when Events is not
// set.
func (g *Group) events() *slog.Logger {
	if g.opts.Events != nil {
		return g.opts.Events
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)

// Close lets queued commits finish, checkpoints and closes every database
// and the log, and releases the directory. Calls after Close fail with
// ErrClosed. Close is safe to call twice.
func (g *Group) Close() error {
	g.closeOnce.Do(func() {
		g.closed.Store(true)
		g.closeErr = errors.Join(g.closeTyped(), g.set.Close(), g.lock.Close())
		if g.closeErr != nil {
			g.events().Warn("biztier: group closed with an error", "dir", g.dir, "err", g.closeErr)
		} else {
			g.events().Info("biztier: group closed", "dir", g.dir)
		}
	})
	return g.closeErr
}

// Stats is a snapshot of the group's counters.
type Stats struct {
	// LSN is the last durable LSN; FirstLSN the oldest still in the log.
	LSN, FirstLSN uint64
	// LogBytes and LogSegments describe the log on disk.
	LogBytes    int64
	LogSegments int
	// Commits (frames) and Fsyncs since Open; FramesPerFsync is how well
	// group commit is batching.
	Commits, Fsyncs uint64
	FramesPerFsync  float64
	// CommitP50 and CommitP99 are commit latencies (bucket upper bounds).
	CommitP50, CommitP99 time.Duration
	// FsyncLatency and CommitLatency are the distributions of the log's
	// fdatasync and commit latencies, in seconds; GroupFrames that of the
	// frames each group commit wrote. They are cumulative, as Prometheus
	// histograms are.
	FsyncLatency, CommitLatency, GroupFrames wal.Histogram
	// Applied is each database's applied LSN.
	Applied map[Database]uint64
	// ReplayFrames and ReplayTime describe Open's recovery.
	ReplayFrames uint64
	ReplayTime   time.Duration
}

// Stats returns the group's counters.
func (g *Group) Stats() Stats {
	s := g.set.Stats()
	st := Stats{
		LSN:           s.Log.DurableLSN,
		FirstLSN:      s.Log.FirstLSN,
		LogBytes:      s.Log.Bytes,
		LogSegments:   s.Log.Segments,
		Commits:       s.Log.Frames,
		Fsyncs:        s.Log.Fsyncs,
		CommitP50:     s.Log.CommitP50,
		CommitP99:     s.Log.CommitP99,
		FsyncLatency:  s.Log.SyncLatency,
		CommitLatency: s.Log.CommitLatency,
		GroupFrames:   s.Log.GroupFrames,
		Applied:       appliedOf(s.Applied),
		ReplayFrames:  s.ReplayFrames,
		ReplayTime:    s.ReplayTime,
	}
	if s.Log.Fsyncs > 0 {
		st.FramesPerFsync = float64(s.Log.Frames) / float64(s.Log.Fsyncs)
	}
	return st
}

func userKey(key []byte) []byte {
	return append(keys.AppendTable(make([]byte, 0, len(key)+1), keys.TableUser), key...)
}

// Get returns a copy of key's value in db's extension keyspace; ok is false
// if it is absent.
func (g *Group) Get(db Database, key []byte) (value []byte, ok bool, err error) {
	if g.closed.Load() {
		return nil, false, ErrClosed
	}
	if !db.valid() {
		return nil, false, fmt.Errorf("%w: %d", ErrUnknownDatabase, db)
	}
	v, closer, err := g.set.DB(store.ID(db)).Get(userKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("biztier: get from %s: %w", db, err)
	}
	defer closer.Close()
	return append([]byte(nil), v...), true, nil
}
