package wal

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// latencyHistogram counts durations in power-of-two microsecond buckets. It
// is lock-free so the committer and many committers can record into it.
type latencyHistogram struct {
	buckets [32]atomic.Uint64
	count   atomic.Uint64
	sum     atomic.Int64
}

func (h *latencyHistogram) record(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	i := min(bits.Len64(us), len(h.buckets)-1)
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sum.Add(int64(d))
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *latencyHistogram) quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	target := uint64(q * float64(n))
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen > target || seen == n {
			if i == 0 {
				return time.Microsecond
			}
			return time.Duration(uint64(1)<<i) * time.Microsecond
		}
	}
	return 0
}

// snapshot is the histogram's cumulative buckets, in seconds, for
// Histogram.
func (h *latencyHistogram) snapshot() Histogram {
	// 1 µs to 16.8 s.
	return snapshotOf(&h.buckets, 25, h.count.Load(), float64(h.sum.Load())/1e9, func(i int) float64 {
		return float64(uint64(1)<<i) / 1e6
	})
}

// countHistogram counts sizes (frames per group) in power-of-two buckets.
type countHistogram struct {
	buckets [32]atomic.Uint64
	count   atomic.Uint64
	sum     atomic.Uint64
}

func (h *countHistogram) record(n uint64) {
	i := min(bits.Len64(max(n, 1)-1), len(h.buckets)-1)
	h.buckets[i].Add(1)
	h.count.Add(1)
	h.sum.Add(n)
}

func (h *countHistogram) snapshot() Histogram {
	// 1 to 65,536 frames.
	return snapshotOf(&h.buckets, 17, h.count.Load(), float64(h.sum.Load()), func(i int) float64 {
		return float64(uint64(1) << i)
	})
}

// snapshotOf turns the first n per-bucket counts into cumulative buckets:
// always n of them, so an exporter's series stay the same; observations
// above the last bound are in Count only.
func snapshotOf(buckets *[32]atomic.Uint64, n int, count uint64, sum float64, bound func(int) float64) Histogram {
	h := Histogram{Count: count, Sum: sum, Buckets: make([]Bucket, 0, n)}
	var cum uint64
	for i := range n {
		cum += buckets[i].Load()
		h.Buckets = append(h.Buckets, Bucket{UpperBound: bound(i), Count: cum})
	}
	return h
}

// Histogram is a distribution as Prometheus exposes one: cumulative counts
// of the observations at or below each bucket's upper bound, their number
// and their sum. Bounds are powers of two (of microseconds, in seconds, for
// latencies) and always the same ones.
type Histogram struct {
	Buckets []Bucket
	Count   uint64
	Sum     float64
}

// Bucket is one cumulative bucket of a Histogram.
type Bucket struct {
	UpperBound float64
	Count      uint64
}

type stats struct {
	groups, frames, bytes, fsyncs, truncated, tornTails atomic.Uint64
	commitLatency, syncLatency                          latencyHistogram
	groupFrames                                         countHistogram
}

// Stats is a snapshot of the log's counters since Open.
type Stats struct {
	// FirstLSN and DurableLSN bound the frames in the log.
	FirstLSN, DurableLSN uint64
	// AppliedLSN is the last LSN applied and acknowledged.
	AppliedLSN uint64
	// Segments is how many segment files the log holds; Bytes their size.
	Segments int
	Bytes    int64
	// Frames and Groups written; Frames/Groups is the group-commit factor.
	Frames, Groups uint64
	// BytesWritten since Open.
	BytesWritten uint64
	// Fsyncs issued since Open.
	Fsyncs uint64
	// SegmentsTruncated since Open.
	SegmentsTruncated uint64
	// TornTails is how many torn tails recovery cut off at Open.
	TornTails uint64
	// CommitP50, CommitP99 and CommitMean are commit latencies, from the
	// call to the acknowledgement (histogram bucket upper bounds).
	CommitP50, CommitP99, CommitMean time.Duration
	// SyncMean is the mean fdatasync latency.
	SyncMean time.Duration
	// SyncLatency and CommitLatency are the distributions of fdatasync
	// and commit latencies (seconds); GroupFrames that of the frames each
	// group commit wrote.
	SyncLatency, CommitLatency, GroupFrames Histogram
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	s := Stats{
		DurableLSN:        l.durable.Load(),
		AppliedLSN:        l.applied.Load(),
		Frames:            l.stats.frames.Load(),
		Groups:            l.stats.groups.Load(),
		BytesWritten:      l.stats.bytes.Load(),
		Fsyncs:            l.stats.fsyncs.Load(),
		SegmentsTruncated: l.stats.truncated.Load(),
		TornTails:         l.stats.tornTails.Load(),
		CommitP50:         l.stats.commitLatency.quantile(0.5),
		CommitP99:         l.stats.commitLatency.quantile(0.99),
		SyncLatency:       l.stats.syncLatency.snapshot(),
		CommitLatency:     l.stats.commitLatency.snapshot(),
		GroupFrames:       l.stats.groupFrames.snapshot(),
	}
	if n := l.stats.commitLatency.count.Load(); n > 0 {
		s.CommitMean = time.Duration(l.stats.commitLatency.sum.Load() / int64(n))
	}
	if n := l.stats.syncLatency.count.Load(); n > 0 {
		s.SyncMean = time.Duration(l.stats.syncLatency.sum.Load() / int64(n))
	}
	l.mu.Lock()
	s.FirstLSN = l.segs.first()
	s.Segments = l.segs.len()
	s.Bytes = l.segs.bytes()
	l.mu.Unlock()
	return s
}
