package biztier

import (
	"errors"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
)

var (
	// ErrClosed is returned by every call on a Group after Close. It is the
	// same error the stores return, so errors.Is matches either.
	ErrClosed = store.ErrClosed

	// ErrLocked is returned by Open when another Group (in this process or
	// another) has the directory open.
	ErrLocked = errors.New("biztier: group directory is in use")

	// ErrNotGroup is returned by Open for a directory that holds files but
	// is not a biztier group.
	ErrNotGroup = errors.New("biztier: not a group directory")

	// ErrFormatTooNew is returned by Open for a group written by a newer
	// version of biztier.
	ErrFormatTooNew = errors.New("biztier: group format newer than this build")

	// ErrCorrupt marks damage found in the group's log or stores. It is the
	// log's corruption marker: errors.Is(err, wal.ErrCorrupt) holds too.
	ErrCorrupt = wal.ErrCorrupt
)
