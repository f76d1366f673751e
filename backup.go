package biztier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/backup"
	"github.com/biztier/biztier/internal/store"
	"github.com/google/uuid"
)

// Backup and disaster-recovery errors. (They belong in errors.go; they are
// here while that file has another owner.)
var (
	// ErrNoBackup is returned when the backups hold no complete full
	// backup that can serve the request.
	ErrNoBackup = backup.ErrNoBackup
	// ErrBackupChainBroken is returned by BackupLog when the log no longer
	// holds the frames after the newest backup set: take a full Backup.
	ErrBackupChainBroken = backup.ErrChainBroken
	// ErrRestoreTarget is returned when a restore's mark, LSN or time is
	// not covered by the backups.
	ErrRestoreTarget = backup.ErrTargetNotFound
	// ErrRestoreDirNotEmpty is returned by a restore into a directory that
	// holds anything but the leftovers of an unfinished restore.
	ErrRestoreDirNotEmpty = backup.ErrNotEmpty

	// ErrStandbyInconsistent is returned by Standby.Activate when a crash
	// left the standby's databases at different LSNs and the catch-up that
	// would reconcile them failed. The standby is left as it was: a later
	// CatchUp repairs it.
	ErrStandbyInconsistent = backup.ErrInconsistent
)

// BackupGapError reports log LSNs missing from the backups: a missing or
// skipped log file. It wraps ErrCorruption.
type BackupGapError struct {
	// From and To bound the missing LSNs, inclusive.
	From, To uint64
	// After names the set (or file) that ends before the gap, Before the
	// one that starts after it ("" if none).
	After, Before string
	// File, if set, is the file that should hold the range but is gone.
	File string

	err error
}

func (e *BackupGapError) Error() string { return e.err.Error() }

// Unwrap makes errors.Is(err, ErrCorruption) hold.
func (e *BackupGapError) Unwrap() error { return e.err }

// BackupFileError reports a backup file that is missing or damaged (bad
// checksum, size or frames). It wraps ErrCorruption and, for a missing
// file, os.ErrNotExist.
type BackupFileError struct {
	// File is the file's name in the Shipper; Reason says what is wrong.
	File, Reason string

	err error
}

func (e *BackupFileError) Error() string { return e.err.Error() }

// Unwrap makes errors.Is(err, ErrCorruption) hold, and errors.Is(err,
// os.ErrNotExist) for a missing file.
func (e *BackupFileError) Unwrap() error { return e.err }

// drError gives the backup code's errors the public types: a gap or a
// damaged file found anywhere in err becomes a *BackupGapError or
// *BackupFileError that errors.As finds, wrapping the original.
func drError(err error) error {
	if err == nil {
		return nil
	}
	var gap *backup.GapError
	if errors.As(err, &gap) {
		return fmt.Errorf("%w", &BackupGapError{From: gap.From, To: gap.To, After: gap.After, Before: gap.Before, File: gap.File, err: err})
	}
	var fe *backup.FileError
	if errors.As(err, &fe) {
		return fmt.Errorf("%w", &BackupFileError{File: fe.File, Reason: fe.Reason, err: err})
	}
	return err
}

// BackupProgress reports how far a backup or restore is: raw bytes done
// of Total. Total is an estimate until the last report, which has Done ==
// Total.
type BackupProgress struct {
	Set         string
	Done, Total int64
}

// BackupOptions tune one Backup or BackupLog.
type BackupOptions struct {
	// MarkName names the mark the set ends at. Defaults to
	// BTS_FULL_<utc time> or BTS_LOG_<utc time>, as BizTalk names them.
	MarkName string
	// Progress, if set, is called from the calling goroutine as the set is
	// written.
	Progress func(BackupProgress)
}

func (o *BackupOptions) internal() *backup.Options {
	if o == nil {
		return nil
	}
	bo := &backup.Options{Name: o.MarkName}
	if o.Progress != nil {
		fn := o.Progress
		bo.Progress = func(p backup.Progress) { fn(BackupProgress{Set: p.Set, Done: p.Done, Total: p.Total}) }
	}
	return bo
}

// BackupSet describes a complete backup set.
type BackupSet struct {
	// Name is the set's directory name under sets/ in the backup storage.
	Name string
	// Full is set for a full backup (checkpoints of every database and the
	// log up to its mark), clear for a log backup.
	Full  bool
	Group uuid.UUID
	// Mark is the mark the set ends at; Marks every mark it holds.
	Mark  Mark
	Marks []Mark
	// First and Last bound the log frames it holds.
	First, Last       uint64
	Started, Finished time.Time
	// Bytes is its stored (compressed) size, RawBytes the uncompressed.
	Bytes, RawBytes int64
}

func setFrom(m *backup.Manifest) BackupSet {
	id, _ := uuid.Parse(m.Group)
	return BackupSet{
		Name: m.Set, Full: m.Kind == backup.Full, Group: id,
		Mark: markFrom(m.Mark), Marks: marksFrom(m.Marks),
		First: m.First, Last: m.Last, Started: m.Started, Finished: m.Finished,
		Bytes: m.Bytes(), RawBytes: m.RawBytes(),
	}
}

func (g *Group) source() backup.Source {
	return backup.Source{
		Set:        g.set,
		Group:      g.id.String(),
		FS:         g.opts.FS,
		StagingDir: g.opts.FS.PathJoin(g.dir, "backup-staging"),
		Mark:       g.Mark,
		Now:        g.opts.Now,
	}
}

// Backup takes a full backup of the group into to (see DirShipper): a
// Pebble checkpoint of every database, taken while commits continue, then
// a mark, then the log from the oldest checkpoint up to the mark, so the
// set restores to a state consistent across databases at the mark. Files
// are zstd-compressed with SHA-256 checksums in a manifest written last: a
// set without a manifest (a crashed backup) is never used. The log is
// pinned from before the checkpoints until the set is written.
func (g *Group) Backup(ctx context.Context, to Shipper, opts *BackupOptions) (*BackupSet, error) {
	ctx = store.Context(ctx)
	if g.closed.Load() {
		return nil, ErrClosed
	}
	g.backupMu.Lock()
	defer g.backupMu.Unlock()
	m, err := backup.WriteFull(ctx, g.source(), storageOf(to), opts.internal())
	if err != nil {
		return nil, fmt.Errorf("biztier: backup: %w", drError(err))
	}
	s := setFrom(m)
	return &s, nil
}

// BackupLog takes a log backup into to: a mark, then the log after the
// newest set of the group in to up to the mark (BizTalk's MarkAndBackupLog
// step). It fails with ErrNoBackup if to holds no set of the group yet and
// with ErrBackupChainBroken if the log has been truncated past the newest
// set; a full Backup starts a new chain. LogShipping runs it on a schedule
// and holds the log so that the chain never breaks while it runs.
func (g *Group) BackupLog(ctx context.Context, to Shipper, opts *BackupOptions) (*BackupSet, error) {
	ctx = store.Context(ctx)
	if g.closed.Load() {
		return nil, ErrClosed
	}
	m, err := backup.WriteLog(ctx, g.source(), storageOf(to), opts.internal())
	if err != nil {
		return nil, fmt.Errorf("biztier: backup log: %w", drError(err))
	}
	s := setFrom(m)
	return &s, nil
}

// ListBackups lists the complete backup sets in from, oldest mark first.
func ListBackups(ctx context.Context, from Shipper) ([]BackupSet, error) {
	ctx = store.Context(ctx)
	ms, err := backup.Catalog(ctx, storageOf(from))
	if err != nil {
		return nil, drError(err)
	}
	out := make([]BackupSet, len(ms))
	for i, m := range ms {
		out[i] = setFrom(m)
	}
	return out, nil
}

// BackupMarks lists the marks held by the complete backup sets in from of
// group (uuid.Nil for all groups), oldest first: the marks a Restore can
// stop at.
func BackupMarks(ctx context.Context, from Shipper, group uuid.UUID) ([]Mark, error) {
	ctx = store.Context(ctx)
	g := ""
	if group != uuid.Nil {
		g = group.String()
	}
	ms, err := backup.Marks(ctx, storageOf(from), g)
	if err != nil {
		return nil, drError(err)
	}
	return marksFrom(ms), nil
}

// BackupHistory is how long PruneBackups and LogShipping keep backup sets
// by default: BizTalk's 14 days.
const BackupHistory = 14 * 24 * time.Hour

// PruneBackups deletes the sets of group in from that no restore to a point
// within the last history needs (history <= 0 means BackupHistory): every
// set older than the newest full backup finished before now-history. The
// newest full backup and everything after it are never deleted, so the
// latest mark stays restorable. Sets left incomplete by a crashed backup
// are deleted once an hour old. It returns the names of the sets deleted.
func PruneBackups(ctx context.Context, from Shipper, group uuid.UUID, history time.Duration, now time.Time) ([]string, error) {
	ctx = store.Context(ctx)
	if history <= 0 {
		history = BackupHistory
	}
	return backup.Prune(ctx, storageOf(from), group.String(), history, now)
}
