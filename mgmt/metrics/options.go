package metrics

import (
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/cluster"
)

// Options configure a Collector. Only Group is required.
type Options struct {
	// Group is the group whose figures are collected. Required.
	Group *biztier.Group
	// Namespace prefixes every metric name. Defaults to "biztier".
	Namespace string
	// Node, if set, adds the pair's figures: role, epoch, sync state and
	// replication lag of this node.
	Node *cluster.Node
	// Shipping, if set, adds the backup job's figures: backup age, shipped
	// LSN and shipping lag.
	Shipping *biztier.LogShipping
	// BAM, if set, adds the BAM decoder's figures. The collector never opens
	// BAM itself: opening it starts its decoder.
	BAM *bam.Store
	// TrackingScan adds tracking's purge figures, which cost a scan of the
	// whole tracking database at each scrape. Defaults to off.
	TrackingScan bool
	// Timeout bounds the calls a scrape makes that take a context (BAM's
	// failed events, the tracking scan). Defaults to 5 seconds.
	Timeout time.Duration
	// Now is the clock used for ages. Defaults to time.Now.
	Now func() time.Time
}

// withDefaults returns a copy of o with its defaults filled in.
func (o Options) withDefaults() Options {
	if o.Namespace == "" {
		o.Namespace = "biztier"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
