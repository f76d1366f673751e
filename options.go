package biztier

import (
	"log/slog"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/tracking"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Durability says when a commit is acknowledged.
type Durability = wal.Durability

const (
	// Sync acknowledges a commit once its log frame is fdatasynced. Default.
	Sync = wal.Sync
	// NoSync acknowledges once the frame is written, without a sync: a
	// machine crash may lose recent commits. For tests and test doubles.
	NoSync = wal.NoSync
)

// Logger receives notices from the log and the Pebble stores;
// pebble.DefaultLogger satisfies it. Fatalf must not return.
type Logger = pebble.Logger

// Dirs places each database of the group. BizTalk puts each database (and
// its log) on disks of its own; so can a Group. An empty field defaults to a
// subdirectory of the group directory named after the database.
type Dirs struct {
	// Log is the transaction log's directory. Defaults to <dir>/wal.
	Log string
	// MessageBox defaults to <dir>/messagebox.
	MessageBox string
	// Tracking defaults to <dir>/tracking.
	Tracking string
	// Management defaults to <dir>/mgmt.
	Management string
	// SSO defaults to <dir>/sso.
	SSO string
	// BAM defaults to <dir>/bam.
	BAM string
	// Rules defaults to <dir>/rules.
	Rules string
}

// Options configure a Group. A nil *Options means all defaults. Open works
// on a copy and never writes to the caller's struct.
type Options struct {
	// FS is the filesystem for every file of the group. Defaults to
	// vfs.Default (the OS). OpenInMemory uses vfs.NewMem().
	FS vfs.FS
	// Durability defaults to Sync.
	Durability Durability
	// Logger defaults to one that drops Pebble's informational lines and
	// prints errors with the standard log package.
	Logger Logger
	// Events receives the group's operational events as structured logs:
	// open (with what recovery replayed) and close at Info, and failures
	// of background work (the tracking decoder and purge, the backup job)
	// at Warn. Nothing is logged per message, and never a secret. Nil
	// discards them.
	Events *slog.Logger
	// Dirs places the log and the databases; see Dirs for defaults.
	Dirs Dirs
	// MemTableSize is the MessageBox's Pebble memtable size (the other
	// databases use a quarter). Defaults to 64 MiB.
	MemTableSize uint64
	// CheckpointInterval is how often stores are flushed and the log
	// truncated. Defaults to one minute; negative turns the background
	// checkpointer off (Close still checkpoints).
	CheckpointInterval time.Duration
	// SegmentSize is the log's segment size. Defaults to 64 MiB.
	SegmentSize int64
	// MaxFrameSize caps one commit's size. Defaults to 64 MiB.
	MaxFrameSize int
	// MessageBox configures the MessageBox (clock, fragment size,
	// compression, retry defaults). Nil means its defaults.
	MessageBox *messagebox.Options
	// Management configures the Management database. Nil means defaults.
	Management *mgmt.Options
	// Tracking configures the Tracking database (what is tracked, purge
	// windows, archive directory). Nil means its defaults, with the archive
	// in <dir>/tracking-archive on FS and the group's clock.
	Tracking *tracking.Options
	// DisableTracking keeps the MessageBox from recording tracking events.
	// Tracking is on by default, as in BizTalk.
	DisableTracking bool
	// Clock is the group's clock, set once for every database: the log's
	// frame times, the MessageBox's leases, retries, schedules and service
	// windows (unless Options.MessageBox sets its own), Tracking's event
	// times, Management's export stamps, SSO's tickets and audit, and the
	// rule store's history. A messagebox.ManualClock runs the whole group
	// on virtual time in tests. Defaults to Now's time with real timers,
	// and to the system clock without Now.
	Clock messagebox.Clock
	// Now is the group's time when Clock is not set. Prefer Clock: with
	// Now alone, waits (leases, retry intervals) still use real timers.
	Now func() time.Time
}

// nowClock is a Clock from a time function and the system's timers.
type nowClock struct{ now func() time.Time }

func (c nowClock) Now() time.Time                         { return c.now() }
func (c nowClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
