package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// queueStates are the label values of host_queue_entries, fixed so that a
// host has the same four series whatever its queue holds.
var queueStates = [...]string{"ready", "delayed", "leased", "suspended"}

// collectMessageBox emits the MessageBox's figures.
func (c *Collector) collectMessageBox(ch chan<- prometheus.Metric) error {
	mb, err := c.opts.Group.MessageBox()
	if err != nil {
		return err
	}
	if err := mb.Err(); err != nil {
		return err
	}
	s := mb.Stats()
	d := c.d
	gauge(ch, d.spool, float64(s.Messages))
	gauge(ch, d.entries, float64(s.Entries))
	for host, q := range s.Hosts {
		for i, v := range [...]int{q.Ready, q.Delayed, q.Leased, q.Suspended} {
			ch <- prometheus.MustNewConstMetric(d.queue, prometheus.GaugeValue, float64(v), host, queueStates[i])
		}
	}
	gauge(ch, d.suspended, float64(s.Suspended))
	gauge(ch, d.suspendedResumable, float64(s.SuspendedResumable))
	gauge(ch, d.routing, float64(s.RoutingFailures))
	counter(ch, d.published, float64(s.Published))
	counter(ch, d.delivered, float64(s.Delivered))
	counter(ch, d.completed, float64(s.Completed))
	gauge(ch, d.publishRate, s.PublishRate)
	gauge(ch, d.completeRate, s.CompleteRate)
	ch <- prometheus.MustNewConstMetric(d.throttle, prometheus.GaugeValue, float64(s.PublishThrottle), "publish")
	ch <- prometheus.MustNewConstMetric(d.throttle, prometheus.GaugeValue, float64(s.DeliveryThrottle), "delivery")
	gauge(ch, d.instances, float64(s.Instances))
	gauge(ch, d.zombies, float64(s.Zombies))
	return nil
}

// collectTracking emits the tracking decoder's counters and, with
// Options.TrackingScan, the purge figures that cost a full scan.
func (c *Collector) collectTracking(ctx context.Context, ch chan<- prometheus.Metric) error {
	tr, err := c.opts.Group.Tracking()
	if err != nil {
		return err
	}
	ds := tr.DecodeStats()
	counter(ch, c.d.trackDecoded, float64(ds.Decoded))
	counter(ch, c.d.trackFailed, float64(ds.Failed))
	boolGauge(ch, c.d.trackError, ds.Err != nil)
	gauge(ch, c.d.trackBacklog, float64(ds.Backlog))
	if !c.opts.TrackingScan {
		return nil
	}
	st, err := tr.Stats(ctx)
	if err != nil {
		return err
	}
	gauge(ch, c.d.trackPurgeLag, st.PurgeLag.Seconds())
	gauge(ch, c.d.trackDiskBytes, float64(st.DiskBytes))
	return nil
}

// collectBAM emits BAM's decoder figures.
func (c *Collector) collectBAM(ctx context.Context, ch chan<- prometheus.Metric) error {
	b := c.opts.BAM
	gauge(ch, c.d.bamPosition, float64(b.Applied()))
	gauge(ch, c.d.bamBacklog, float64(b.Backlog()))
	n, err := b.FailedEvents(ctx)
	if err != nil {
		return err
	}
	gauge(ch, c.d.bamFailed, float64(n))
	return nil
}
