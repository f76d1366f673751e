package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Target is the point a restore stops at. The zero Target is the newest
// mark in the backups.
type Target struct {
	// Mark restores through the newest mark frame of this name, inclusive
	// (SQL Server's STOPATMARK), or up to just before it with BeforeMark
	// (STOPBEFOREMARK).
	Mark       string
	BeforeMark bool
	// LSN restores through this LSN, inclusive.
	LSN uint64
	// Time restores every frame committed at or before it: the restore stops
	// before the first frame stamped later.
	Time time.Time
}

func (t Target) String() string {
	switch {
	case t.Mark != "" && t.BeforeMark:
		return fmt.Sprintf("just before mark %q", t.Mark)
	case t.Mark != "":
		return fmt.Sprintf("mark %q", t.Mark)
	case t.LSN != 0:
		return fmt.Sprintf("lsn %d", t.LSN)
	case !t.Time.IsZero():
		return "time " + t.Time.UTC().Format(time.RFC3339Nano)
	}
	return "the latest mark"
}

// chainFile is a log file and the set holding it.
type chainFile struct {
	set  string
	file LogFile
}

func (c chainFile) name() string { return setPath(c.set, "log", c.file.Name) }

// Plan is what a restore will read.
type Plan struct {
	Group string
	// Base is the full set whose checkpoints seed the stores.
	Base *Manifest
	// Files are the log files to replay, in LSN order, covering every frame
	// from the oldest checkpoint's LSN + 1 to LSN.
	Files []chainFile
	// LSN is the last frame to apply; for a time target it is an upper
	// bound and StopTime decides (0 means none).
	LSN      uint64
	StopTime int64
	// Mark is set when the target is a mark.
	Mark *Mark
	// prevCRC, if chained, is the CRC the first frame replayed must carry
	// as its PrevCRC (a standby's catch-up continues a chain).
	prevCRC uint32
	chained bool
}

// groupSets returns the sets of group (or of the only group in sets if
// group is "").
func groupSets(sets []*Manifest, group string) ([]*Manifest, string, error) {
	if group == "" {
		for _, m := range sets {
			if group == "" {
				group = m.Group
			} else if m.Group != group {
				return nil, "", fmt.Errorf("backup: the storage holds sets of groups %s and %s: say which to restore", group, m.Group)
			}
		}
	}
	var out []*Manifest
	for _, m := range sets {
		if m.Group == group {
			out = append(out, m)
		}
	}
	return out, group, nil
}

// MakePlan chooses the base set and log files that restore target.
func MakePlan(ctx context.Context, st Storage, group string, t Target) (*Plan, error) {
	all, err := Catalog(ctx, st)
	if err != nil {
		return nil, err
	}
	sets, group, err := groupSets(all, group)
	if err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("%w: %s holds no complete backup set", ErrNoBackup, st)
	}
	p := &Plan{Group: group}
	switch {
	case t.Mark != "":
		for _, m := range sets {
			for _, mk := range m.Marks {
				if mk.Name == t.Mark && (p.Mark == nil || mk.LSN > p.Mark.LSN) {
					p.Mark = &mk
				}
			}
		}
		if p.Mark == nil {
			return nil, fmt.Errorf("%w: no mark named %q", ErrTargetNotFound, t.Mark)
		}
		p.LSN = p.Mark.LSN
		if t.BeforeMark {
			p.LSN, p.Mark = p.Mark.LSN-1, nil
		}
	case t.LSN != 0:
		p.LSN = t.LSN
	case !t.Time.IsZero():
		p.StopTime = t.Time.UnixNano()
		var last *Manifest
		for _, m := range sets {
			if last == nil || m.Last > last.Last {
				last = m
			}
		}
		if last.LastTime < p.StopTime {
			// Nothing after the newest set is backed up: a later target
			// would silently restore less than asked.
			return nil, fmt.Errorf("%w: %s is after the newest backed-up frame (lsn %d at %s)", ErrTargetNotFound, t,
				last.Last, time.Unix(0, last.LastTime).UTC().Format(time.RFC3339Nano))
		}
		p.LSN = last.Last
	default:
		last := sets[len(sets)-1]
		p.LSN, p.Mark = last.Last, &last.Mark
	}
	// The base: the newest full set at or before the target; failing that,
	// one whose own log reaches back to the target.
	for _, m := range sets {
		if m.Kind != Full {
			continue
		}
		if p.StopTime != 0 {
			if m.LastTime <= p.StopTime && (p.Base == nil || m.Last > p.Base.Last) {
				p.Base = m
			}
			continue
		}
		if m.Last <= p.LSN && (p.Base == nil || m.Last > p.Base.Last) {
			p.Base = m
		}
	}
	if p.Base == nil && p.StopTime == 0 {
		for _, m := range sets {
			if m.Kind == Full && m.MaxApplied() <= p.LSN && p.LSN <= m.Last {
				p.Base = m
				break
			}
		}
	}
	if p.Base == nil {
		return nil, fmt.Errorf("%w: no full backup of group %s at or before %s", ErrNoBackup, group, t)
	}
	files, err := chain(sets, p.Base, p.Base.First, p.LSN)
	if err != nil {
		return nil, err
	}
	p.Files = files
	return p, nil
}

// chain picks log files from sets covering [from, to] contiguously. A hole
// is a *GapError naming the missing range.
func chain(sets []*Manifest, base *Manifest, from, to uint64) ([]chainFile, error) {
	var cands []chainFile
	for _, m := range sets {
		if m != base && m.Last < base.Last {
			continue
		}
		for _, f := range m.Log {
			cands = append(cands, chainFile{set: m.Set, file: f})
		}
	}
	slices.SortStableFunc(cands, func(a, b chainFile) int { return cmpU64(a.file.First, b.file.First) })
	var out []chainFile
	next := from
	after := base.Set
	for next <= to {
		best := -1
		for i, c := range cands {
			if c.file.First <= next && c.file.Last >= next && (best < 0 || c.file.Last > cands[best].file.Last) {
				best = i
			}
		}
		if best < 0 {
			g := &GapError{From: next, To: to, After: after}
			for _, c := range cands {
				if c.file.First > next {
					g.To, g.Before = min(to, c.file.First-1), c.name()
					break
				}
			}
			if g.Before == "" {
				return nil, fmt.Errorf("%w: lsn %d is past the newest backed-up frame %d", ErrTargetNotFound, to, next-1)
			}
			return nil, g
		}
		out = append(out, cands[best])
		after = cands[best].name()
		next = cands[best].file.Last + 1
	}
	return out, nil
}

// frameSource yields the frames of a chain of files in LSN order from an
// LSN, checking LSN continuity, the CRC chain and epochs.
type frameSource struct {
	ctx   context.Context
	st    Storage
	files []chainFile
	i     int
	r     *verifiedReader
	buf   []byte
	next  uint64
	prev  uint32
	chain bool
	epoch uint64
}

func (p *Plan) frames(ctx context.Context, st Storage, from uint64) *frameSource {
	return &frameSource{ctx: ctx, st: st, files: p.Files, next: from, prev: p.prevCRC, chain: p.chained}
}

// read returns the next frame (its payload valid until the next call), or
// io.EOF after the last file.
func (s *frameSource) read() (*wal.Frame, error) {
	for {
		if s.r == nil {
			if s.i >= len(s.files) {
				return nil, io.EOF
			}
			c := s.files[s.i]
			r, err := openVerified(s.ctx, s.st, c.name(), c.file.File)
			if errors.Is(err, os.ErrNotExist) {
				return nil, &GapError{From: max(s.next, c.file.First), To: c.file.Last, File: c.name()}
			}
			if err != nil {
				return nil, err
			}
			s.r = r
		}
		c := s.files[s.i]
		f, buf, err := wal.ReadFrame(s.r, s.buf, maxFrameSize)
		s.buf = buf
		if errors.Is(err, io.EOF) {
			_ = s.r.Close()
			s.r = nil
			s.i++
			continue
		}
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) {
				return nil, err
			}
			return nil, &FileError{File: c.name(), Reason: fmt.Sprintf("bad frame after lsn %d", s.next-1), Err: err}
		}
		if f.LSN < c.file.First || f.LSN > c.file.Last {
			return nil, &FileError{File: c.name(), Reason: fmt.Sprintf("holds lsn %d outside its range %d..%d", f.LSN, c.file.First, c.file.Last)}
		}
		if f.LSN < s.next {
			// Overlap with the previous file: check it agrees, then skip.
			continue
		}
		if f.LSN > s.next {
			return nil, &GapError{From: s.next, To: f.LSN - 1, After: "the previous file", Before: c.name()}
		}
		if s.chain && f.PrevCRC != s.prev {
			return nil, &FileError{File: c.name(), Reason: fmt.Sprintf("lsn %d does not chain onto lsn %d (checksum chain broken)", f.LSN, f.LSN-1)}
		}
		if f.Epoch < s.epoch {
			return nil, &FileError{File: c.name(), Reason: fmt.Sprintf("lsn %d has epoch %d after epoch %d", f.LSN, f.Epoch, s.epoch)}
		}
		s.prev, s.chain, s.epoch = f.CRC, true, f.Epoch
		s.next++
		return &f, nil
	}
}

func (s *frameSource) close() {
	if s.r != nil {
		_ = s.r.Close()
		s.r = nil
	}
}

// Verify reads every file of the plan, checking checksums, LSN continuity
// and the CRC chain, before anything is restored.
func (p *Plan) Verify(ctx context.Context, st Storage) error {
	for _, s := range p.Base.Stores {
		for _, f := range s.Files {
			if err := verifyStored(ctx, st, setPath(p.Base.Set, "stores", s.Name, f.Name), f); err != nil {
				return err
			}
		}
	}
	src := p.frames(ctx, st, p.Base.First)
	defer src.close()
	for {
		f, err := src.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if f.LSN >= p.LSN {
			break
		}
	}
	if src.next <= p.LSN {
		return &GapError{From: src.next, To: p.LSN, After: p.Files[len(p.Files)-1].name()}
	}
	return nil
}

// Result describes a finished restore.
type Result struct {
	// Group is the identity of the group the backups came from.
	Group string
	// LSN and Time are the last frame restored (Time is 0 if the restore
	// replayed no frame: the checkpoints were the target).
	LSN  uint64
	Time int64
	// Mark is the mark restored to, if the target was one.
	Mark *Mark
	// Marks lists the marks at or before LSN held by the sets used.
	Marks []Mark
	// Base is the full set used; Sets every set read.
	Base string
	Sets []string
	// Bytes is the raw size of what was read.
	Bytes int64
}

// Markers a restore leaves in its directory: restoreMarker while a restore
// runs (a later restore wipes such a directory and starts over),
// standbyMarker while the directory is a DR standby.
const (
	restoreMarker = "RESTORING"
	standbyMarker = "STANDBY"
)

// StoreDirs returns each store's directory under dir, as a group lays them
// out by default.
func StoreDirs(fs vfs.FS, dir string) map[store.ID]string {
	out := make(map[store.ID]string, len(store.All))
	for _, id := range store.All {
		out[id] = fs.PathJoin(dir, id.String())
	}
	return out
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	FS  vfs.FS
	Dir string
	// Group selects the group when the storage holds several.
	Group  string
	Target Target
	// Finish is called once every store is restored and closed, before the
	// directory's restore marker is removed: the caller writes the files
	// that make dir a group (its identity last).
	Finish   func(*Result) error
	Progress func(Progress)
	Logger   pebble.Logger
}

// Restore restores st's backups into opts.Dir (missing, empty, or left by
// a crashed restore) up to opts.Target. Until Finish has run, the
// directory holds a restore marker and no group identity: nothing opens
// it as a group, and the next Restore into it starts over.
func Restore(ctx context.Context, st Storage, opts RestoreOptions) (*Result, error) {
	p, err := MakePlan(ctx, st, opts.Group, opts.Target)
	if err != nil {
		return nil, err
	}
	if err := p.Verify(ctx, st); err != nil {
		return nil, err
	}
	fs, dir := opts.FS, opts.Dir
	if err := prepareDir(fs, dir, restoreMarker); err != nil {
		return nil, err
	}
	res, err := seedAndReplay(ctx, st, fs, dir, p, opts.Progress, opts.Logger, nil)
	if err != nil {
		return nil, err
	}
	if res.Marks, err = marksUpTo(ctx, st, p.Group, res.LSN); err != nil {
		return nil, err
	}
	if opts.Finish != nil {
		if err := opts.Finish(res); err != nil {
			return nil, err
		}
	}
	if err := fs.Remove(fs.PathJoin(dir, restoreMarker)); err != nil {
		return nil, fmt.Errorf("backup: remove restore marker: %w", err)
	}
	return res, syncDir(fs, dir)
}

// prepareDir makes dir ready for a restore: missing or empty, or holding a
// marker of an unfinished restore (whose contents are then removed). It
// writes marker, synced.
func prepareDir(fs vfs.FS, dir, marker string) error {
	names, err := fs.List(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: list %s: %w", dir, err)
	}
	if len(names) > 0 {
		if !slices.Contains(names, marker) {
			return fmt.Errorf("%w: %s holds %q", ErrNotEmpty, dir, names[0])
		}
		for _, n := range names {
			if n == marker {
				continue
			}
			if err := fs.RemoveAll(fs.PathJoin(dir, n)); err != nil {
				return fmt.Errorf("backup: clear %s: %w", dir, err)
			}
		}
	}
	if err := mkdirAllSynced(fs, dir); err != nil {
		return err
	}
	if err := writeSynced(fs, fs.PathJoin(dir, marker), []byte("biztier restore in progress: do not use\n")); err != nil {
		return err
	}
	return syncDir(fs, dir)
}

func writeSynced(fs vfs.FS, path string, data []byte) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("backup: create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("backup: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("backup: sync %s: %w", path, err)
	}
	return f.Close()
}

// seedAndReplay writes the base's checkpoints into dir and replays the
// plan's frames into them. With keep set, the stores are left open in
// *keep instead of closed.
func seedAndReplay(ctx context.Context, st Storage, fs vfs.FS, dir string, p *Plan, progressFn func(Progress), logger pebble.Logger, keep **store.Restore) (*Result, error) {
	pr := &progress{fn: progressFn, set: p.Base.Set, total: p.Base.RawBytes()}
	for _, f := range p.Files {
		if f.set != p.Base.Set {
			pr.total += f.file.RawSize
		}
	}
	buf := make([]byte, 1<<20)
	for _, s := range p.Base.Stores {
		sdir := fs.PathJoin(dir, s.Name)
		if err := fs.MkdirAll(sdir, 0o755); err != nil {
			return nil, fmt.Errorf("backup: create %s: %w", sdir, err)
		}
		for _, f := range s.Files {
			name := setPath(p.Base.Set, "stores", s.Name, f.Name)
			out := fs.PathJoin(sdir, trimZst(f.Name))
			if err := copyOut(ctx, st, name, f, fs, out, buf, pr); err != nil {
				return nil, err
			}
		}
		if err := syncDir(fs, sdir); err != nil {
			return nil, err
		}
	}
	r, err := store.OpenRestore(fs, StoreDirs(fs, dir), logger)
	if err != nil {
		return nil, fmt.Errorf("backup: open restored stores: %w", err)
	}
	defer func() {
		if r != nil {
			_ = r.Close()
		}
	}()
	for _, s := range p.Base.Stores {
		if got := r.Applied()[store.ID(s.ID)]; got != s.Applied {
			return nil, &FileError{File: setPath(p.Base.Set, "stores", s.Name), Reason: fmt.Sprintf("checkpoint is at lsn %d, the manifest says %d", got, s.Applied)}
		}
	}
	res := &Result{Group: p.Group, Base: p.Base.Set, Mark: p.Mark}
	if err := replay(ctx, st, r, p, p.Base.First, pr, res); err != nil {
		return nil, err
	}
	if keep != nil {
		*keep, r = r, nil
		return res, nil
	}
	err = r.Close()
	r = nil
	return res, err
}

func trimZst(name string) string {
	if len(name) > 4 && name[len(name)-4:] == ".zst" {
		return name[:len(name)-4]
	}
	return name
}

// replay applies the plan's frames from `from` to the restore's stores,
// stops at the target, and finishes the stores there.
func replay(ctx context.Context, st Storage, r *store.Restore, p *Plan, from uint64, pr *progress, res *Result) error {
	src := p.frames(ctx, st, from)
	defer src.close()
	const chunk = 256
	batch := make([]*wal.Frame, 0, chunk)
	var last *wal.Frame
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := r.Apply(batch); err != nil {
			return err
		}
		batch = batch[:0]
		return ctx.Err()
	}
	for {
		f, err := src.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if p.StopTime != 0 && f.Time > p.StopTime {
			break
		}
		// The frame's payload is reused by the next read: keep a copy.
		fc := *f
		fc.Payload = append([]byte(nil), f.Payload...)
		batch = append(batch, &fc)
		pr.add(int64(fc.Size()))
		last = &fc
		if fc.Type == wal.TypeMark {
			res.Marks = append(res.Marks, Mark{Name: string(fc.Payload), LSN: fc.LSN, Time: fc.Time})
		}
		if len(batch) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
		if fc.LSN >= p.LSN {
			break
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// With no frame to replay the stores' checkpoints are the state, if
	// they all stand at from-1 (checked below).
	endLSN, endTime := from-1, int64(0)
	if last != nil {
		endLSN, endTime = last.LSN, last.Time
	}
	switch {
	case p.StopTime != 0 && last == nil:
		return fmt.Errorf("%w: no frame at or before the target time after lsn %d", ErrTargetNotFound, from-1)
	case p.StopTime == 0 && endLSN < p.LSN:
		after := p.Base.Set
		if len(p.Files) > 0 {
			after = p.Files[len(p.Files)-1].name()
		}
		return &GapError{From: endLSN + 1, To: p.LSN, After: after}
	}
	if mx := maxApplied(r); endLSN < mx {
		return fmt.Errorf("%w: target lsn %d is before the base checkpoint at lsn %d", ErrTargetNotFound, endLSN, mx)
	}
	if err := r.Finish(endLSN); err != nil {
		return err
	}
	res.LSN, res.Time = endLSN, endTime
	seen := map[string]bool{}
	for _, f := range p.Files {
		if !seen[f.set] {
			seen[f.set] = true
			res.Sets = append(res.Sets, f.set)
		}
	}
	res.Bytes = pr.done
	pr.finish()
	return nil
}

func maxApplied(r *store.Restore) uint64 {
	var m uint64
	for _, a := range r.Applied() {
		m = max(m, a)
	}
	return m
}

// copyOut decompresses a set's file to path on fs, verifying it, synced.
func copyOut(ctx context.Context, st Storage, name string, want File, fs vfs.FS, path string, buf []byte, pr *progress) error {
	in, err := openVerified(ctx, st, name, want)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("backup: create %s: %w", path, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			_ = out.Close()
			return err
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				_ = out.Close()
				return fmt.Errorf("backup: write %s: %w", path, err)
			}
			pr.add(int64(n))
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			_ = out.Close()
			return rerr
		}
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return fmt.Errorf("backup: sync %s: %w", path, err)
	}
	return out.Close()
}

// maxFrameSize bounds a frame read back from a backup. It is above any
// log's MaxFrameSize a group would set; the frame's checksum is what
// guards against a damaged length.
const maxFrameSize = 1 << 30

// marksUpTo lists group's marks in st at or below lsn.
func marksUpTo(ctx context.Context, st Storage, group string, lsn uint64) ([]Mark, error) {
	ms, err := Marks(ctx, st, group)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.LSN <= lsn {
			out = append(out, m)
		}
	}
	return out, nil
}
