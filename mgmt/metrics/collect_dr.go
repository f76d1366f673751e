package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/biztier/biztier/cluster"
)

// roles and syncStates are the label values of cluster_role and
// cluster_sync_state, fixed so that the series stay the same when the node
// changes role.
var (
	roles      = [...]cluster.Role{cluster.Starting, cluster.Passive, cluster.Active, cluster.Closed}
	syncStates = [...]string{"sync", "catching-up", "degraded", "async", "fenced"}
)

// collectShipping emits the backup job's figures.
func (c *Collector) collectShipping(ch chan<- prometheus.Metric) {
	s := c.opts.Shipping.Status()
	d := c.d
	age := 0.0
	if !s.LastRun.IsZero() {
		age = c.opts.Now().Sub(s.LastRun).Seconds()
	}
	gauge(ch, d.backupAge, age)
	ch <- prometheus.MustNewConstMetric(d.backupRuns, prometheus.CounterValue, float64(s.Fulls), "full")
	ch <- prometheus.MustNewConstMetric(d.backupRuns, prometheus.CounterValue, float64(s.Runs-s.Fulls), "log")
	gauge(ch, d.shippedLSN, float64(s.ShippedLSN))
	gauge(ch, d.shipLagFrames, float64(s.LagLSN))
	gauge(ch, d.shipLagSeconds, s.LagTime.Seconds())
	boolGauge(ch, d.shipError, s.LastErr != nil)
}

// collectNode emits the cluster node's figures.
func (c *Collector) collectNode(ch chan<- prometheus.Metric) {
	s := c.opts.Node.Status()
	d := c.d
	for _, r := range roles {
		boolGauge(ch, d.role, s.Role == r, r.String())
	}
	gauge(ch, d.epoch, float64(s.Epoch))
	for _, st := range syncStates {
		boolGauge(ch, d.syncState, s.SyncState == st, st)
	}
	gauge(ch, d.lagFrames, float64(s.LagLSN))
	gauge(ch, d.lagSeconds, s.LagTime.Seconds())
	boolGauge(ch, d.peerConnected, s.PeerConnected)
	boolGauge(ch, d.alarm, s.Alarm != nil)
}
