package wal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// pending is one commit waiting in the group-commit queue.
type pending struct {
	f     Frame
	start time.Time
	done  chan error
	// sync forces a sync of this frame's group even under NoSync.
	sync bool
	// repl marks frames appended by a replica and the log's own
	// replication operations (see replicate.go).
	repl replItem
	// refused is set by the committer for a frame it did not write because
	// it was invalid where it fell in the queue (an epoch frame that does
	// not move the epoch forward): only this frame's caller fails.
	refused error
}

// group is a set of frames written and synced together.
type group struct {
	items  []*pending
	frames []*Frame
	// barrier, if set, makes the applier close it instead of applying: the
	// committer's way to wait until every earlier group is done.
	barrier chan struct{}
}

// Log is the group's transaction log. It is safe for concurrent use.
//
// One committer goroutine writes every frame waiting in the queue, syncs
// once, and hands the group to an applier goroutine, which calls
// Options.Apply and then acknowledges each commit. Readers follow the
// durable end of the log without polling.
type Log struct {
	opts Options
	fs   vfs.FS
	dir  string
	lock io.Closer

	// mu guards queue, closing, failErr, segs and pins, and is the lock
	// behind cond (which signals the committer).
	mu      sync.Mutex
	cond    sync.Cond
	queue   []*pending
	closing bool
	failErr error
	segs    segList
	pins    map[*Pin]struct{}

	// truncMu serialises Truncate calls, so that one that fails can put the
	// segments it did not remove back at the front of segs.
	truncMu sync.Mutex

	// Committer-owned: only the committer goroutine (or Open, before it
	// starts) touches these.
	active     vfs.File
	activeSize int64
	nextLSN    uint64
	lastCRC    uint32
	chainKnown bool // lastCRC is the CRC of frame nextLSN-1 (recovery)
	writeBuf   []byte
	// fsynced is the highest LSN this log has fsynced (the whole of every
	// sealed segment, and what the last SyncData of the active one covered).
	// Under NoSync it moves only on forced syncs. It is what sync marks say,
	// on a follower as on a leader: never the durable LSN of another node.
	fsynced uint64
	// marked is the LSN the active segment's last sync mark said was synced
	// (the LSN before the segment's first while it has none).
	marked uint64
	// recovered holds the segments recovery found, until Open makes the
	// segment list from them and the new active segment.
	recovered []segment

	// epoch is written by the committer and read by anyone.
	epoch atomic.Uint64

	durable atomic.Uint64 // highest LSN written (and synced under Sync)
	applied atomic.Uint64 // highest LSN applied and acknowledged

	// notifyMu guards notifyCh, which is closed and replaced each time the
	// durable LSN advances, waking readers blocked in Next.
	notifyMu sync.Mutex
	notifyCh chan struct{}

	// closeMu serialises Close calls, so that a second one, concurrent or
	// later, waits for the first and closes nothing twice.
	closeMu  sync.Mutex
	closedCh chan struct{} // closed when Close has finished
	applyCh  chan *group
	wg       sync.WaitGroup

	stats stats

	// repl is the state replication adds (see replicate.go).
	repl replState
}

// Open opens the log in dir, creating it if needed, and recovers it: every
// segment is read and checked; a torn final frame is cut off (and logged);
// any other damage fails Open with an error wrapping ErrCorrupt that names
// the file and offset. New frames always go to a new segment.
func Open(dir string, opts *Options) (*Log, error) {
	o := opts.withDefaults()
	l := &Log{
		opts:     o,
		fs:       o.FS,
		dir:      dir,
		pins:     make(map[*Pin]struct{}),
		notifyCh: make(chan struct{}),
		closedCh: make(chan struct{}),
		applyCh:  make(chan *group, 4),
	}
	l.cond.L = &l.mu
	if err := l.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", dir, err)
	}
	if err := syncDir(l.fs, l.fs.PathDir(dir)); err != nil {
		return nil, err
	}
	lock, err := l.fs.Lock(l.fs.PathJoin(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("wal: lock %s (is another process using this log?): %w", dir, err)
	}
	l.lock = lock
	if err := l.recover(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	f, active, err := l.createSegment()
	if err != nil {
		_ = lock.Close()
		return nil, err
	}
	l.active, l.activeSize = f, active.size
	l.segs = newSegList(l.recovered, active)
	l.recovered = nil
	// Recovery read the frames back from the files; those of a NoSync log
	// may not have reached the disk yet, but they sit in older segments, and
	// a mark's claim matters only for frames in its own segment.
	l.fsynced = l.nextLSN - 1
	l.wg.Add(2)
	go l.runCommitter()
	go l.runApplier()
	return l, nil
}

func (l *Log) syncDir() error { return syncDir(l.fs, l.dir) }

// syncDir makes a directory's entries durable.
func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("wal: open dir %s: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("wal: sync dir %s: %w", dir, err)
	}
	return d.Close()
}

// createSegment creates the file of a new active segment beginning at
// nextLSN, with its header and directory entry synced so recovery always
// finds it whole. The caller installs it as l.active and in the list.
func (l *Log) createSegment() (vfs.File, segment, error) {
	path := l.fs.PathJoin(l.dir, segmentName(l.nextLSN))
	f, err := l.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, segment{}, fmt.Errorf("wal: create segment %s: %w", path, err)
	}
	// Reserve the segment's blocks up front without changing its size
	// (fallocate with FALLOC_FL_KEEP_SIZE on Linux, as Pebble does for its
	// WAL), so that a commit's fdatasync need not allocate blocks as the
	// file grows. Advisory: a failure only loses that saving.
	_ = f.Preallocate(0, l.opts.SegmentSize)
	if _, err := f.Write(encodeSegHeader(l.nextLSN)); err != nil {
		f.Close()
		return nil, segment{}, fmt.Errorf("wal: write segment header %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, segment{}, fmt.Errorf("wal: sync segment %s: %w", path, err)
	}
	if err := l.syncDir(); err != nil {
		f.Close()
		return nil, segment{}, err
	}
	l.marked = l.nextLSN - 1
	return f, segment{first: l.nextLSN, last: l.nextLSN - 1, size: segHeaderSize, path: path}, nil
}

// Commit appends one frame of type t with payload and waits until it is
// durable (per Options.Durability) and applied. It returns the frame's LSN.
// ctx bounds only the wait to enter the queue: once queued, the outcome is
// awaited, so that a caller never leaves behind a commit it does not know
// about. Commit does not keep payload after it returns.
func (l *Log) Commit(ctx context.Context, t Type, payload []byte) (uint64, error) {
	if !t.valid() || t == TypeEpoch {
		return 0, fmt.Errorf("wal: commit of frame type %v not allowed", t)
	}
	return l.commit(ctx, Frame{Type: t, Payload: payload})
}

// Mark commits a mark frame named name and returns its LSN.
func (l *Log) Mark(ctx context.Context, name string) (uint64, error) {
	return l.commit(ctx, Frame{Type: TypeMark, Payload: []byte(name)})
}

// BeginEpoch commits an epoch frame that starts epoch; every later frame
// carries it. epoch must be above the current one when the frame is
// written: otherwise nothing is written, BeginEpoch fails with an error
// wrapping ErrStaleEpoch, and the log carries on.
func (l *Log) BeginEpoch(ctx context.Context, epoch uint64) (uint64, error) {
	return l.commit(ctx, Frame{Type: TypeEpoch, Epoch: epoch})
}

func (l *Log) commit(ctx context.Context, f Frame) (uint64, error) {
	if len(f.Payload) > l.opts.MaxFrameSize {
		return 0, fmt.Errorf("%w: payload of %d bytes, limit %d", ErrFrameTooLarge, len(f.Payload), l.opts.MaxFrameSize)
	}
	return l.enqueue(ctx, &pending{f: f})
}

func (l *Log) enqueue(ctx context.Context, p *pending) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p.start, p.done = time.Now(), make(chan error, 1)
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	if l.failErr != nil {
		err := l.failErr
		l.mu.Unlock()
		return 0, err
	}
	if err := l.repl.refuseLocked(p); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	l.queue = append(l.queue, p)
	if len(l.queue) == 1 {
		l.cond.Signal()
	}
	l.mu.Unlock()
	if err := <-p.done; err != nil {
		return 0, err
	}
	l.stats.commitLatency.record(time.Since(p.start))
	return p.f.LSN, nil
}

// fail records the first write failure; from then on commits are refused.
func (l *Log) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failErr == nil {
		l.failErr = fmt.Errorf("%w: %w", ErrFailed, err)
	}
	return l.failErr
}

func (l *Log) runCommitter() {
	defer l.wg.Done()
	defer close(l.applyCh)
	for {
		l.mu.Lock()
		for len(l.queue) == 0 && !l.closing {
			l.cond.Wait()
		}
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return
		}
		items := l.queue
		l.queue = nil
		l.mu.Unlock()
		l.commitItems(items)
	}
}

// commitGroup writes and syncs items and hands them to the applier, or
// fails them all.
func (l *Log) commitGroup(items []*pending) {
	l.mu.Lock()
	failErr := l.failErr
	l.mu.Unlock()
	if failErr == nil {
		if err := l.writeGroup(items); err != nil {
			failErr = l.fail(err)
		}
	}
	if failErr != nil {
		for _, p := range items {
			p.done <- failErr
		}
		return
	}
	written := items[:0:0]
	for _, p := range items {
		if p.refused != nil {
			p.done <- p.refused
			continue
		}
		written = append(written, p)
	}
	if len(written) == 0 {
		return
	}
	items = written
	g := &group{items: items, frames: make([]*Frame, len(items))}
	for i, p := range items {
		g.frames[i] = &p.f
		if p.repl.durableOnly {
			p.done <- nil
		}
	}
	l.applyCh <- g
}

// writeGroup assigns LSNs to items, writes them (rolling segments as they
// fill) and syncs once.
func (l *Log) writeGroup(items []*pending) error {
	now := l.opts.Now().UnixNano()
	forceSync := false
	wrote := 0
	buf := l.writeBuf[:0]
	for _, p := range items {
		if p.f.Type == TypeEpoch && !p.repl.pre {
			if cur := l.epoch.Load(); p.f.Epoch <= cur {
				p.refused = fmt.Errorf("%w: epoch %d is not above current epoch %d", ErrStaleEpoch, p.f.Epoch, cur)
				continue
			}
		}
		size := int64(frameHeaderSize + len(p.f.Payload))
		if l.activeSize+int64(len(buf))+size > l.opts.SegmentSize && l.activeSize+int64(len(buf)) > segHeaderSize {
			if err := l.flush(buf, true); err != nil {
				return err
			}
			buf = buf[:0]
			if err := l.roll(); err != nil {
				return err
			}
		}
		if l.fsynced > l.marked {
			// What this file has synced since its last mark: recovery uses
			// it to tell damage from a torn tail (see segment.go). Written
			// after the roll check, so that a mark always sits before a
			// frame of its own segment.
			buf = appendMark(buf, markGroup, l.fsynced)
			l.marked = l.fsynced
		}
		if p.sync {
			forceSync = true
		}
		if p.repl.pre {
			// A frame from the active: it keeps its LSN, epoch, time and chain.
			if err := l.checkAppended(&p.f); err != nil {
				return err
			}
		} else {
			if p.f.Type == TypeEpoch {
				cur := l.epoch.Load()
				p.f.Payload = binary.LittleEndian.AppendUint64(nil, cur)
				l.epoch.Store(p.f.Epoch)
			}
			p.f.LSN, p.f.Epoch, p.f.Time, p.f.PrevCRC = l.nextLSN, l.epoch.Load(), now, l.lastCRC
		}
		wantCRC := p.f.CRC
		l.nextLSN++
		buf = appendFrame(buf, &p.f)
		if p.repl.pre && p.f.CRC != wantCRC {
			return fmt.Errorf("%w: appended frame lsn %d: checksum %08x, sender said %08x", ErrCorrupt, p.f.LSN, p.f.CRC, wantCRC)
		}
		l.lastCRC, l.chainKnown = p.f.CRC, true
		l.noteEpoch(&p.f)
		wrote++
	}
	if wrote == 0 {
		return nil // every item was refused
	}
	if err := l.flush(buf, forceSync); err != nil {
		return err
	}
	// vfs.File.Write may scribble on its argument (MemFS does under the
	// invariants tag), so the buffer's bytes are garbage now; only its
	// capacity is reused.
	l.writeBuf = buf[:0]
	l.repl.tailCRC.Store(l.lastCRC)
	l.advanceDurable(l.nextLSN - 1)
	l.stats.groups.Add(1)
	l.stats.frames.Add(uint64(wrote))
	l.stats.groupFrames.record(uint64(wrote))
	return nil
}

// flush writes buf to the active segment and syncs it under Sync, or when
// force is set (a segment about to be sealed is always synced, so that
// every sealed segment is whole on disk).
func (l *Log) flush(buf []byte, force bool) error {
	if len(buf) > 0 {
		if _, err := l.active.Write(buf); err != nil {
			return fmt.Errorf("write %s: %w", l.activePath(), err)
		}
		l.activeSize += int64(len(buf))
		l.stats.bytes.Add(uint64(len(buf)))
		l.advanceWritten(l.nextLSN - 1)
	}
	if l.opts.Durability == Sync || force {
		if err := l.syncActive(); err != nil {
			return err
		}
	}
	l.mu.Lock()
	s := l.segs.active()
	s.last, s.size = l.nextLSN-1, l.activeSize
	l.mu.Unlock()
	return nil
}

// syncActive fdatasyncs the active segment. A failure is never retried (the
// caller fails the log): the kernel may have dropped the dirty pages, and a
// second fdatasync could report success for data that is gone.
func (l *Log) syncActive() error {
	start := time.Now()
	if err := l.active.SyncData(); err != nil {
		return fmt.Errorf("sync %s: %w", l.activePath(), err)
	}
	l.fsynced = l.nextLSN - 1
	l.stats.fsyncs.Add(1)
	l.stats.syncLatency.record(time.Since(start))
	return nil
}

func (l *Log) activePath() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs.active().path
}

// roll seals the active segment (already synced by flush) and starts a new one.
func (l *Log) roll() error {
	if err := l.active.Close(); err != nil {
		return fmt.Errorf("close segment: %w", err)
	}
	l.active = nil
	l.advanceDurable(l.nextLSN - 1)
	f, next, err := l.createSegment()
	if err != nil {
		return err
	}
	l.active, l.activeSize = f, next.size
	l.mu.Lock()
	l.segs.roll(next)
	l.mu.Unlock()
	return nil
}

func (l *Log) advanceDurable(lsn uint64) {
	if lsn <= l.durable.Load() {
		return
	}
	l.durable.Store(lsn)
	l.notifyMu.Lock()
	close(l.notifyCh)
	l.notifyCh = make(chan struct{})
	l.notifyMu.Unlock()
}

func (l *Log) runApplier() {
	defer l.wg.Done()
	// applyErr is the first Apply failure. Groups written behind the failed
	// one are neither applied nor acknowledged: applying them would leave
	// the stores with a hole in the log. (Groups durable before a later
	// write failure are still applied and acknowledged.)
	var applyErr error
	for g := range l.applyCh {
		if g.barrier != nil {
			close(g.barrier)
			continue
		}
		err := applyErr
		if err == nil {
			// Replicate first, apply second: the gate holds the group until
			// the replication condition holds, or fails it.
			err = l.passGate(g)
		}
		if err == nil && l.opts.Apply != nil {
			if aerr := l.opts.Apply(g.frames); aerr != nil {
				err = l.fail(fmt.Errorf("apply lsn %d..%d: %w", g.frames[0].LSN, g.frames[len(g.frames)-1].LSN, aerr))
				applyErr = err
			}
		}
		if err == nil {
			l.applied.Store(g.frames[len(g.frames)-1].LSN)
			l.repl.notifyApplied()
		}
		for _, p := range g.items {
			if !p.repl.durableOnly {
				p.done <- err
			}
		}
	}
}

// waitChan returns a channel closed when the durable LSN next advances.
func (l *Log) waitChan() chan struct{} {
	l.notifyMu.Lock()
	defer l.notifyMu.Unlock()
	return l.notifyCh
}

// DurableLSN is the highest LSN written and, under Sync, synced. Readers
// see frames up to it.
func (l *Log) DurableLSN() uint64 { return l.durable.Load() }

// AppliedLSN is the highest LSN whose commit has been applied and
// acknowledged.
func (l *Log) AppliedLSN() uint64 { return l.applied.Load() }

// FirstLSN is the lowest LSN still in the log.
func (l *Log) FirstLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs.first()
}

// Epoch is the epoch of the last frame recovered or written.
func (l *Log) Epoch() uint64 { return l.epoch.Load() }

// Sync forces a sync of the active segment, for NoSync logs that want a
// durable point (Close does one too).
func (l *Log) Sync(ctx context.Context) error {
	_, err := l.enqueue(ctx, &pending{f: Frame{Type: TypeNoop}, sync: true})
	return err
}

// Close waits for queued commits, syncs what was written, writes a final
// sync mark (so that a later recovery can tell damage to the last group from
// a torn write) and syncs it, then releases the directory lock. The mark is
// the last thing written: commits that arrive once Close has begun fail
// with ErrClosed. A follower's log closes the same way. If a write or sync
// failed before (ErrFailed), Close syncs nothing: a failed fsync is never
// retried. Close is safe to call twice, also concurrently; later calls wait
// for the first and return nil.
func (l *Log) Close() error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	select {
	case <-l.closedCh:
		return nil
	default:
	}
	l.mu.Lock()
	l.closing = true
	l.cond.Broadcast()
	l.mu.Unlock()
	l.wg.Wait()
	// The committer has gone: its state is Close's now.
	var errs []error
	l.mu.Lock()
	failed := l.failErr != nil
	l.mu.Unlock()
	if l.active != nil {
		if !failed {
			if err := l.finishActive(); err != nil {
				errs = append(errs, fmt.Errorf("wal: close: %w", l.fail(err)))
			}
		}
		if err := l.active.Close(); err != nil {
			errs = append(errs, fmt.Errorf("wal: close segment: %w", err))
		}
		l.active = nil
	}
	if err := l.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("wal: unlock: %w", err))
	}
	close(l.closedCh)
	return errors.Join(errs...)
}

// finishActive syncs the frames written since the last sync (NoSync), then
// writes the close mark saying the whole segment is synced, and syncs it.
func (l *Log) finishActive() error {
	if l.fsynced < l.nextLSN-1 {
		if err := l.syncActive(); err != nil {
			return err
		}
	}
	if l.fsynced <= l.marked {
		return nil // nothing written since the last mark
	}
	if _, err := l.active.Write(appendMark(nil, markClose, l.fsynced)); err != nil {
		return fmt.Errorf("write close mark: %w", err)
	}
	l.marked = l.fsynced
	l.activeSize += markSize
	return l.syncActive()
}
