package metrics

import (
	"context"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/wal"
)

// Collector is a prometheus.Collector for one group. Register it with a
// prometheus.Registry; each scrape reads the group's counters afresh. It is
// safe for concurrent use, as the registry requires.
type Collector struct {
	opts Options
	d    *descs
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector over opts.Group. It fails with ErrNoGroup if
// opts.Group is nil.
func New(opts Options) (*Collector, error) {
	if opts.Group == nil {
		return nil, ErrNoGroup
	}
	o := opts.withDefaults()
	return &Collector{opts: o, d: newDescs(o.Namespace)}, nil
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A subsystem it cannot read (a
// closed group, say) is reported by biztier_scrape_error{subsystem} = 1 and
// its figures are left out; the scrape itself does not fail, so the other
// figures still arrive.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	c.report(ch, "wal", c.collectLog(ch))
	c.report(ch, "messagebox", c.collectMessageBox(ch))
	c.report(ch, "tracking", c.collectTracking(ctx, ch))
	if c.opts.BAM != nil {
		c.report(ch, "bam", c.collectBAM(ctx, ch))
	}
	if c.opts.Shipping != nil {
		c.collectShipping(ch)
	}
	if c.opts.Node != nil {
		c.collectNode(ch)
	}
}

// report emits the scrape error gauge of one subsystem.
func (c *Collector) report(ch chan<- prometheus.Metric, subsystem string, err error) {
	v := 0.0
	if err != nil {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(c.d.scrapeError, prometheus.GaugeValue, v, subsystem)
}

// collectLog emits the log's figures and each database's applied LSN.
func (c *Collector) collectLog(ch chan<- prometheus.Metric) error {
	s := c.opts.Group.Stats()
	d := c.d
	gauge(ch, d.walLSN, float64(s.LSN))
	gauge(ch, d.walFirstLSN, float64(s.FirstLSN))
	gauge(ch, d.walBytes, float64(s.LogBytes))
	gauge(ch, d.walSegments, float64(s.LogSegments))
	counter(ch, d.walCommits, float64(s.Commits))
	counter(ch, d.walFsyncs, float64(s.Fsyncs))
	gauge(ch, d.walFramesPerFsync, s.FramesPerFsync)
	// The quantiles stay for dashboards that read them; the histograms
	// below carry the distribution.
	gauge(ch, d.walCommitP50, s.CommitP50.Seconds())
	gauge(ch, d.walCommitP99, s.CommitP99.Seconds())
	histogram(ch, d.walFsyncSeconds, s.FsyncLatency)
	histogram(ch, d.walCommitSeconds, s.CommitLatency)
	histogram(ch, d.walGroupFrames, s.GroupFrames)
	dbs := make([]biztier.Database, 0, len(s.Applied))
	for db := range s.Applied {
		dbs = append(dbs, db)
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i] < dbs[j] })
	for _, db := range dbs {
		applied := s.Applied[db]
		ch <- prometheus.MustNewConstMetric(d.appliedLSN, prometheus.GaugeValue, float64(applied), db.String())
		lag := 0.0
		if s.LSN > applied {
			lag = float64(s.LSN - applied)
		}
		ch <- prometheus.MustNewConstMetric(d.applyLag, prometheus.GaugeValue, lag, db.String())
	}
	return nil
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
}

// histogram emits one of the log's histograms.
func histogram(ch chan<- prometheus.Metric, d *prometheus.Desc, h wal.Histogram) {
	buckets := make(map[float64]uint64, len(h.Buckets))
	for _, b := range h.Buckets {
		buckets[b.UpperBound] = b.Count
	}
	ch <- prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
}

func boolGauge(ch chan<- prometheus.Metric, d *prometheus.Desc, b bool, labels ...string) {
	v := 0.0
	if b {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}
