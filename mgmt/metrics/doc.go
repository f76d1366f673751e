// Package metrics exports a biztier group's counters to Prometheus: a
// prometheus.Collector that reads the group's Stats, the MessageBox's, the
// tracking decoder's, optionally BAM's, the log-shipping job's and a cluster
// node's status at each scrape. It keeps no state of its own between scrapes,
// so the series it exposes are exactly those of the group at scrape time.
//
// # Names
//
// Every name starts with the namespace ("biztier" by default) and the
// subsystem that owns the figure (messagebox, wal, tracking, bam, backup,
// cluster), uses base units (seconds, bytes) and ends counters in _total.
// Labels never carry a message, an instance or a subscription: only hosts,
// databases and fixed state names, so the number of series depends on the
// group's configuration, not on the traffic.
//
// # What the public API does not expose
//
// Some figures an operator asks for are not in the database packages' public
// API, and this package does not reach past it:
//
//   - deliveries (dequeues) are not counted by messagebox.Stats, only
//     publishes and completes;
//   - the log's fdatasync latency is not in biztier.Stats (wal.Stats has a
//     mean, but the Group does not hand out its log), so there is no fsync
//     latency histogram, only the commit latency quantiles the Group reports;
//   - the group-commit batch size is a mean (FramesPerFsync), not a histogram;
//   - the tracking decoder reports records decoded and failed, not how many
//     wait (its backlog); BAM reports the decoder's spool position but not the
//     spool's newest number.
//
// Tracking's purge lag needs a scan of the whole tracking database
// (tracking.Store.Stats); it is collected only when Options.TrackingScan is
// set.
package metrics
