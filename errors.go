package biztier

import (
	"errors"

	"github.com/biztier/biztier/internal/sentinel"
	"github.com/biztier/biztier/internal/store"
)

var (
	// ErrClosed is returned by every call on a Group after Close, and by
	// every call on a handle the Group gave out (the MessageBox, Tracking,
	// Management, the log, a cluster Node) once it is closed. Each package
	// has its own ErrClosed naming itself, and each wraps this one, so
	// errors.Is(err, ErrClosed) holds for any package's call.
	ErrClosed = sentinel.ErrClosed

	// ErrLocked is returned by Open when another Group (in this process or
	// another) has the directory open.
	ErrLocked = errors.New("biztier: group directory is in use")

	// ErrNotGroup is returned by Open for a directory that holds files but
	// is not a biztier group.
	ErrNotGroup = errors.New("biztier: not a group directory")

	// ErrFormatTooNew is returned by Open for a group written by a newer
	// version of biztier.
	ErrFormatTooNew = errors.New("biztier: group format newer than this build")

	// ErrStoreMismatch is returned by Open when a database's directory
	// cannot belong to this group's log: it is empty while the log has
	// moved past its start (the directory was lost or replaced), it is
	// behind the log's retained frames, or ahead of the log. The error
	// names the database and its directory.
	ErrStoreMismatch = store.ErrBehindLog

	// ErrWrongDatabase is returned by Open when a database's directory
	// holds another database of the group (directories swapped).
	ErrWrongDatabase = store.ErrWrongDatabase

	// ErrUnknownDatabase is returned for a Database value that names none
	// of the group's databases.
	ErrUnknownDatabase = errors.New("biztier: unknown database")

	// ErrCorruption marks damage found in the group's log, stores, backups
	// or any decoded value. Every package's corruption marker
	// (wal.ErrCorrupt, messagebox.ErrCorruption, ...) wraps it; test with
	// IsCorruption.
	ErrCorruption = sentinel.ErrCorruption

	// ErrCorrupt is the old name of ErrCorruption.
	//
	// Deprecated: use ErrCorruption or IsCorruption.
	ErrCorrupt = ErrCorruption
)

// IsCorruption reports whether err marks damaged data in any database,
// the log or a backup.
func IsCorruption(err error) bool { return errors.Is(err, sentinel.ErrCorruption) }
