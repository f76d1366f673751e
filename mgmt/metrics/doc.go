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
// # Histograms
//
// The log's fdatasync and commit latencies and its group-commit sizes are
// Prometheus histograms (biztier_wal_fsync_duration_seconds,
// biztier_wal_commit_duration_seconds, biztier_wal_group_commit_frames)
// with fixed power-of-two buckets, so they add no series as traffic grows.
// The tracking decoder's backlog is a gauge (MessageBox commits not yet
// taken in). BAM reports its decoder's spool position, not the spool's
// newest number, so its lag is not exported.
//
// Tracking's purge lag needs a scan of the whole tracking database
// (tracking.Store.Stats); it is collected only when Options.TrackingScan is
// set.
package metrics
