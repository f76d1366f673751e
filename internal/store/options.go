package store

import (
	"fmt"
	"log"
	"time"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure a Set. A nil *Options means defaults; Open works on a
// copy.
type Options struct {
	// FS is used for the log and every store. Defaults to vfs.Default.
	FS vfs.FS
	// Durability of commits. Defaults to wal.Sync.
	Durability wal.Durability
	// Logger receives Pebble's and the log's notices. Defaults to one that
	// drops informational lines and writes errors to the standard logger.
	Logger pebble.Logger
	// WALDir is the log's directory. Required.
	WALDir string
	// Dirs gives each database's directory. Required for every ID in All.
	Dirs map[ID]string
	// MemTableSize is Pebble's memtable size for the MessageBox; the other
	// stores use a quarter of it. Defaults to 64 MiB: measured on this kind
	// of machine, the durable publish rate doubled from 4 MiB to 64 MiB.
	MemTableSize uint64
	// CacheSize is the block cache shared by all stores. Defaults to 64 MiB.
	CacheSize int64
	// CheckpointInterval is how often the checkpointer flushes the stores
	// and truncates the log. Defaults to one minute; negative disables the
	// background checkpointer (Checkpoint can still be called, and Close
	// always runs one).
	CheckpointInterval time.Duration
	// CheckpointBytes triggers a checkpoint once the log has grown by this
	// many bytes since the last one. Defaults to 256 MiB.
	CheckpointBytes int64
	// SegmentSize and MaxFrameSize are passed to the log (see wal.Options).
	SegmentSize  int64
	MaxFrameSize int
	// Now is the clock stamped into frames. Defaults to time.Now.
	Now func() time.Time
	// DeferReplay leaves the stores where they are at Open instead of
	// replaying the log into them; Replay (or TruncateTail) does it later.
	// Until then Checkpoint does nothing. For replication, which must
	// decide how much of the log's tail to keep first.
	DeferReplay bool
}

// quietLogger keeps Pebble's routine flush and compaction lines out of an
// application's output while still reporting its errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	log.Printf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	log.Fatalf(format, args...)
}

// PanicLogger is a Logger for tests: Pebble's default Fatalf exits the
// process, which would hide the failing test.
type PanicLogger struct{}

// Infof discards.
func (PanicLogger) Infof(string, ...any) {}

// Errorf discards: errors also come back as returned errors.
func (PanicLogger) Errorf(string, ...any) {}

// Fatalf panics.
func (PanicLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.Logger == nil {
		c.Logger = quietLogger{}
	}
	if c.MemTableSize == 0 {
		c.MemTableSize = 64 << 20
	}
	if c.CacheSize == 0 {
		c.CacheSize = 64 << 20
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = time.Minute
	}
	if c.CheckpointBytes <= 0 {
		c.CheckpointBytes = 256 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.WALDir == "" {
		return c, fmt.Errorf("store: options: WALDir is required")
	}
	for _, id := range All {
		if c.Dirs[id] == "" {
			return c, fmt.Errorf("store: options: no directory for database %s", id)
		}
	}
	return c, nil
}
