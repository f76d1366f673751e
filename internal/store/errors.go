package store

import (
	"errors"

	"github.com/biztier/biztier/internal/sentinel"
)

var (
	// ErrClosed is returned by calls made after Close.
	ErrClosed = sentinel.New("store: closed", sentinel.ErrClosed)
	// ErrForbiddenRecord is returned by Commit for a batch holding a record
	// kind that cannot be replayed deterministically on another node
	// (SingleDelete, whose effect depends on compaction timing) or that
	// cannot live in a batch at all (ingest, excise).
	ErrForbiddenRecord = errors.New("store: record kind not allowed in a replicated batch")
	// ErrFormatTooNew is returned by Open for a store written by a newer
	// version of biztier.
	ErrFormatTooNew = errors.New("store: format version newer than this build")
	// ErrBehindLog is returned by Open when a store needs frames the log no
	// longer holds, or is ahead of the log (a NoSync crash): its contents
	// cannot be reconciled with the log.
	ErrBehindLog = errors.New("store: store and log disagree")
	// ErrWrongDatabase is returned by Open for a store directory that holds
	// another database (directories swapped or misconfigured).
	ErrWrongDatabase = errors.New("store: directory holds another database")
)
