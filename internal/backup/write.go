package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/klauspost/compress/zstd"
)

// Source is the group a backup reads.
type Source struct {
	Set *store.Set
	// Group is the group's identity, recorded in every manifest.
	Group string
	// FS is the group's filesystem; StagingDir, on it, holds the stores'
	// checkpoints while a full backup copies them (hard links where the
	// filesystem allows). It is removed afterwards.
	FS         vfs.FS
	StagingDir string
	// Mark commits a named mark frame and returns its LSN (the group's
	// Mark, which also records it in the group's mark list).
	Mark func(ctx context.Context, name string) (uint64, error)
	Now  func() time.Time
}

// Progress reports how far a backup or restore is.
type Progress struct {
	// Set is the backup set being written or read.
	Set string
	// Done and Total count raw (uncompressed) bytes. Total is an estimate
	// until the last call, which has Done == Total.
	Done, Total int64
}

// Options tune one backup.
type Options struct {
	// Name is the mark's name. Defaults to BTS_FULL_<utc time> for a full
	// backup and BTS_LOG_<utc time> for a log backup, as BizTalk names them.
	Name string
	// Progress, if set, is called as files are written, from the calling
	// goroutine.
	Progress func(Progress)
	// ChunkSize is the raw size at which a log file is closed and the next
	// begun. Defaults to 64 MiB.
	ChunkSize int64
}

func (o *Options) withDefaults(kind Kind, now time.Time) Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Name == "" {
		prefix := "BTS_FULL_"
		if kind == Log {
			prefix = "BTS_LOG_"
		}
		// BizTalk's form, BTS_<kind>_yyyy_mm_dd_hh_mm_ss_fff, to the
		// nanosecond so that two backups never share a name.
		c.Name = prefix + strings.Replace(now.UTC().Format("2006_01_02_15_04_05.000000000"), ".", "_", 1)
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 64 << 20
	}
	return c
}

func newEncoder() (*zstd.Encoder, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(2))
	if err != nil {
		return nil, fmt.Errorf("backup: zstd: %w", err)
	}
	return enc, nil
}

// pinFirst pins the log at its first LSN, retrying if truncation moves it
// between the read and the pin.
func pinFirst(l *wal.Log, name string) (*wal.Pin, error) {
	for range 100 {
		p, err := l.Pin(name, l.FirstLSN())
		if !errors.Is(err, wal.ErrTruncated) {
			return p, err
		}
	}
	return nil, fmt.Errorf("backup: cannot pin the log: truncation keeps moving it")
}

// WriteFull takes a full backup of src into dst: a checkpoint of every
// store (commits continue meanwhile), then a mark, then the log from the
// oldest checkpoint's LSN up to the mark, so the set is consistent at the
// mark. The log is pinned from before the checkpoints until the set is
// written.
func WriteFull(ctx context.Context, src Source, dst Storage, opts *Options) (_ *Manifest, err error) {
	started := src.Now()
	o := opts.withDefaults(Full, started)
	// The set is named once its LSN range is known (after the mark), so
	// two sets begun at the same instant never share a name.
	var set string
	l := src.Set.Log()
	pin, err := pinFirst(l, "backup full "+started.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return nil, err
	}
	defer pin.Release()
	defer func() {
		if err != nil && set != "" {
			// Best effort: an incomplete set has no manifest, so nothing
			// trusts it, and retention removes what is left.
			_ = dst.RemoveAll(context.WithoutCancel(ctx), setPath(set))
		}
	}()
	// Full backups of a group are serialised by the caller, so whatever is
	// in the staging directory was left by a crash: clear it all.
	if err := src.FS.RemoveAll(src.StagingDir); err != nil {
		return nil, fmt.Errorf("backup: clear %s: %w", src.StagingDir, err)
	}
	staging := src.FS.PathJoin(src.StagingDir, "full")
	defer func() { _ = src.FS.RemoveAll(staging) }()
	// A checkpoint first brings idle stores' applied LSNs up to date (and
	// truncates the log, never past the pin), so the set's log starts near
	// the checkpoints rather than at the last frame an idle store applied.
	if err := src.Set.Checkpoint(ctx); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	applied, err := src.Set.CheckpointTo(staging)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	from := uint64(1)
	for i, id := range store.All {
		if i == 0 || applied[id]+1 < from {
			from = applied[id] + 1
		}
	}
	if from < pin.LSN() {
		return nil, fmt.Errorf("backup: a checkpoint is at lsn %d but the log starts at %d", from-1, pin.LSN())
	}
	pin.Advance(from)
	markLSN, err := src.Mark(ctx, o.Name)
	if err != nil {
		return nil, fmt.Errorf("backup: mark: %w", err)
	}
	set = setName(Full, started, from, markLSN)

	enc, err := newEncoder()
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	m := &Manifest{Format: manifestFormat, Kind: Full, Set: set, Group: src.Group, Started: started, First: from, Last: markLSN}

	// Store files first; the log's size is estimated from the log's
	// average frame size until it is written.
	type srcFile struct {
		id   store.ID
		name string
		size int64
	}
	var files []srcFile
	var storeBytes int64
	for _, id := range store.All {
		dir := src.FS.PathJoin(staging, id.String())
		names, err := src.FS.List(dir)
		if err != nil {
			return nil, fmt.Errorf("backup: list %s: %w", dir, err)
		}
		slices.Sort(names)
		for _, n := range names {
			st, err := src.FS.Stat(src.FS.PathJoin(dir, n))
			if err != nil {
				return nil, fmt.Errorf("backup: stat %s: %w", n, err)
			}
			if st.IsDir() {
				return nil, fmt.Errorf("backup: unexpected directory %s in the %s checkpoint", n, id)
			}
			files = append(files, srcFile{id: id, name: n, size: st.Size()})
			storeBytes += st.Size()
		}
		m.Stores = append(m.Stores, StoreFiles{Name: id.String(), ID: uint8(id), Applied: applied[id]})
	}
	ls := l.Stats()
	avg := int64(256)
	if ls.Frames > 0 {
		avg = int64(ls.Bytes) / int64(max(ls.Frames, 1))
	}
	pr := &progress{fn: o.Progress, set: set, total: storeBytes + avg*int64(markLSN-from+1)}
	buf := make([]byte, 1<<20)
	for _, f := range files {
		idx := slices.IndexFunc(m.Stores, func(s StoreFiles) bool { return s.ID == uint8(f.id) })
		desc, err := copyIn(ctx, src.FS, src.FS.PathJoin(staging, f.id.String(), f.name), dst,
			setPath(set, "stores", f.id.String(), f.name+".zst"), f.name, enc, buf, pr)
		if err != nil {
			return nil, err
		}
		m.Stores[idx].Files = append(m.Stores[idx].Files, desc)
	}
	_ = src.FS.RemoveAll(staging)
	pr.total = pr.done + avg*int64(markLSN-from+1)
	if err := writeFrames(ctx, l, from, markLSN, dst, m, enc, o.ChunkSize, pr); err != nil {
		return nil, err
	}
	m.Finished = src.Now()
	if err := writeManifest(ctx, dst, m); err != nil {
		return nil, err
	}
	pr.finish()
	return m, nil
}

// WriteLog takes a log backup of src into dst: a mark, then the frames
// after the newest set of the group in dst up to the mark. It fails with
// ErrNoBackup if dst holds no set of the group, and ErrChainBroken if the
// log no longer holds the frames after it.
func WriteLog(ctx context.Context, src Source, dst Storage, opts *Options) (_ *Manifest, err error) {
	started := src.Now()
	o := opts.withDefaults(Log, started)
	var set string // named once the mark fixes its range, as in WriteFull
	prev, err := Latest(ctx, dst, src.Group)
	if err != nil {
		return nil, err
	}
	l := src.Set.Log()
	from := prev.Last + 1
	if from > l.DurableLSN()+1 {
		return nil, fmt.Errorf("%w: set %s ends at lsn %d, past this log's end %d", ErrChainBroken, prev.Set, prev.Last, l.DurableLSN())
	}
	pin, err := l.Pin("backup log "+started.UTC().Format(time.RFC3339Nano), from)
	if errors.Is(err, wal.ErrTruncated) {
		return nil, fmt.Errorf("%w: the log no longer holds lsn %d, after set %s: %w", ErrChainBroken, from, prev.Set, err)
	}
	if err != nil {
		return nil, err
	}
	defer pin.Release()
	defer func() {
		if err != nil && set != "" {
			_ = dst.RemoveAll(context.WithoutCancel(ctx), setPath(set))
		}
	}()
	markLSN, err := src.Mark(ctx, o.Name)
	if err != nil {
		return nil, fmt.Errorf("backup: mark: %w", err)
	}
	set = setName(Log, started, from, markLSN)
	enc, err := newEncoder()
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	m := &Manifest{Format: manifestFormat, Kind: Log, Set: set, Group: src.Group, Started: started, First: from, Last: markLSN}
	ls := l.Stats()
	avg := int64(256)
	if ls.Frames > 0 {
		avg = int64(ls.Bytes) / int64(max(ls.Frames, 1))
	}
	pr := &progress{fn: o.Progress, set: set, total: avg * int64(markLSN-from+1)}
	var prevCRC *uint32
	if n := len(prev.Log); n > 0 && prev.Log[n-1].Last == prev.Last {
		prevCRC = &prev.Log[n-1].LastCRC
	}
	if err := writeFramesChained(ctx, l, from, markLSN, dst, m, enc, o.ChunkSize, pr, prevCRC, prev.Set); err != nil {
		return nil, err
	}
	m.Finished = src.Now()
	if err := writeManifest(ctx, dst, m); err != nil {
		return nil, err
	}
	pr.finish()
	return m, nil
}

// Latest returns the complete set of group in st with the highest last
// LSN, or ErrNoBackup.
func Latest(ctx context.Context, st Storage, group string) (*Manifest, error) {
	sets, err := Catalog(ctx, st)
	if err != nil {
		return nil, err
	}
	for i := len(sets) - 1; i >= 0; i-- {
		if sets[i].Group == group {
			return sets[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s holds no backup of group %s", ErrNoBackup, st, group)
}

type progress struct {
	fn          func(Progress)
	set         string
	done, total int64
}

func (p *progress) add(n int64) {
	p.done += n
	if p.total < p.done {
		p.total = p.done
	}
	if p.fn != nil {
		p.fn(Progress{Set: p.set, Done: p.done, Total: p.total})
	}
}

func (p *progress) finish() {
	p.total = p.done
	if p.fn != nil {
		p.fn(Progress{Set: p.set, Done: p.done, Total: p.total})
	}
}

// copyIn compresses the file at path on fs into dst as name.
func copyIn(ctx context.Context, fs vfs.FS, path string, dst Storage, name, base string, enc *zstd.Encoder, buf []byte, pr *progress) (File, error) {
	in, err := fs.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer in.Close()
	out, err := createCompressed(ctx, dst, name, enc)
	if err != nil {
		return File{}, err
	}
	for {
		if err := ctx.Err(); err != nil {
			out.abort()
			return File{}, err
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				out.abort()
				return File{}, err
			}
			pr.add(int64(n))
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			out.abort()
			return File{}, fmt.Errorf("backup: read %s: %w", path, rerr)
		}
	}
	return out.commit(base + ".zst")
}

func writeFrames(ctx context.Context, l *wal.Log, from, to uint64, dst Storage, m *Manifest, enc *zstd.Encoder, chunk int64, pr *progress) error {
	return writeFramesChained(ctx, l, from, to, dst, m, enc, chunk, pr, nil, "")
}

// logFileName names a log file by its first LSN.
func logFileName(first uint64) string { return fmt.Sprintf("%016x.frames.zst", first) }

// writeFramesChained copies frames [from, to] of l into m's set as log
// files of about chunk raw bytes, recording marks. If prevCRC is set, the
// first frame must chain onto it (the previous set's last frame).
func writeFramesChained(ctx context.Context, l *wal.Log, from, to uint64, dst Storage, m *Manifest, enc *zstd.Encoder, chunk int64, pr *progress, prevCRC *uint32, prevSet string) error {
	r, err := l.NewReader(from)
	if err != nil {
		return fmt.Errorf("backup: read log from lsn %d: %w", from, err)
	}
	defer r.Close()
	var (
		cur  *compressedFile
		lf   LogFile
		data []byte
	)
	finish := func() error {
		desc, err := cur.commit(logFileName(lf.First))
		cur = nil
		if err != nil {
			return err
		}
		lf.File = desc
		m.Log = append(m.Log, lf)
		return nil
	}
	defer func() {
		if cur != nil {
			cur.abort()
		}
	}()
	for lsn := from; lsn <= to; lsn++ {
		f, err := r.Next(ctx)
		if err != nil {
			return fmt.Errorf("backup: read log at lsn %d: %w", lsn, err)
		}
		if f.LSN != lsn {
			return fmt.Errorf("backup: %w: log gave lsn %d where %d was expected", ErrCorrupt, f.LSN, lsn)
		}
		if lsn == from && prevCRC != nil && f.PrevCRC != *prevCRC {
			return fmt.Errorf("%w: lsn %d does not follow set %s (the log has diverged from the backups)", ErrChainBroken, lsn, prevSet)
		}
		if cur == nil {
			name := setPath(m.Set, "log", logFileName(lsn))
			if cur, err = createCompressed(ctx, dst, name, enc); err != nil {
				return err
			}
			lf = LogFile{First: lsn, FirstTime: f.Time, PrevCRC: f.PrevCRC}
		}
		data = wal.EncodeFrame(data[:0], f)
		if _, err := cur.Write(data); err != nil {
			return err
		}
		pr.add(int64(len(data)))
		lf.Last, lf.LastTime, lf.LastCRC = f.LSN, f.Time, f.CRC
		if f.Type == wal.TypeMark {
			m.Marks = append(m.Marks, Mark{Name: string(f.Payload), LSN: f.LSN, Time: f.Time})
		}
		if lsn == to {
			if f.Type != wal.TypeMark {
				return fmt.Errorf("backup: lsn %d is a %v frame, not the mark", lsn, f.Type)
			}
			m.Mark = Mark{Name: string(f.Payload), LSN: f.LSN, Time: f.Time}
			m.LastTime, m.Epoch = f.Time, f.Epoch
		}
		if cur.raw >= chunk || lsn == to {
			if err := finish(); err != nil {
				return err
			}
		}
	}
	return nil
}
