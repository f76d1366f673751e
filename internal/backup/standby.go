package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Standby is a disaster-recovery copy kept restored up to the newest set
// shipped to its storage: BizTalk's destination system. Its directory
// holds a standby marker and no group identity, so nothing can open it as
// a group (and write to it) until Activate. A Standby is safe for
// concurrent use; CatchUp calls are serialised.
type Standby struct {
	st     Storage
	fs     vfs.FS
	dir    string
	group  string
	logger pebble.Logger

	// mu guards r, lsn and closed.
	mu     sync.Mutex
	r      *store.Restore
	lsn    uint64
	closed bool
}

// OpenStandby opens the standby in dir, or seeds a new one from the
// newest full set of group in st (and the log sets after it) if dir is
// missing or empty. A dir left by a crashed seeding is seeded again.
func OpenStandby(ctx context.Context, st Storage, fs vfs.FS, dir, group string, logger pebble.Logger) (*Standby, error) {
	s := &Standby{st: st, fs: fs, dir: dir, group: group, logger: logger}
	names, err := fs.List(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	if slices.Contains(names, standbyMarker) && !slices.Contains(names, restoreMarker) {
		r, err := store.OpenRestore(fs, StoreDirs(fs, dir), logger)
		if err != nil {
			return nil, fmt.Errorf("backup: open standby %s: %w", dir, err)
		}
		s.r = r
		// A crash during a catch-up can leave the stores at different
		// LSNs; replay from the lowest skips what each already has.
		s.lsn = minApplied(r)
		return s, nil
	}
	if len(names) > 0 && !slices.Contains(names, restoreMarker) {
		return nil, fmt.Errorf("%w: %s holds %q", ErrNotEmpty, dir, names[0])
	}
	if err := s.seed(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// seed restores the newest full set and every set after it into an empty
// (or unfinished) dir. It runs under the restore marker, replaced by the
// standby marker once the stores are consistent.
func (s *Standby) seed(ctx context.Context) error {
	p, err := MakePlan(ctx, s.st, s.group, Target{})
	if err != nil {
		return err
	}
	if err := p.Verify(ctx, s.st); err != nil {
		return err
	}
	if err := prepareDir(s.fs, s.dir, restoreMarker); err != nil {
		return err
	}
	var r *store.Restore
	res, err := seedAndReplay(ctx, s.st, s.fs, s.dir, p, nil, s.logger, &r)
	if err != nil {
		return err
	}
	if err := writeSynced(s.fs, s.fs.PathJoin(s.dir, standbyMarker), []byte("biztier disaster-recovery standby: activate before use\n")); err != nil {
		_ = r.Close()
		return err
	}
	if err := s.fs.Remove(s.fs.PathJoin(s.dir, restoreMarker)); err != nil {
		_ = r.Close()
		return fmt.Errorf("backup: remove restore marker: %w", err)
	}
	if err := syncDir(s.fs, s.dir); err != nil {
		_ = r.Close()
		return err
	}
	s.group = p.Group
	s.r, s.lsn = r, res.LSN
	return nil
}

// LSN is the last LSN the standby has restored.
func (s *Standby) LSN() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lsn
}

// CatchUp applies every set shipped since the last call and returns the
// standby's new LSN. When the sets after the standby's LSN are gone (a
// new chain began with a later full set), it reseeds from the newest full
// set.
func (s *Standby) CatchUp(ctx context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("backup: standby closed")
	}
	return s.catchUpLocked(ctx)
}

func (s *Standby) catchUpLocked(ctx context.Context) (uint64, error) {
	all, err := Catalog(ctx, s.st)
	if err != nil {
		return s.lsn, err
	}
	sets, group, err := groupSets(all, s.group)
	if err != nil {
		return s.lsn, err
	}
	s.group = group
	var newest *Manifest
	for _, m := range sets {
		if newest == nil || m.Last > newest.Last {
			newest = m
		}
	}
	if newest == nil || newest.Last <= s.lsn {
		return s.lsn, nil
	}
	// Any set covering lsn+1 can serve as the chain's anchor.
	anchor := &Manifest{Set: "the standby", Last: 0}
	files, err := chain(sets, anchor, s.lsn+1, newest.Last)
	var gap *GapError
	if errors.As(err, &gap) || errors.Is(err, ErrTargetNotFound) {
		return s.reseedLocked(ctx)
	}
	if err != nil {
		return s.lsn, err
	}
	p := &Plan{Group: group, Base: anchor, Files: files, LSN: newest.Last, Mark: &newest.Mark}
	// The first new frame must chain onto the standby's last one, whose
	// CRC the set ending there recorded.
	p.prevCRC, p.chained = chainCRC(sets, s.lsn)
	if err := p.verifyLog(ctx, s.st, s.lsn+1); err != nil {
		return s.lsn, err
	}
	res := &Result{}
	if err := replay(ctx, s.st, s.r, p, s.lsn+1, &progress{}, res); err != nil {
		return s.lsn, err
	}
	s.lsn = res.LSN
	return s.lsn, nil
}

// verifyLog checks the plan's log files from `from` on (see Verify).
func (p *Plan) verifyLog(ctx context.Context, st Storage, from uint64) error {
	src := p.frames(ctx, st, from)
	defer src.close()
	for src.next <= p.LSN {
		if _, err := src.read(); err != nil {
			if errors.Is(err, io.EOF) {
				return &GapError{From: src.next, To: p.LSN, After: p.Files[len(p.Files)-1].name()}
			}
			return err
		}
	}
	return nil
}

func (s *Standby) reseedLocked(ctx context.Context) (uint64, error) {
	if err := s.r.Close(); err != nil {
		return s.lsn, err
	}
	s.r = nil
	// Mark the directory unfinished before wiping it, so a crash part way
	// leaves a directory the next OpenStandby seeds again.
	if err := writeSynced(s.fs, s.fs.PathJoin(s.dir, restoreMarker), []byte("biztier restore in progress: do not use\n")); err != nil {
		return s.lsn, err
	}
	if err := s.fs.Remove(s.fs.PathJoin(s.dir, standbyMarker)); err != nil {
		return s.lsn, fmt.Errorf("backup: remove standby marker: %w", err)
	}
	if err := s.seed(ctx); err != nil {
		return s.lsn, err
	}
	return s.lsn, nil
}

// Activate catches up with the sets shipped so far, then turns the
// standby into a group directory at its LSN (the newest shipped mark): the
// stores are closed, finish writes the group's files (its new identity
// last) and the standby marker is removed. The Standby cannot be used
// afterwards.
//
// A crash during a catch-up leaves the stores at different LSNs; the
// catch-up here brings them back to one. If it fails (storage unreachable,
// a damaged set) the standby activates at the LSN it already holds when
// its stores agree on it, and otherwise refuses with ErrInconsistent,
// staying a standby that a later CatchUp can repair.
func (s *Standby) Activate(ctx context.Context, finish func(*Result) error) (*Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("backup: standby closed")
	}
	_, cerr := s.catchUpLocked(ctx)
	if lo, hi := appliedRange(s.r); lo != hi || lo != s.lsn {
		return nil, fmt.Errorf("%w: stores between lsn %d and %d, catch-up: %w", ErrInconsistent, lo, hi, cerr)
	}
	s.closed = true
	if err := s.r.Close(); err != nil {
		return nil, err
	}
	s.r = nil
	res := &Result{Group: s.group, LSN: s.lsn}
	marks, err := marksUpTo(context.Background(), s.st, s.group, s.lsn)
	if err != nil {
		return nil, err
	}
	res.Marks = marks
	for i := len(marks) - 1; i >= 0; i-- {
		if marks[i].LSN == s.lsn {
			res.Mark = &marks[i]
			break
		}
	}
	if finish != nil {
		if err := finish(res); err != nil {
			return nil, err
		}
	}
	if err := s.fs.Remove(s.fs.PathJoin(s.dir, standbyMarker)); err != nil {
		return nil, fmt.Errorf("backup: remove standby marker: %w", err)
	}
	return res, syncDir(s.fs, s.dir)
}

// Close closes the standby's stores; it can be reopened with OpenStandby.
// Close is safe to call twice.
func (s *Standby) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.r == nil {
		return nil
	}
	err := s.r.Close()
	s.r = nil
	return err
}

// appliedRange returns the lowest and highest applied LSN of r's stores.
func appliedRange(r *store.Restore) (lo, hi uint64) {
	return minApplied(r), maxApplied(r)
}

func minApplied(r *store.Restore) uint64 {
	first := true
	var m uint64
	for _, a := range r.Applied() {
		if first || a < m {
			m, first = a, false
		}
	}
	return m
}

// chainCRC returns the CRC of frame lsn as recorded by a set's log file
// ending there.
func chainCRC(sets []*Manifest, lsn uint64) (uint32, bool) {
	for _, m := range sets {
		for _, f := range m.Log {
			if f.Last == lsn {
				return f.LastCRC, true
			}
		}
	}
	return 0, false
}
