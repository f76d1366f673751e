package wal

import (
	"fmt"
	"math"
)

// Pin holds back truncation: while a pin exists, no frame at or above its
// LSN is removed. Replicas, shippers and backups each hold one for the
// position they still need. A Pin is safe for concurrent use.
type Pin struct {
	l    *Log
	name string
	// lsn is guarded by l.mu.
	lsn uint64
}

// Pin registers a holder named name that needs every frame from lsn on. It
// fails with ErrTruncated if lsn is already gone.
func (l *Log) Pin(name string, lsn uint64) (*Pin, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if first := l.segs.first(); lsn < first {
		return nil, fmt.Errorf("%w: pin %q at lsn %d, log starts at %d", ErrTruncated, name, lsn, first)
	}
	p := &Pin{l: l, name: name, lsn: lsn}
	l.pins[p] = struct{}{}
	return p, nil
}

// Name is the holder's name given to Log.Pin.
func (p *Pin) Name() string { return p.name }

// LSN is the lowest LSN the pin holds.
func (p *Pin) LSN() uint64 {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	return p.lsn
}

// Advance moves the pin forward to lsn; it never moves back.
func (p *Pin) Advance(lsn uint64) {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	if lsn > p.lsn {
		p.lsn = lsn
	}
}

// Release drops the pin. It is safe to call twice.
func (p *Pin) Release() {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	delete(p.l.pins, p)
}

// PinnedLSN is the lowest LSN any pin holds, or math.MaxUint64 without pins.
func (l *Log) PinnedLSN() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pinnedLocked()
}

func (l *Log) pinnedLocked() uint64 {
	low := uint64(math.MaxUint64)
	for p := range l.pins {
		low = min(low, p.lsn)
	}
	return low
}

// Truncate removes the sealed segments whose frames are all below lsn and
// below every pin. The active segment is never removed (nor, while it is
// empty, the segment before it). It returns how many
// segments it removed. Readers positioned in a removed segment keep reading
// it; new readers below the new first LSN get ErrTruncated.
//
// Segments are removed oldest first, so the files left always hold a
// contiguous run of LSNs. If a removal fails, the segments not removed stay
// in the log (and Truncate returns the error): forgetting them while their
// files remain would leave a gap once later segments are truncated, and a
// log with a gap does not open.
func (l *Log) Truncate(lsn uint64) (int, error) {
	l.truncMu.Lock()
	defer l.truncMu.Unlock()
	l.mu.Lock()
	victims := l.segs.takeFront(min(lsn, l.pinnedLocked()))
	n := len(victims)
	l.mu.Unlock()
	for i, s := range victims {
		if err := l.fs.Remove(s.path); err != nil {
			l.mu.Lock()
			l.segs.putFront(victims[i:])
			l.mu.Unlock()
			l.stats.truncated.Add(uint64(i))
			return i, fmt.Errorf("wal: truncate: remove %s: %w", s.path, err)
		}
	}
	if n > 0 {
		l.stats.truncated.Add(uint64(n))
		return n, l.syncDir()
	}
	return 0, nil
}
