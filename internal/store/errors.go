package store

import (
	"errors"

	"github.com/biztier/biztier/internal/sentinel"
	"github.com/biztier/biztier/wal"
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
	// ErrFrameTooLarge is returned by Commit for a transaction bigger than
	// one log frame; nothing was written.
	ErrFrameTooLarge = wal.ErrFrameTooLarge
	// ErrForeignDatabase is returned by Txn.Batch for a reader that is not
	// one of the Txn's Set's stores: a transaction of one group handed to
	// another group's database.
	ErrForeignDatabase = errors.New("store: database of another group")
	// ErrTxnDone is returned by Txn.Batch after the Txn committed or
	// aborted.
	ErrTxnDone = errors.New("store: transaction has ended")
	// ErrBatchKind is returned by Txn.IndexedBatch when the Txn already
	// writes that store through a plain batch.
	ErrBatchKind = errors.New("store: indexed batch asked after a plain one")
	// ErrWrongDatabase is returned by Open for a store directory that holds
	// another database (directories swapped or misconfigured).
	ErrWrongDatabase = errors.New("store: directory holds another database")
)
