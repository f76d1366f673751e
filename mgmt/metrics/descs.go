package metrics

import "github.com/prometheus/client_golang/prometheus"

// descs are the collector's metric descriptions, made once by New. Labels
// are hosts, databases and fixed state names only (see the package doc).
type descs struct {
	scrapeError *prometheus.Desc

	// The log (biztier.Stats).
	walLSN, walFirstLSN, walBytes, walSegments *prometheus.Desc
	walCommits, walFsyncs, walFramesPerFsync   *prometheus.Desc
	walCommitP50, walCommitP99                 *prometheus.Desc
	walFsyncSeconds, walCommitSeconds          *prometheus.Desc
	walGroupFrames                             *prometheus.Desc
	appliedLSN, applyLag                       *prometheus.Desc

	// The MessageBox (messagebox.Stats).
	spool, entries, queue                  *prometheus.Desc
	suspended, suspendedResumable, routing *prometheus.Desc
	published, delivered, completed        *prometheus.Desc
	publishRate, completeRate              *prometheus.Desc
	throttle, instances, zombies           *prometheus.Desc

	// The tracking decoder and purge.
	trackDecoded, trackFailed, trackError *prometheus.Desc
	trackBacklog                          *prometheus.Desc
	trackPurgeLag, trackDiskBytes         *prometheus.Desc

	// BAM's decoder.
	bamPosition, bamFailed, bamBacklog *prometheus.Desc

	// Backup and log shipping.
	backupAge, backupRuns, shippedLSN, shipLagFrames, shipLagSeconds, shipError *prometheus.Desc

	// The cluster node.
	role, epoch, syncState, lagFrames, lagSeconds, peerConnected, alarm *prometheus.Desc
}

func newDescs(ns string) *descs {
	d := func(sub, name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, sub, name), help, labels, nil)
	}
	return &descs{
		scrapeError: d("", "scrape_error", "1 if the last scrape could not read the subsystem, else 0.", "subsystem"),

		walLSN:            d("wal", "durable_lsn", "Last durable log sequence number."),
		walFirstLSN:       d("wal", "first_lsn", "Oldest log sequence number still in the log."),
		walBytes:          d("wal", "size_bytes", "Size of the log's segments on disk."),
		walSegments:       d("wal", "segments", "Number of log segment files."),
		walCommits:        d("wal", "commits_total", "Frames committed since the group was opened."),
		walFsyncs:         d("wal", "fsyncs_total", "fdatasync calls on the log since the group was opened."),
		walFramesPerFsync: d("wal", "frames_per_fsync", "Mean number of frames one fsync carried (group-commit batch size)."),
		walCommitP50:      d("wal", "commit_latency_p50_seconds", "Median commit latency since the group was opened (a histogram bucket's upper bound)."),
		walCommitP99:      d("wal", "commit_latency_p99_seconds", "99th percentile commit latency since the group was opened (a histogram bucket's upper bound)."),
		walFsyncSeconds:   d("wal", "fsync_duration_seconds", "fdatasync latency of the log since the group was opened."),
		walCommitSeconds:  d("wal", "commit_duration_seconds", "Commit latency, from the call to the acknowledgement, since the group was opened."),
		walGroupFrames:    d("wal", "group_commit_frames", "Frames each group commit wrote with one fsync, since the group was opened."),
		appliedLSN:        d("database", "applied_lsn", "Last log sequence number the database has applied.", "database"),
		applyLag:          d("database", "apply_lag_frames", "Frames of the log the database has not applied yet.", "database"),

		spool:              d("messagebox", "spool_messages", "Messages stored in the MessageBox (the spool)."),
		entries:            d("messagebox", "entries", "Queue and suspended entries in the MessageBox."),
		queue:              d("messagebox", "host_queue_entries", "Entries of a host's queue by state.", "host", "state"),
		suspended:          d("messagebox", "suspended_entries", "Suspended entries, resumable or not."),
		suspendedResumable: d("messagebox", "suspended_resumable_entries", "Suspended entries that can be resumed."),
		routing:            d("messagebox", "routing_failure_reports", "Routing failure reports (suspended, not resumable)."),
		published:          d("messagebox", "published_messages_total", "Messages published since the MessageBox was opened."),
		delivered:          d("messagebox", "delivered_entries_total", "Deliveries handed out since the MessageBox was opened (a redelivery counts again)."),
		completed:          d("messagebox", "completed_entries_total", "Entries completed since the MessageBox was opened."),
		publishRate:        d("messagebox", "publish_rate_per_second", "Messages published per second, averaged over the last minute."),
		completeRate:       d("messagebox", "complete_rate_per_second", "Entries completed per second, averaged over the last minute."),
		throttle:           d("messagebox", "throttling_state", "Throttling state code (0 none, 3 in-flight, 6 database growth), as BizTalk's counters.", "direction"),
		instances:          d("messagebox", "service_instances", "Service instances in the MessageBox."),
		zombies:            d("messagebox", "zombie_instances", "Service instances completed with discarded messages."),

		trackDecoded:   d("tracking", "decoded_records_total", "Tracking records the decoder took in since the group was opened."),
		trackFailed:    d("tracking", "decode_failed_records_total", "Tracking records kept aside because they could not be decoded."),
		trackError:     d("tracking", "decode_error", "1 if the decoder's last pass failed, else 0."),
		trackBacklog:   d("tracking", "decode_backlog_records", "MessageBox commits whose tracking records the decoder has not taken in yet (at most)."),
		trackPurgeLag:  d("tracking", "purge_lag_seconds", "How long the most overdue tracking record has been due for purge."),
		trackDiskBytes: d("tracking", "disk_bytes", "Size of the tracking database on disk."),

		bamPosition: d("bam", "decoder_position", "Spool number up to which BAM's decoder has moved events into the activity tables."),
		bamBacklog:  d("bam", "decode_backlog_events", "Spooled BAM events the decoder has not moved into the activity tables yet (at most)."),
		bamFailed:   d("bam", "failed_events", "BAM events kept aside because they could not be applied."),

		backupAge:      d("backup", "age_seconds", "Seconds since the backup job last ran."),
		backupRuns:     d("backup", "runs_total", "Backup job runs.", "kind"),
		shippedLSN:     d("backup", "shipped_lsn", "Last log sequence number in the newest shipped backup set."),
		shipLagFrames:  d("backup", "shipping_lag_frames", "Frames of the log not yet in a shipped set, as of the last run."),
		shipLagSeconds: d("backup", "shipping_lag_seconds", "Age of the newest shipped frame when frames were pending, as of the last run."),
		shipError:      d("backup", "last_run_error", "1 if the backup job's last run failed, else 0."),

		role:          d("cluster", "role", "1 for the node's current role, 0 for the others.", "role"),
		epoch:         d("cluster", "epoch", "The active's term as this node knows it."),
		syncState:     d("cluster", "sync_state", "1 for the pair's current sync state, 0 for the others.", "state"),
		lagFrames:     d("cluster", "replication_lag_frames", "Frames the passive lacks."),
		lagSeconds:    d("cluster", "replication_lag_seconds", "How long the passive has lacked frames."),
		peerConnected: d("cluster", "peer_connected", "1 if the other node's stream is up."),
		alarm:         d("cluster", "promotion_alarm", "1 while the node refuses a promotion it won (see cluster.Status.Alarm)."),
	}
}

// all lists every description, for Describe.
func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.scrapeError,
		d.walLSN, d.walFirstLSN, d.walBytes, d.walSegments, d.walCommits, d.walFsyncs, d.walFramesPerFsync, d.walCommitP50, d.walCommitP99, d.walFsyncSeconds, d.walCommitSeconds, d.walGroupFrames, d.appliedLSN, d.applyLag,
		d.spool, d.entries, d.queue, d.suspended, d.suspendedResumable, d.routing, d.published, d.delivered, d.completed, d.publishRate, d.completeRate, d.throttle, d.instances, d.zombies,
		d.trackDecoded, d.trackFailed, d.trackError, d.trackBacklog, d.trackPurgeLag, d.trackDiskBytes,
		d.bamPosition, d.bamFailed, d.bamBacklog,
		d.backupAge, d.backupRuns, d.shippedLSN, d.shipLagFrames, d.shipLagSeconds, d.shipError,
		d.role, d.epoch, d.syncState, d.lagFrames, d.lagSeconds, d.peerConnected, d.alarm,
	}
}
