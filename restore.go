package biztier

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/biztier/biztier/internal/backup"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// RestoreOptions configure Restore and OpenStandby. A nil *RestoreOptions
// means defaults.
type RestoreOptions struct {
	// FS is the filesystem of the directory restored into. Defaults to
	// vfs.Default.
	FS vfs.FS
	// Mark, LSN and Time choose the point restored to; set at most one.
	// Mark restores through the newest mark of that name (inclusive, or
	// up to the frame before it with BeforeMark), LSN through that LSN,
	// Time every frame committed at or before it. None set means the
	// newest mark in the backups. A Standby ignores them.
	Mark       string
	BeforeMark bool
	LSN        uint64
	Time       time.Time
	// Group selects the group whose sets to use when the backups hold
	// several. Defaults to the only group there.
	Group uuid.UUID
	// Progress, if set, is called from the calling goroutine as files are
	// restored.
	Progress func(BackupProgress)
	// Logger receives Pebble's notices while the databases are rebuilt.
	// Defaults to the same logger as Options.Logger's default.
	Logger Logger
	// Now stamps the new identity. Defaults to time.Now.
	Now func() time.Time
}

func (o *RestoreOptions) withDefaults() RestoreOptions {
	var c RestoreOptions
	if o != nil {
		c = *o
	}
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (o *RestoreOptions) validate() error {
	n := 0
	if o.Mark != "" {
		n++
	}
	if o.LSN != 0 {
		n++
	}
	if !o.Time.IsZero() {
		n++
	}
	if n > 1 {
		return fmt.Errorf("biztier: restore: set at most one of Mark, LSN and Time")
	}
	if o.BeforeMark && o.Mark == "" {
		return fmt.Errorf("biztier: restore: BeforeMark needs Mark")
	}
	return nil
}

// RestoreResult describes a restored group.
type RestoreResult struct {
	// ID is the restored group's new identity; From the backed-up group's.
	ID, From uuid.UUID
	// LSN and Time are the last frame restored; the restored group's log
	// continues at LSN+1. Time is zero when the backup's checkpoints were
	// exactly the target and no frame was replayed.
	LSN  uint64
	Time time.Time
	// Mark is the mark restored to, if the target was one (or the newest
	// mark); zero otherwise.
	Mark Mark
	// Base is the full backup set used; Sets every set read.
	Base string
	Sets []string
	// Bytes is the raw size of what was restored.
	Bytes int64
}

// Restore rebuilds a group in dir from the backup sets in from, up to the
// mark, LSN or time in opts (the newest mark by default). dir must be
// missing or empty, or left by a restore that did not finish. Before
// anything is written, every file needed is checked against its checksum
// and the log is checked for continuity and its checksum chain: a missing
// range is a *BackupGapError naming it, a damaged file a *BackupFileError;
// both wrap ErrCorrupt. The restored group gets a new identity, so it can
// never be mistaken for the group it came from; its identity file is
// written last, so a restore cut short leaves a directory Open refuses
// (ErrNotGroup) and the next Restore into it starts over. Open dir to use
// the group.
func Restore(ctx context.Context, from Shipper, dir string, opts *RestoreOptions) (*RestoreResult, error) {
	ctx = store.Context(ctx)
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	var out RestoreResult
	bo := backup.RestoreOptions{
		FS:     o.FS,
		Dir:    dir,
		Target: backup.Target{Mark: o.Mark, BeforeMark: o.BeforeMark, LSN: o.LSN, Time: o.Time},
		Logger: o.Logger,
		Finish: func(res *backup.Result) error { return finishRestore(o.FS, dir, o.Now(), res, &out) },
	}
	if o.Group != uuid.Nil {
		bo.Group = o.Group.String()
	}
	if o.Progress != nil {
		fn := o.Progress
		bo.Progress = func(p backup.Progress) { fn(BackupProgress{Set: p.Set, Done: p.Done, Total: p.Total}) }
	}
	if _, err := backup.Restore(ctx, storageOf(from), bo); err != nil {
		return nil, fmt.Errorf("biztier: restore: %w", drError(err))
	}
	return &out, nil
}

// finishRestore writes the restored group's mark list, then its new
// identity (the file that makes dir a group), and fills out.
func finishRestore(fs vfs.FS, dir string, now time.Time, res *backup.Result, out *RestoreResult) error {
	if err := backup.WriteMarkList(fs, fs.PathJoin(dir, backup.MarkListName), res.Marks); err != nil {
		return err
	}
	from, _ := uuid.Parse(res.Group)
	id := uuid.New()
	data := fmt.Appendf(nil, "biztier group\nformat %d\nid %s\ncreated %s\nrestored-from %s\nrestored-to-lsn %d\n",
		formatVersion, id, now.UTC().Format(time.RFC3339), from, res.LSN)
	if err := backup.WriteFileAtomic(fs, fs.PathJoin(dir, identityFile), data); err != nil {
		return err
	}
	*out = RestoreResult{ID: id, From: from, LSN: res.LSN, Base: res.Base, Sets: res.Sets, Bytes: res.Bytes}
	if res.Time != 0 {
		out.Time = time.Unix(0, res.Time)
	}
	if res.Mark != nil {
		out.Mark = markFrom(*res.Mark)
	}
	return nil
}

// Standby is a disaster-recovery copy of a group, kept restored up to the
// newest backup set shipped to its Shipper (BizTalk's log-shipping
// destination). It serves no reads or writes: its directory is not a
// group until Activate, which gives it a new identity at the newest
// shipped mark. It is safe for concurrent use.
type Standby struct {
	sb   *backup.Standby
	dir  string
	opts RestoreOptions
	from Shipper

	schedule backup.Schedule
	// mu guards lastErr.
	mu      sync.Mutex
	lastErr error
}

// OpenStandby opens the standby in dir, or creates one there (dir missing
// or empty) from the newest full backup in from and the sets after it.
// Only opts' FS, Group and Logger are used.
func OpenStandby(ctx context.Context, from Shipper, dir string, opts *RestoreOptions) (*Standby, error) {
	ctx = store.Context(ctx)
	o := opts.withDefaults()
	group := ""
	if o.Group != uuid.Nil {
		group = o.Group.String()
	}
	sb, err := backup.OpenStandby(ctx, storageOf(from), o.FS, dir, group, o.Logger)
	if err != nil {
		return nil, fmt.Errorf("biztier: standby: %w", drError(err))
	}
	return &Standby{sb: sb, dir: dir, opts: o, from: from}, nil
}

// LSN is the last LSN the standby holds.
func (s *Standby) LSN() uint64 { return s.sb.LSN() }

// CatchUp restores the sets shipped since the last call and returns the
// standby's LSN. Missing or damaged files are errors (the standby stays
// where it was); if the sets it needs were replaced by a newer full
// backup, it rebuilds itself from that.
func (s *Standby) CatchUp(ctx context.Context) (uint64, error) {
	ctx = store.Context(ctx)
	lsn, err := s.sb.CatchUp(ctx)
	if err != nil {
		return lsn, fmt.Errorf("biztier: standby: %w", drError(err))
	}
	return lsn, nil
}

// Start runs CatchUp every interval (a minute if <= 0, as BizTalk's
// restore job) until Stop. Errors are kept for Err.
func (s *Standby) Start(ctx context.Context, interval time.Duration) error {
	ctx = store.Context(ctx)
	if interval <= 0 {
		interval = time.Minute
	}
	s.schedule.Start(ctx, interval, time.After, func(ctx context.Context) {
		_, err := s.CatchUp(ctx)
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
	})
	return nil
}

// Stop ends Start's schedule and waits for a catch-up in progress. It is
// safe to call twice and before Start.
func (s *Standby) Stop(ctx context.Context) error {
	return s.schedule.Stop(store.Context(ctx))
}

// Err is the error of the last scheduled catch-up, nil if it succeeded.
func (s *Standby) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Activate stops the schedule and turns the standby into a group at its
// LSN (the newest mark shipped) with a new identity: BizTalk's Restore To
// Mark job at failover. Open its directory to use it. The Standby cannot
// be used afterwards.
func (s *Standby) Activate(ctx context.Context) (*RestoreResult, error) {
	ctx = store.Context(ctx)
	if err := s.Stop(ctx); err != nil {
		return nil, err
	}
	var out RestoreResult
	if _, err := s.sb.Activate(ctx, func(res *backup.Result) error {
		return finishRestore(s.opts.FS, s.dir, s.opts.Now(), res, &out)
	}); err != nil {
		return nil, fmt.Errorf("biztier: standby: activate: %w", drError(err))
	}
	return &out, nil
}

// Close stops the schedule and closes the standby; OpenStandby reopens it.
// It is safe to call twice.
func (s *Standby) Close() error {
	_ = s.Stop(context.Background())
	return s.sb.Close()
}
