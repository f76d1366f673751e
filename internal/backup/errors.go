package backup

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/wal"
)

var (
	// ErrCorrupt marks a backup file whose checksum, frames or manifest are
	// damaged. It is the module's corruption marker (wal.ErrCorrupt), so
	// errors.Is(err, wal.ErrCorrupt) holds too.
	ErrCorrupt = wal.ErrCorrupt

	// ErrNoBackup is returned when storage holds no complete full backup
	// of the group that can serve the request.
	ErrNoBackup = errors.New("backup: no usable full backup")

	// ErrChainBroken is returned by a log backup when the log no longer
	// holds the frames after the last backup set: a full backup is needed
	// to start a new chain.
	ErrChainBroken = errors.New("backup: log backup chain broken")

	// ErrTargetNotFound is returned by a restore whose target (mark, LSN or
	// time) is not covered by the backup sets.
	ErrTargetNotFound = errors.New("backup: restore target not in the backups")

	// ErrNotEmpty is returned by a restore into a directory that holds
	// something other than an unfinished restore.
	ErrNotEmpty = errors.New("backup: restore directory is not empty")

	// ErrInconsistent is returned by Standby.Activate when the standby's
	// stores stand at different LSNs (a crash interrupted a catch-up) and
	// the catch-up that would bring them together failed: activating then
	// would make a group whose stores cannot agree with its log.
	ErrInconsistent = errors.New("backup: standby stores are not at one lsn")
)

// GapError reports LSNs that no backup set holds between two that do. It
// wraps ErrCorrupt: a missing log file breaks the chain as a damaged one does.
type GapError struct {
	// From and To bound the missing LSNs, inclusive.
	From, To uint64
	// After names the set (or file) that ends before the gap, Before the
	// one that starts after it ("" if none).
	After, Before string
	// File, if set, is the file that should hold the range but is gone.
	File string
}

func (e *GapError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("backup: log lsns %d..%d are missing: %s is gone", e.From, e.To, e.File)
	}
	if e.Before == "" {
		return fmt.Sprintf("backup: log lsns %d..%d are missing: no backup file holds them after %s", e.From, e.To, e.After)
	}
	return fmt.Sprintf("backup: log lsns %d..%d are missing between %s and %s", e.From, e.To, e.After, e.Before)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *GapError) Unwrap() error { return ErrCorrupt }

// FileError reports a backup file that is missing or damaged.
type FileError struct {
	// File is the file's name in the storage.
	File   string
	Reason string
	Err    error
}

func (e *FileError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("backup: %s: %s: %v", e.File, e.Reason, e.Err)
	}
	return fmt.Sprintf("backup: %s: %s", e.File, e.Reason)
}

// Unwrap returns ErrCorrupt and the underlying error, so both errors.Is
// (err, ErrCorrupt) and, for a missing file, errors.Is(err, os.ErrNotExist)
// hold.
func (e *FileError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrCorrupt, e.Err}
	}
	return []error{ErrCorrupt}
}
