package wal

import "math"

// segment is one file of the log as the Log tracks it.
type segment struct {
	first uint64
	// last is the LSN of the segment's last frame (first-1 while empty).
	last uint64
	// sealed is set once the committer has moved on to a later segment.
	sealed bool
	size   int64
	path   string
}

// segList is the log's segments, oldest first; the last one is the active
// segment the committer writes to. It is never empty: it is made with the
// active segment, Truncate never removes the active one, and TruncateAfter
// replaces the tail with a new active segment in one step. So every reader
// of the list (Stats, Pin, NewReader, Append, the committer) may take its
// first and last entries without a check.
//
// While TruncateAfter is cutting the tail (between beginCut and endCut, with
// files being removed and rewritten outside the lock), the list still shows
// the segments being cut, and Truncate leaves alone every segment holding
// the cut's LSN or later ones: the cut finds its segment by first LSN, never
// by an index taken before the lock was dropped.
//
// segList is not safe for concurrent use: Log.mu guards it.
type segList struct {
	s []segment
	// cutting is set between beginCut and endCut; cutAt is the LSN after
	// which the tail is being cut.
	cutting bool
	cutAt   uint64
}

// newSegList returns a list of the recovered (sealed) segments followed by
// the active one.
func newSegList(sealed []segment, active segment) segList {
	s := make([]segment, 0, len(sealed)+1)
	for _, sg := range sealed {
		sg.sealed = true
		s = append(s, sg)
	}
	return segList{s: append(s, active)}
}

// first is the first LSN still in the log.
func (sl *segList) first() uint64 { return sl.s[0].first }

// len is how many segments the list holds (at least 1).
func (sl *segList) len() int { return len(sl.s) }

// bytes is the segments' total size.
func (sl *segList) bytes() int64 {
	var n int64
	for _, sg := range sl.s {
		n += sg.size
	}
	return n
}

// active is the segment the committer writes to.
func (sl *segList) active() *segment { return &sl.s[len(sl.s)-1] }

// roll seals the active segment and makes next the active one.
func (sl *segList) roll(next segment) {
	sl.active().sealed = true
	sl.s = append(sl.s, next)
}

// locate returns the segment holding lsn and the first LSN of the segment
// after it (math.MaxUint64 for the active segment). ok is false when lsn is
// below the first segment.
func (sl *segList) locate(lsn uint64) (seg segment, nextFirst uint64, ok bool) {
	for i := len(sl.s) - 1; i >= 0; i-- {
		if sl.s[i].first <= lsn {
			nextFirst = math.MaxUint64
			if i+1 < len(sl.s) {
				nextFirst = sl.s[i+1].first
			}
			return sl.s[i], nextFirst, true
		}
	}
	return segment{}, 0, false
}

// takeFront removes and returns the oldest segments that are sealed and
// hold only frames below bound. It keeps the active segment and, while the
// active one is still empty, the newest segment holding frames (recovery
// takes the epoch and the chain from the last frame on disk). During a tail
// cut it also keeps the segment holding the cut's LSN and everything after.
func (sl *segList) takeFront(bound uint64) []segment {
	if sl.cutting {
		bound = min(bound, sl.cutAt)
	}
	keep := len(sl.s) - 1
	if a := sl.s[keep]; a.last < a.first && keep > 0 {
		keep--
	}
	n := 0
	for n < keep && sl.s[n].sealed && sl.s[n].last < bound {
		n++
	}
	victims := append([]segment(nil), sl.s[:n]...)
	sl.s = append(sl.s[:0:0], sl.s[n:]...)
	return victims
}

// putFront puts back segments takeFront returned that could not be removed.
func (sl *segList) putFront(segs []segment) {
	sl.s = append(append([]segment(nil), segs...), sl.s...)
}

// beginCut starts cutting the log after lsn. It returns the segment holding
// lsn (ok false if lsn is below every segment: the whole log goes) and the
// segments wholly after lsn, newest first, whose files are to be removed.
// The list itself is left as it is until endCut.
func (sl *segList) beginCut(lsn uint64) (keep segment, ok bool, drop []segment) {
	sl.cutting, sl.cutAt = true, lsn
	for i := len(sl.s) - 1; i >= 0; i-- {
		if sl.s[i].first > lsn {
			drop = append(drop, sl.s[i])
			continue
		}
		return sl.s[i], true, drop
	}
	return segment{}, false, drop
}

// endCut finishes a cut after lsn: the segment that held lsn (if ok) now
// ends there at size end and is sealed, every later segment is gone, and
// active is the new active segment.
func (sl *segList) endCut(lsn uint64, ok bool, end int64, active segment) {
	k := 0
	for k < len(sl.s) && sl.s[k].first <= lsn {
		k++
	}
	s := append(sl.s[:0:0], sl.s[:k]...)
	if ok && k > 0 {
		s[k-1].last, s[k-1].size, s[k-1].sealed = lsn, end, true
	}
	sl.s = append(s, active)
	sl.cutting = false
}
