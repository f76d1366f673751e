package biztier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/biztier/biztier/internal/backup"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Shipper is where backup sets are stored and shipped to: a directory
// (DirShipper) today, an object store later. Names are slash-separated;
// a file becomes visible under its name only when its writer commits.
// Implementations must be safe for concurrent use.
type Shipper interface {
	// Create starts writing name. Nothing is visible under name until the
	// writer's Commit returns nil; Abort drops what was written.
	Create(ctx context.Context, name string) (ShipperFile, error)
	// Open reads name. A missing name gives an error wrapping
	// os.ErrNotExist.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// List returns the names of the entries directly under dir ("" for the
	// top), sorted, without the dir prefix. A missing dir lists as empty.
	List(ctx context.Context, dir string) ([]string, error)
	// RemoveAll removes name and everything under it. A missing name is
	// not an error.
	RemoveAll(ctx context.Context, name string) error
	// String describes the storage for error messages.
	String() string
}

// ShipperFile is a file being written to a Shipper.
type ShipperFile interface {
	io.Writer
	// Commit makes the file durable and visible under its name, atomically.
	Commit() error
	// Abort discards the file. It is safe after Commit (and then does
	// nothing).
	Abort()
}

// DirShipper returns the Shipper that keeps backup sets in dir on fs
// (vfs.Default if nil): the backup directory, or a DR directory on any
// path.
func DirShipper(fs vfs.FS, dir string) Shipper { return dirShipper{backup.NewDir(fs, dir)} }

// dirShipper is a backup directory as a Shipper.
type dirShipper struct{ *backup.Dir }

func (d dirShipper) Create(ctx context.Context, name string) (ShipperFile, error) {
	return d.Dir.Create(ctx, name)
}

// shipperStorage is an application's Shipper as the backup code's
// Storage.
type shipperStorage struct{ Shipper }

func (s shipperStorage) Create(ctx context.Context, name string) (backup.FileWriter, error) {
	return s.Shipper.Create(ctx, name)
}

// storageOf is s as the backup code takes it; nil stays nil.
func storageOf(s Shipper) backup.Storage {
	switch s := s.(type) {
	case nil:
		return nil
	case dirShipper:
		return s.Dir
	default:
		return shipperStorage{s}
	}
}

// Ship copies to every complete backup set of the group in from that to
// lacks, oldest first, verifying each file's checksum on the way; a set's
// manifest goes last, so a set appears in to whole or not at all. It
// returns the sets copied.
func (g *Group) Ship(ctx context.Context, from, to Shipper) ([]BackupSet, error) {
	ctx = store.Context(ctx)
	ms, err := backup.Ship(ctx, storageOf(from), storageOf(to), g.id.String())
	out := make([]BackupSet, len(ms))
	for i, m := range ms {
		out[i] = setFrom(m)
	}
	if err != nil {
		return out, fmt.Errorf("biztier: ship: %w", drError(err))
	}
	return out, nil
}

// LogShippingOptions configure LogShipping.
type LogShippingOptions struct {
	// Backup is where backup sets are written. Required.
	Backup Shipper
	// DR, if set, receives a copy of every set: log shipping to a
	// disaster-recovery site, where a Standby restores them.
	DR Shipper
	// Interval is the time between log backups (each one a mark). Defaults
	// to 15 minutes, BizTalk's; any positive value down to a second works.
	Interval time.Duration
	// FullInterval is the age of the newest full backup at which the next
	// run takes a full backup instead of a log backup. Defaults to 24 hours.
	FullInterval time.Duration
	// History is how long sets are kept (see PruneBackups), in Backup and
	// DR. Defaults to BackupHistory (14 days); negative keeps everything.
	History time.Duration
}

// ShippingStatus is what LogShipping has done.
type ShippingStatus struct {
	// BackedUpLSN is the last LSN in the newest set in Backup; ShippedLSN
	// the last in DR (equal to BackedUpLSN without DR).
	BackedUpLSN, ShippedLSN uint64
	// LagLSN is how many frames the group's log holds past ShippedLSN as of
	// the last run; LagTime how old the newest shipped frame was then when
	// LagLSN > 0.
	LagLSN  uint64
	LagTime time.Duration
	// Runs counts runs; Fulls the full backups among them.
	Runs, Fulls uint64
	// LastRun is when the last run ended; LastErr its error (nil if it
	// succeeded). Runs never log: errors surface here and from RunOnce.
	LastRun time.Time
	LastErr error
	// Pruned counts sets deleted by retention.
	Pruned int
}

// LogShipping is the Backup BizTalk Server job: on a schedule it takes a
// log backup (or a full one when due), copies new sets to the DR
// destination and applies retention. Between runs it pins the log after
// the newest set, so a log backup chain never breaks while it runs (the
// pin is not persisted: after a restart, a run that finds the chain
// truncated takes a full backup). Stop it before closing the group. It is
// safe for concurrent use.
type LogShipping struct {
	g    *Group
	opts LogShippingOptions

	// runMu serialises runs.
	runMu sync.Mutex
	// pin holds the log after the newest set; guarded by runMu.
	pin *wal.Pin

	// mu guards status.
	mu       sync.Mutex
	status   ShippingStatus
	schedule backup.Schedule
}

// NewLogShipping returns the group's backup and log-shipping job, not yet
// started: call Start for the schedule, or RunOnce on demand.
func (g *Group) NewLogShipping(opts LogShippingOptions) (*LogShipping, error) {
	if opts.Backup == nil {
		return nil, fmt.Errorf("biztier: log shipping: Backup is required")
	}
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Minute
	}
	if opts.FullInterval <= 0 {
		opts.FullInterval = 24 * time.Hour
	}
	if opts.History == 0 {
		opts.History = BackupHistory
	}
	return &LogShipping{g: g, opts: opts}, nil
}

// Start runs the job every Interval, on the group's clock, until Stop.
// The first run is immediate. Start on a running job does nothing.
func (s *LogShipping) Start(ctx context.Context) error {
	ctx = store.Context(ctx)
	s.schedule.Start(ctx, s.opts.Interval, s.g.opts.Clock.After, func(ctx context.Context) { _, _ = s.run(ctx, true) })
	return nil
}

// Stop ends the schedule, waits for a run in progress and releases the
// log. It is safe to call twice and before Start.
func (s *LogShipping) Stop(ctx context.Context) error {
	ctx = store.Context(ctx)
	if err := s.schedule.Stop(ctx); err != nil {
		return err
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.pin != nil {
		s.pin.Release()
		s.pin = nil
	}
	return nil
}

// Status returns what the job has done so far.
func (s *LogShipping) Status() ShippingStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// RunOnce takes a backup now (full if none exists, the newest full is
// older than FullInterval, or the chain is broken; a log backup
// otherwise), ships new sets to DR and applies retention.
func (s *LogShipping) RunOnce(ctx context.Context) (ShippingStatus, error) {
	ctx = store.Context(ctx)
	return s.run(ctx, false)
}

func (s *LogShipping) run(ctx context.Context, scheduled bool) (ShippingStatus, error) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	err := drError(s.runLocked(ctx))
	s.mu.Lock()
	defer s.mu.Unlock()
	if scheduled && ctx.Err() != nil {
		// Cut short by Stop: not a failure of the job.
		return s.status, err
	}
	s.status.Runs++
	s.status.LastRun = s.g.opts.Now()
	if err != nil && s.status.LastErr == nil {
		s.g.events().Warn("biztier: backup job run failed", "err", err)
	}
	s.status.LastErr = err
	return s.status, err
}

func (s *LogShipping) runLocked(ctx context.Context) error {
	g, o := s.g, s.opts
	group := g.id.String()
	full, err := s.needFull(ctx)
	if err != nil {
		return err
	}
	var set *BackupSet
	if !full {
		set, err = g.BackupLog(ctx, o.Backup, nil)
		if errors.Is(err, ErrBackupChainBroken) || errors.Is(err, ErrNoBackup) {
			full = true
		} else if err != nil {
			return err
		}
	}
	if full {
		if set, err = g.Backup(ctx, o.Backup, nil); err != nil {
			return err
		}
		s.mu.Lock()
		s.status.Fulls++
		s.mu.Unlock()
	}
	// Hold the log after the new set until the next run.
	if s.pin == nil {
		if s.pin, err = g.set.Log().Pin("log shipping", set.Last+1); err != nil {
			return fmt.Errorf("biztier: log shipping: %w", drError(err))
		}
	} else {
		s.pin.Advance(set.Last + 1)
	}
	shipped := set
	if o.DR != nil {
		if _, err := backup.Ship(ctx, storageOf(o.Backup), storageOf(o.DR), group); err != nil {
			return fmt.Errorf("biztier: log shipping: %w", drError(err))
		}
	}
	pruned := 0
	if o.History > 0 {
		now := g.opts.Now()
		for _, st := range []Shipper{o.Backup, o.DR} {
			if st == nil {
				continue
			}
			gone, err := backup.Prune(ctx, storageOf(st), group, o.History, now)
			pruned += len(gone)
			if err != nil {
				return fmt.Errorf("biztier: log shipping: retention: %w", drError(err))
			}
		}
	}
	durable := g.set.Log().DurableLSN()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.BackedUpLSN = set.Last
	s.status.ShippedLSN = shipped.Last
	s.status.Pruned += pruned
	s.status.LagLSN, s.status.LagTime = 0, 0
	if durable > shipped.Last {
		s.status.LagLSN = durable - shipped.Last
		s.status.LagTime = g.opts.Now().Sub(shipped.Mark.Time)
	}
	return nil
}

// needFull reports whether the next run must be a full backup.
func (s *LogShipping) needFull(ctx context.Context) (bool, error) {
	sets, err := backup.Catalog(ctx, storageOf(s.opts.Backup))
	if err != nil {
		return false, err
	}
	group := s.g.id.String()
	for i := len(sets) - 1; i >= 0; i-- {
		m := sets[i]
		if m.Group == group && m.Kind == backup.Full {
			return s.g.opts.Now().Sub(m.Finished) >= s.opts.FullInterval, nil
		}
	}
	return true, nil
}
