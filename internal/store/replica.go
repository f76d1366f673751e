package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/cockroachdb/pebble/v2"
)

// ErrAppliedPast is returned by TruncateTail when a store has already
// applied frames past the LSN to cut after: the stores diverge from the new
// log and must be rebuilt from a checkpoint.
var ErrAppliedPast = errors.New("store: a store has applied frames past the truncation point")

// Replay applies the log's frames after each store's applied LSN, for a Set
// opened with Options.DeferReplay. The log must not be applying frames
// concurrently (it is following and idle, or it has just opened).
func (s *Set) Replay() error {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	if err := s.replay(); err != nil {
		return err
	}
	s.replayed.Store(true)
	return nil
}

// MaxApplied is the highest applied LSN of any store.
func (s *Set) MaxApplied() uint64 {
	var m uint64
	for _, db := range s.stores() {
		m = max(m, db.applied.Load())
	}
	return m
}

// TruncateTail cuts the log after lsn (see wal.Log.TruncateAfter) and
// replays the stores up to it. It fails with ErrAppliedPast, cutting
// nothing, if a store has applied past lsn. The log must be following.
func (s *Set) TruncateTail(ctx context.Context, lsn uint64) error {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	s.replayed.Store(false)
	// The log's applier is drained by TruncateAfter before it cuts; a store
	// may still be ahead of lsn, which is checked after the drain.
	if err := s.log.TruncateAfter(ctx, max(lsn, s.log.DurableLSN())); err != nil {
		return err
	}
	for _, db := range s.stores() {
		if a := db.applied.Load(); a > lsn {
			return fmt.Errorf("%w: %s database at lsn %d, cut after %d", ErrAppliedPast, db.id, a, lsn)
		}
	}
	if err := s.log.TruncateAfter(ctx, lsn); err != nil {
		return err
	}
	if err := s.replay(); err != nil {
		return err
	}
	s.replayed.Store(true)
	return nil
}

// Digest hashes every store's keys and values except the applied-LSN key,
// all at one frame boundary, and returns the highest applied LSN at that
// boundary. Two nodes that applied the same frames have equal digests.
func (s *Set) Digest() (lsn uint64, sum uint64, err error) {
	s.applyMu.RLock()
	snaps := make(map[ID]*pebble.Snapshot, len(All))
	for _, db := range s.stores() {
		snaps[db.id] = db.pdb.NewSnapshot()
		lsn = max(lsn, db.applied.Load())
	}
	s.applyMu.RUnlock()
	defer func() {
		for _, sn := range snaps {
			err = errors.Join(err, sn.Close())
		}
	}()
	h := fnv.New64a()
	var n [8]byte
	for _, id := range All {
		sn := snaps[id]
		if sn == nil {
			continue
		}
		h.Write([]byte{byte(id)})
		it, err := sn.NewIter(nil)
		if err != nil {
			return 0, 0, err
		}
		for ok := it.First(); ok; ok = it.Next() {
			if string(it.Key()) == string(appliedKey) {
				continue
			}
			v, err := it.ValueAndErr()
			if err != nil {
				_ = it.Close()
				return 0, 0, err
			}
			binary.BigEndian.PutUint64(n[:], uint64(len(it.Key())))
			h.Write(n[:])
			h.Write(it.Key())
			binary.BigEndian.PutUint64(n[:], uint64(len(v)))
			h.Write(n[:])
			h.Write(v)
		}
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return 0, 0, err
		}
	}
	return lsn, h.Sum64(), nil
}
