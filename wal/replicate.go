package wal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Replication hooks. The log itself knows nothing of nodes or networks:
// package cluster drives these calls. On the active, a gate holds each
// group between its fsync and its apply until the replication condition
// holds ("replicate first, apply second"). On the passive, the log follows:
// local commits are refused, and frames received from the active are
// appended with their own LSN, epoch, time and checksum chain, synced, and
// applied through the same Options.Apply hook as local commits.

var (
	// ErrNotFollowing is returned by Append on a log that is not in
	// follower mode, or whose tail has not been settled by TruncateAfter
	// since it entered that mode.
	ErrNotFollowing = errors.New("wal: log is not following an active log")

	// ErrDiverged is returned by Append for frames that do not continue the
	// log: an LSN gap, or a previous-frame checksum that does not match the
	// log's last frame.
	ErrDiverged = errors.New("wal: frames do not continue this log")

	// ErrStaleEpoch is returned by Append for a frame whose epoch is below
	// the log's: a deposed active's frames are refused for good.
	ErrStaleEpoch = errors.New("wal: frame from an older epoch")
)

// EpochStart records where an epoch's frames begin in the log.
type EpochStart struct {
	Epoch uint64
	// LSN is the first frame of the epoch still in the log (for the oldest
	// entry, possibly later than the epoch's real start, once retention has
	// removed the segments before it).
	LSN uint64
}

// replItem marks a queued item for replication.
type replItem struct {
	// pre: a frame received from the active, already numbered and chained.
	pre bool
	// durableOnly: the waiter is released once the frame is durable, not
	// once it is applied (Append).
	durableOnly bool
	// truncate: not a frame but a request to cut the log after at.
	truncate bool
	at       uint64
}

// replState is the Log's replication state.
type replState struct {
	// Guarded by Log.mu.
	followErr   error // non-nil: follower mode; local commits fail with it
	appendReady bool  // TruncateAfter has run since follower mode began
	gate        func(last uint64) error
	gateErr     error // sticky: the first gate failure
	epochs      []EpochStart

	// appendMu serialises Append calls.
	appendMu sync.Mutex

	// tailCRC is the CRC of the last durable frame.
	tailCRC atomic.Uint32

	// written is the highest LSN written to the segment file, synced or not
	// (see NewUnsyncedReader).
	written atomic.Uint64

	// appliedMu guards appliedCh, closed and replaced whenever the applied
	// LSN advances.
	appliedMu sync.Mutex
	appliedCh chan struct{}
}

func (r *replState) refuseLocked(p *pending) error {
	if p.repl.pre || p.repl.truncate {
		return nil
	}
	return r.followErr
}

func (r *replState) appliedChan() chan struct{} {
	r.appliedMu.Lock()
	defer r.appliedMu.Unlock()
	if r.appliedCh == nil {
		r.appliedCh = make(chan struct{})
	}
	return r.appliedCh
}

func (r *replState) notifyApplied() {
	r.appliedMu.Lock()
	if r.appliedCh != nil {
		close(r.appliedCh)
		r.appliedCh = nil
	}
	r.appliedMu.Unlock()
}

func (l *Log) following() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.repl.followErr != nil
}

// advanceWritten records that frames up to lsn are in the file (not yet
// synced) and wakes unsynced readers. It runs on the committer.
func (l *Log) advanceWritten(lsn uint64) {
	if lsn <= l.repl.written.Load() {
		return
	}
	l.repl.written.Store(lsn)
	l.notifyMu.Lock()
	close(l.notifyCh)
	l.notifyCh = make(chan struct{})
	l.notifyMu.Unlock()
}

// limit is the highest LSN r may read.
func (r *Reader) limit() uint64 {
	if r.unsynced {
		return max(r.l.repl.written.Load(), r.l.durable.Load())
	}
	return r.l.durable.Load()
}

// NewUnsyncedReader is NewReader for a reader that also sees frames written
// to the segment file but not yet synced: a replication sender uses it to
// ship a group to the passive while the local fsync is still running, so
// that the two fsyncs overlap. Such a frame may yet be lost here if the
// process dies before the sync; it was not acknowledged to anyone, so the
// passive may keep it or not.
func (l *Log) NewUnsyncedReader(from uint64) (*Reader, error) {
	r, err := l.NewReader(from)
	if err != nil {
		return nil, err
	}
	r.unsynced = true
	return r, nil
}

// SetFollower puts the log in follower mode when err is non-nil: from then
// on Commit, Mark, BeginEpoch and Sync fail with err, and Append may add
// frames received from an active log once TruncateAfter has settled the
// tail. (Close ends a follower's log as it does a leader's, with a sync mark
// of its own, not a frame.) A nil err makes the log a leader
// again: local commits are accepted and Append is refused. Commits already
// queued are not affected. Replication (package cluster) is its user.
func (l *Log) SetFollower(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.repl.followErr = err
	if err == nil {
		l.repl.appendReady = false
	}
}

// SetGate installs fn, which the applier calls with the last LSN of each
// group of local commits after the group is durable and before it is
// applied or acknowledged. fn may block (it is how a commit waits for the
// passive's acknowledgement). If fn fails, the group's commits fail with
// its error, nothing of the group is applied, and every later group fails
// the same way until TruncateAfter cuts the unapplied frames off. A nil fn
// removes the gate.
func (l *Log) SetGate(fn func(last uint64) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.repl.gate = fn
}

// passGate runs the gate for a group of local commits.
func (l *Log) passGate(g *group) error {
	if g.items[0].repl.pre {
		return nil // frames from the active apply as they arrive
	}
	l.mu.Lock()
	gerr, gate := l.repl.gateErr, l.repl.gate
	l.mu.Unlock()
	if gerr != nil {
		return gerr
	}
	if gate == nil {
		return nil
	}
	if err := gate(g.frames[len(g.frames)-1].LSN); err != nil {
		l.mu.Lock()
		if l.repl.gateErr == nil {
			l.repl.gateErr = err
		}
		err = l.repl.gateErr
		l.mu.Unlock()
		return err
	}
	return nil
}

// Epochs returns the log's epoch history: where each epoch's frames begin,
// oldest first, for the frames still in the log.
func (l *Log) Epochs() []EpochStart {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]EpochStart(nil), l.repl.epochs...)
}

func (l *Log) noteRecovered(f *Frame) error {
	l.noteEpoch(f)
	return nil
}

func (l *Log) noteEpoch(f *Frame) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.repl.epochs); n == 0 || l.repl.epochs[n-1].Epoch != f.Epoch {
		l.repl.epochs = append(l.repl.epochs, EpochStart{Epoch: f.Epoch, LSN: f.LSN})
	}
}

// WaitProgress blocks until the durable LSN is above durable or the applied
// LSN is above applied, ctx is done, or the log closes (ErrClosed).
func (l *Log) WaitProgress(ctx context.Context, durable, applied uint64) error {
	for {
		dch, ach := l.waitChan(), l.repl.appliedChan()
		if l.durable.Load() > durable || l.applied.Load() > applied {
			return nil
		}
		select {
		case <-dch:
		case <-ach:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.closedCh:
			return ErrClosed
		}
	}
}

// Append adds frames received from an active log, in order, keeping their
// LSN, epoch, time and checksum chain, and returns once
// they are durable; they are then applied, in order, through Options.Apply
// (an apply failure fails the log, and the next Append reports it). The
// first frame must have LSN DurableLSN()+1 and continue the chain (unless
// the log holds no frame to chain from), and epochs must not go down:
// otherwise nothing is written and Append returns an error wrapping
// ErrDiverged or ErrStaleEpoch. The log must be in follower mode and its
// tail settled by TruncateAfter (ErrNotFollowing). Append takes ownership
// of the frames and their payloads.
func (l *Log) Append(ctx context.Context, frames []*Frame) error {
	if len(frames) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.repl.appendMu.Lock()
	defer l.repl.appendMu.Unlock()
	l.mu.Lock()
	ready := l.repl.appendReady && l.repl.followErr != nil
	first := l.segs.first()
	l.mu.Unlock()
	if !ready {
		return ErrNotFollowing
	}
	durable := l.durable.Load()
	next, prev, ep := durable+1, l.repl.tailCRC.Load(), l.epoch.Load()
	chained := durable >= first
	for _, f := range frames {
		switch {
		case f.LSN != next:
			return fmt.Errorf("%w: frame lsn %d where %d was expected", ErrDiverged, f.LSN, next)
		case chained && f.PrevCRC != prev:
			return fmt.Errorf("%w: frame lsn %d does not chain to the log's frame %d", ErrDiverged, f.LSN, f.LSN-1)
		case f.Epoch < ep:
			return fmt.Errorf("%w: frame lsn %d has epoch %d, log is at epoch %d", ErrStaleEpoch, f.LSN, f.Epoch, ep)
		case f.Type == TypeEpoch && f.Epoch == ep:
			return fmt.Errorf("%w: frame lsn %d starts epoch %d again", ErrStaleEpoch, f.LSN, f.Epoch)
		case !f.Type.valid() || len(f.Payload) > l.opts.MaxFrameSize:
			return fmt.Errorf("%w: frame lsn %d: bad type or size", ErrCorrupt, f.LSN)
		}
		next, prev, ep, chained = f.LSN+1, f.CRC, f.Epoch, true
	}
	ps := make([]*pending, len(frames))
	for i, f := range frames {
		ps[i] = &pending{f: *f, done: make(chan error, 1), repl: replItem{pre: true, durableOnly: true}}
	}
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.failErr != nil {
		err := l.failErr
		l.mu.Unlock()
		return err
	}
	wasEmpty := len(l.queue) == 0
	l.queue = append(l.queue, ps...)
	if wasEmpty {
		l.cond.Signal()
	}
	l.mu.Unlock()
	var first1 error
	for _, p := range ps {
		if err := <-p.done; err != nil && first1 == nil {
			first1 = err
		}
	}
	return first1
}

// TruncateAfter cuts every frame after lsn off the log, durably, once the
// applier has finished with every earlier group; it clears a failed gate
// and lets Append continue the log from lsn+1. It is how a returning active
// drops its unacknowledged tail: since frames are applied only after the
// gate passes, no store has applied past the frames the new active also
// holds. The caller must make sure no store has applied past lsn, then
// replay the stores (as after Open), since the log reports lsn as applied.
// An lsn at or after the log's end cuts nothing. It fails with ErrTruncated
// if frames up to lsn are already gone, and requires follower mode
// (ErrNotFollowing). Readers must not be positioned past lsn. For package
// cluster.
func (l *Log) TruncateAfter(ctx context.Context, lsn uint64) error {
	if !l.following() {
		return ErrNotFollowing
	}
	_, err := l.enqueue(ctx, &pending{repl: replItem{truncate: true, at: lsn}})
	return err
}

// commitItems runs the committer's work on items, in queue order: runs of
// local commits and runs of appended frames each form a group; truncations
// run alone.
func (l *Log) commitItems(items []*pending) {
	for len(items) > 0 {
		if items[0].repl.truncate {
			l.mu.Lock()
			err := l.failErr
			l.mu.Unlock()
			// A failed log cuts nothing: the cut would sync segments whose
			// fsync may have failed, and a failed fsync is never retried.
			if err == nil {
				if err = l.truncateTail(items[0].repl.at); err != nil {
					err = l.fail(err)
				}
			}
			items[0].done <- err
			items = items[1:]
			continue
		}
		j := 1
		for j < len(items) && !items[j].repl.truncate && items[j].repl.pre == items[0].repl.pre {
			j++
		}
		l.commitGroup(items[:j])
		items = items[j:]
	}
}

// checkAppended checks, on the committer, that an appended frame continues
// the log, and takes on its epoch.
func (l *Log) checkAppended(f *Frame) error {
	cur := l.epoch.Load()
	switch {
	case f.LSN != l.nextLSN:
		return fmt.Errorf("%w: appended frame lsn %d where %d was expected", ErrDiverged, f.LSN, l.nextLSN)
	case l.chainKnown && f.PrevCRC != l.lastCRC:
		return fmt.Errorf("%w: appended frame lsn %d does not chain", ErrDiverged, f.LSN)
	case f.Epoch < cur:
		return fmt.Errorf("%w: appended frame lsn %d has epoch %d below %d", ErrStaleEpoch, f.LSN, f.Epoch, cur)
	}
	l.epoch.Store(f.Epoch)
	return nil
}

// truncateTail runs on the committer: it waits for the applier to drain,
// then cuts the log after lsn and starts a new active segment at lsn+1.
// The segment list keeps showing the old segments until the new active one
// exists (see segList.beginCut), so it is never empty, and Truncate,
// running beside it, leaves the segments being cut alone.
func (l *Log) truncateTail(lsn uint64) error {
	b := &group{barrier: make(chan struct{})}
	l.applyCh <- b
	<-b.barrier
	durable := l.durable.Load()
	if lsn >= durable {
		l.mu.Lock()
		l.repl.gateErr, l.repl.appendReady = nil, true
		l.mu.Unlock()
		l.applied.Store(durable)
		return nil
	}
	l.mu.Lock()
	if first := l.segs.first(); lsn+1 < first {
		l.mu.Unlock()
		return fmt.Errorf("%w: truncate after lsn %d, log starts at %d", ErrTruncated, lsn, first)
	}
	keep, keepOK, drop := l.segs.beginCut(lsn)
	l.mu.Unlock()

	if l.active != nil {
		if err := l.active.Close(); err != nil {
			return fmt.Errorf("truncate: close segment: %w", err)
		}
		l.active = nil
	}
	// Newest first, so that a crash part way leaves a contiguous log.
	for _, s := range drop {
		if err := l.fs.Remove(s.path); err != nil {
			return fmt.Errorf("truncate: remove %s: %w", s.path, err)
		}
	}
	var (
		crc   uint32
		ep    uint64
		found bool
		end   int64
	)
	if keepOK {
		var fr Frame
		var err error
		end, fr, err = l.cutAfter(keep, lsn)
		if err != nil {
			return err
		}
		crc, ep, found = fr.CRC, fr.Epoch, true
	}
	if err := l.syncDir(); err != nil {
		return err
	}
	l.nextLSN, l.fsynced = lsn+1, lsn
	f, active, err := l.createSegment()
	if err != nil {
		return err
	}
	l.active, l.activeSize = f, active.size
	l.mu.Lock()
	l.segs.endCut(lsn, keepOK, end, active)
	h := l.repl.epochs
	for len(h) > 0 && h[len(h)-1].LSN > lsn {
		h = h[:len(h)-1]
	}
	l.repl.epochs = h
	if !found && len(h) > 0 {
		ep = h[len(h)-1].Epoch
	}
	l.repl.gateErr, l.repl.appendReady = nil, true
	l.mu.Unlock()
	l.lastCRC, l.chainKnown = crc, found
	if ep != 0 {
		l.epoch.Store(ep)
	}
	l.repl.tailCRC.Store(crc)
	l.repl.written.Store(lsn)
	l.durable.Store(lsn)
	l.applied.Store(lsn)
	return nil
}

// cutAfter cuts segment s after its frame lsn and returns the new size and
// that frame.
func (l *Log) cutAfter(s segment, lsn uint64) (int64, Frame, error) {
	f, err := l.fs.Open(s.path)
	if err != nil {
		return 0, Frame{}, fmt.Errorf("truncate: open %s: %w", s.path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, Frame{}, fmt.Errorf("truncate: stat %s: %w", s.path, err)
	}
	size := st.Size()
	r := &blockReader{f: f}
	for off := int64(segHeaderSize); off < size; {
		fr, n, reason, err := readEntryAt(r, off, size, l.opts.MaxFrameSize)
		if err != nil {
			return 0, Frame{}, fmt.Errorf("truncate: %w", err)
		}
		if reason != "" {
			return 0, Frame{}, &CorruptError{File: s.path, Offset: off, Reason: reason}
		}
		off += int64(n)
		if fr.LSN == 0 {
			continue // a sync mark
		}
		if fr.LSN == lsn {
			fr.Payload = nil
			if off < size {
				if err := l.cutSegment(f, s.path, off); err != nil {
					return 0, Frame{}, err
				}
			} else if err := f.Sync(); err != nil {
				return 0, Frame{}, fmt.Errorf("truncate: sync %s: %w", s.path, err)
			}
			return off, fr, nil
		}
	}
	return 0, Frame{}, &CorruptError{File: s.path, LSN: lsn, Reason: "frame to truncate after not found"}
}
