package wal

import (
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Durability says when a commit is acknowledged.
type Durability int

const (
	// Sync acknowledges a commit only after its frame is fdatasynced. It is
	// the default.
	Sync Durability = iota
	// NoSync acknowledges once the frame is written to the file, without a
	// sync: a process crash keeps it, a machine crash may not. For tests and
	// test doubles.
	NoSync
)

func (d Durability) String() string {
	if d == NoSync {
		return "nosync"
	}
	return "sync"
}

// Logger receives the log's rare notices (a torn tail cut off at recovery).
// pebble.DefaultLogger satisfies it.
type Logger interface {
	Infof(format string, args ...any)
	Errorf(format string, args ...any)
}

// Options configure a Log. A nil *Options means all defaults. Open works on
// a copy and never writes to the caller's struct.
type Options struct {
	// FS is the filesystem every file operation goes through. Defaults to
	// vfs.Default.
	FS vfs.FS
	// Durability defaults to Sync.
	Durability Durability
	// SegmentSize is the size at which the active segment is sealed and a new
	// one started. Defaults to 64 MiB. A single frame larger than it gets a
	// segment of its own.
	SegmentSize int64
	// MaxFrameSize caps a frame's payload; larger commits are refused with
	// ErrFrameTooLarge before anything is written. Defaults to 64 MiB.
	MaxFrameSize int
	// Logger defaults to a logger that discards.
	Logger Logger
	// Now is the clock stamped into frames. Defaults to time.Now.
	Now func() time.Time
	// Apply, if set, is called by the log's applier goroutine with each
	// group of frames once they are durable, in LSN order and before any of
	// their commits is acknowledged. Frames' payloads are shared: Apply must
	// not modify or keep them. An error fails the log (see ErrFailed).
	Apply func(frames []*Frame) error
	// NextLSN is the LSN of the first frame of a log that has no segments
	// yet: a log created under stores restored from a checkpoint continues
	// their numbering. Defaults to 1. Ignored when segments exist.
	NextLSN uint64
	// Epoch is the epoch stamped into frames of a log that has no segments
	// yet. Defaults to 1. Ignored when segments exist (the last frame's epoch
	// is used).
	Epoch uint64
}

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.SegmentSize <= 0 {
		c.SegmentSize = 64 << 20
	}
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = discardLogger{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NextLSN == 0 {
		c.NextLSN = 1
	}
	if c.Epoch == 0 {
		c.Epoch = 1
	}
	return c
}
