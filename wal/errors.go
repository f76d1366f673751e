package wal

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
)

var (
	// ErrCorrupt marks damage to the log that recovery must not paper over:
	// a bad frame with good frames after it that were written once it was
	// durable, a gap in the LSN sequence, or a damaged sealed segment. Errors
	// that wrap it name the segment file and the byte offset.
	ErrCorrupt = sentinel.New("wal: corrupt log", sentinel.ErrCorruption)

	// ErrClosed is returned by calls made after Close.
	ErrClosed = sentinel.New("wal: log closed", sentinel.ErrClosed)

	// ErrFrameTooLarge is returned, before anything is written, for a
	// payload larger than Options.MaxFrameSize.
	ErrFrameTooLarge = errors.New("wal: frame too large")

	// ErrFailed is returned once a write or sync of the log has failed. After
	// such a failure the log refuses every further commit until it is closed
	// and reopened: whether the failed group reached the disk is unknown, and
	// recovery on reopen is what decides it (fsync errors are never retried).
	ErrFailed = errors.New("wal: log failed")

	// ErrTruncated is returned by NewReader for an LSN that retention has
	// already removed from the log.
	ErrTruncated = errors.New("wal: position truncated")

	// ErrVersion is returned by Open for a segment, and by DecodeFrame and
	// ReadFrame for a frame, written in a format version this build does
	// not read: a log written before format 2 (which moved the synced
	// watermark out of the frame) must be drained, or backed up and
	// restored, by the build that wrote it.
	ErrVersion = errors.New("wal: log format version not supported")
)

// CorruptError describes where the log is damaged. It wraps ErrCorrupt.
type CorruptError struct {
	// File is the segment file's path.
	File string
	// Offset is the byte offset of the damaged frame in File.
	Offset int64
	// LSN is the LSN expected at Offset (0 if unknown).
	LSN uint64
	// Reason says what was wrong.
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt log: %s at offset %d (lsn %d): %s", e.File, e.Offset, e.LSN, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }
