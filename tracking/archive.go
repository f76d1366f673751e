package tracking

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/errors/oserror"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"
)

// Archive files. Each purge batch writes one, named after the batch's
// number, before the batch deletes anything:
//
//	dta-<batch, 16 decimal digits>.zst
//
// The file is one zstd stream (with zstd's content checksum) of:
//
//	magic "BZTDTA" | format version (1 byte)
//	records: uvarint key length (> 0) | key | uvarint value length | value
//	end:     0 | uvarint record count
//
// Records are the primary rows purged, with the keys and values they had
// in the database; secondary indexes are rebuilt from them on
// OpenArchive. A file without its end record is corrupt, not short: it was
// renamed into place only after it was synced whole.
const (
	archiveMagic  = "BZTDTA"
	archivePrefix = "dta-"
	archiveSuffix = ".zst"
)

func archiveName(batch uint64) string {
	return fmt.Sprintf("%s%016d%s", archivePrefix, batch, archiveSuffix)
}

// writeArchive writes b's rows to the archive file of batch number n in
// dir, durably, and returns its path. A file left by an earlier attempt
// at the same batch (a crash before the batch committed) is replaced: the
// rows it held were not deleted.
func writeArchive(fs vfs.FS, dir string, n uint64, b *batch) (string, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	if err := syncDir(fs, dir); err != nil {
		return "", err
	}
	if parent := fs.PathDir(dir); parent != dir {
		if err := syncDir(fs, parent); err != nil {
			return "", err
		}
	}
	final := fs.PathJoin(dir, archiveName(n))
	tmp := final + ".tmp"
	f, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	if err := encodeArchive(f, b); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("archive %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("archive %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("archive %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("archive: %w", err)
	}
	if err := syncDir(fs, dir); err != nil {
		return "", err
	}
	return final, nil
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("archive: sync %s: %w", dir, err)
	}
	return d.Close()
}

func encodeArchive(w io.Writer, b *batch) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	if err := encodeArchivePlain(zw, b); err != nil {
		_ = zw.Close()
		return err
	}
	return zw.Close()
}

// encodeArchivePlain writes b's rows in the archive format, uncompressed.
func encodeArchivePlain(w io.Writer, b *batch) error {
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString(archiveMagic)
	_ = bw.WriteByte(formatVersion)
	var buf []byte
	count := uint64(0)
	for _, u := range b.units {
		for _, r := range u.rows {
			buf = binary.AppendUvarint(buf[:0], uint64(len(r.k)))
			buf = append(buf, r.k...)
			buf = binary.AppendUvarint(buf, uint64(len(r.v)))
			_, _ = bw.Write(buf)
			_, _ = bw.Write(r.v)
			count++
		}
	}
	buf = binary.AppendUvarint(append(buf[:0], 0), count)
	_, _ = bw.Write(buf)
	return bw.Flush()
}

// decodeArchive calls fn for every record of an archive file's
// decompressed contents. Every failure wraps ErrCorruption (or is
// ErrFormatTooNew).
func decodeArchive(data []byte, fn func(k, v []byte) error) error {
	if len(data) < len(archiveMagic)+1 || string(data[:len(archiveMagic)]) != archiveMagic {
		return corruption("archive", errors.New("bad magic"))
	}
	if v := data[len(archiveMagic)]; v > formatVersion || v == 0 {
		return fmt.Errorf("%w: archive format %d, this build knows up to %d", ErrFormatTooNew, v, formatVersion)
	}
	rest := data[len(archiveMagic)+1:]
	count := uint64(0)
	for {
		kl, n := binary.Uvarint(rest)
		if n <= 0 {
			return corruption("archive", errors.New("truncated record"))
		}
		rest = rest[n:]
		if kl == 0 {
			c, n := binary.Uvarint(rest)
			if n <= 0 || n != len(rest) {
				return corruption("archive", errors.New("bad end record"))
			}
			if c != count {
				return corruption("archive", fmt.Errorf("end record counts %d records, found %d", c, count))
			}
			return nil
		}
		if kl > uint64(len(rest)) {
			return corruption("archive", errors.New("truncated key"))
		}
		k := rest[:kl]
		rest = rest[kl:]
		vl, n := binary.Uvarint(rest)
		if n <= 0 || vl > uint64(len(rest)-n) {
			return corruption("archive", errors.New("truncated value"))
		}
		v := rest[n : n+int(vl)]
		rest = rest[n+int(vl):]
		count++
		if err := fn(k, v); err != nil {
			return err
		}
	}
}

// ArchiveOptions configure OpenArchive. A nil *ArchiveOptions means
// defaults.
type ArchiveOptions struct {
	// FS holds the archive directory. Defaults to vfs.Default.
	FS vfs.FS
}

// Archive is a read-only view of the archive files purge wrote to a
// directory, with the same query API as the live Store. OpenArchive loads
// the files into an in-memory database and rebuilds the indexes, so its
// memory use is about the archived data's uncompressed size.
//
// An Archive is safe for concurrent use.
type Archive struct {
	db *pebble.DB
	// Files lists the archive files loaded, in batch order.
	files []string
}

var _ Querier = (*Archive)(nil)

// OpenArchive opens the archive files in dir (those named
// dta-<batch>.zst). It fails with an error wrapping ErrCorruption if a
// file is damaged and ErrFormatTooNew for a file from a newer biztier. A
// directory without archive files gives an empty Archive.
func OpenArchive(dir string, opts *ArchiveOptions) (*Archive, error) {
	fs := vfs.Default
	if opts != nil && opts.FS != nil {
		fs = opts.FS
	}
	names, err := fs.List(dir)
	if err != nil && !oserror.IsNotExist(err) {
		return nil, fmt.Errorf("tracking: open archive %s: %w", dir, err)
	}
	var files []string
	for _, n := range names {
		if strings.HasPrefix(n, archivePrefix) && strings.HasSuffix(n, archiveSuffix) {
			files = append(files, n)
		}
	}
	sort.Strings(files)
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), DisableWAL: true, Logger: store.PanicLogger{}})
	if err != nil {
		return nil, fmt.Errorf("tracking: open archive: %w", err)
	}
	a := &Archive{db: db}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("tracking: open archive: %w", err)
	}
	defer dec.Close()
	for _, n := range files {
		path := fs.PathJoin(dir, n)
		if err := a.load(fs, dec, path); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("tracking: open archive %s: %w", path, err)
		}
		a.files = append(a.files, path)
	}
	return a, nil
}

func (a *Archive) load(fs vfs.FS, dec *zstd.Decoder, path string) error {
	f, err := fs.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := dec.Reset(f); err != nil {
		return corruption("archive", err)
	}
	data, err := io.ReadAll(dec)
	if err != nil {
		return corruption("archive", err)
	}
	b := a.db.NewBatch()
	defer b.Close()
	err = decodeArchive(data, func(k, v []byte) error {
		if err := b.Set(k, v, nil); err != nil {
			return err
		}
		return indexArchived(k, v, func(ik []byte) error { return b.Set(ik, nil, nil) })
	})
	if err != nil {
		return err
	}
	return b.Commit(pebble.NoSync)
}

// indexArchived calls set with each index key of the primary row (k, v).
func indexArchived(k, v []byte, set func(k []byte) error) error {
	if len(k) == 0 {
		return corruption("archive key", keys.ErrCorrupt)
	}
	switch keys.Table(k[0]) {
	case keys.TableServiceInstances:
		id, rest, err := keys.DecodeUUID(k[1:])
		if err != nil {
			return corruption("archive instance key", err)
		}
		if len(rest) > 0 {
			_, err := decodeHistory(v)
			return err
		}
		r, err := decodeInstance(v)
		if err != nil {
			return err
		}
		for _, ik := range instanceIndexKeys(nil, id, &r) {
			if err := set(ik); err != nil {
				return err
			}
		}
	case keys.TableMessageEvents:
		inst, rest, err := keys.DecodeUUID(k[1:])
		if err != nil {
			return corruption("archive event key", err)
		}
		stamp, _, err := keys.DecodeUint64(rest)
		if err != nil {
			return corruption("archive event key", err)
		}
		r, err := decodeEvent(v)
		if err != nil {
			return err
		}
		_, err = forEventIndexKeys(nil, inst, stamp, &r, set)
		return err
	case keys.TableTrackedBodies:
		_, err := decodeBody(v)
		return err
	default:
		return corruption("archive", fmt.Errorf("key of table %v", keys.Table(k[0])))
	}
	return nil
}

// Files returns the paths of the archive files loaded, in batch order.
func (a *Archive) Files() []string { return append([]string(nil), a.files...) }

// Close releases the archive's memory.
func (a *Archive) Close() error { return a.db.Close() }

func (a *Archive) reader() reader { return reader{r: a.db} }

// Instance implements Querier.
func (a *Archive) Instance(ctx context.Context, id uuid.UUID) (*Instance, error) {
	ctx = store.Context(ctx)
	return a.reader().instance(ctx, id)
}

// Instances implements Querier.
func (a *Archive) Instances(ctx context.Context, q InstanceQuery) (*InstancePage, error) {
	ctx = store.Context(ctx)
	return a.reader().instances(ctx, q)
}

// MessageEvents implements Querier.
func (a *Archive) MessageEvents(ctx context.Context, q MessageEventQuery) (*MessageEventPage, error) {
	ctx = store.Context(ctx)
	return a.reader().messageEvents(ctx, q)
}

// MessageFlow implements Querier.
func (a *Archive) MessageFlow(ctx context.Context, messageID uuid.UUID, o *FlowOptions) (*Flow, error) {
	ctx = store.Context(ctx)
	return a.reader().flow(ctx, messageID, uuid.Nil, o)
}

// InstanceFlow implements Querier.
func (a *Archive) InstanceFlow(ctx context.Context, instanceID uuid.UUID, o *FlowOptions) (*Flow, error) {
	ctx = store.Context(ctx)
	return a.reader().flow(ctx, uuid.Nil, instanceID, o)
}

// TrackedMessage implements Querier.
func (a *Archive) TrackedMessage(ctx context.Context, messageID uuid.UUID) (*TrackedMessage, error) {
	ctx = store.Context(ctx)
	return a.reader().trackedMessage(ctx, messageID)
}
