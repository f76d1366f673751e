package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// countingWriter counts and hashes what passes through to w.
type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	// Hash first: a vfs.File's Write may scribble on its argument (MemFS
	// does under pebble's invariants, which race builds turn on).
	c.h.Write(p)
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

// compressedFile is a file of a set being written through zstd.
type compressedFile struct {
	name string
	fw   FileWriter
	cw   *countingWriter
	enc  *zstd.Encoder
	raw  int64
}

func createCompressed(ctx context.Context, st Storage, name string, enc *zstd.Encoder) (*compressedFile, error) {
	fw, err := st.Create(ctx, name)
	if err != nil {
		return nil, err
	}
	cw := &countingWriter{w: fw, h: sha256.New()}
	enc.Reset(cw)
	return &compressedFile{name: name, fw: fw, cw: cw, enc: enc}, nil
}

func (f *compressedFile) Write(p []byte) (int, error) {
	n, err := f.enc.Write(p)
	f.raw += int64(n)
	if err != nil {
		return n, fmt.Errorf("backup: compress %s: %w", f.name, err)
	}
	return n, nil
}

// commit finishes the file and returns its description (Name is the base
// name given by the caller).
func (f *compressedFile) commit(base string) (File, error) {
	if err := f.enc.Close(); err != nil {
		f.fw.Abort()
		return File{}, fmt.Errorf("backup: compress %s: %w", f.name, err)
	}
	if err := f.fw.Commit(); err != nil {
		return File{}, err
	}
	return File{Name: base, Size: f.cw.n, RawSize: f.raw, SHA256: hex.EncodeToString(f.cw.h.Sum(nil))}, nil
}

func (f *compressedFile) abort() {
	f.enc.Reset(io.Discard)
	f.fw.Abort()
}

// verifiedReader decompresses a set's file and checks, when the
// decompressed stream ends, that the stored bytes match the manifest's
// size and SHA-256. A mismatch, or a decode error, is a *FileError.
type verifiedReader struct {
	name string
	want File
	rc   io.ReadCloser
	cr   *countingReader
	dec  *zstd.Decoder
	raw  int64
	err  error
}

type countingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func openVerified(ctx context.Context, st Storage, name string, want File) (*verifiedReader, error) {
	rc, err := st.Open(ctx, name)
	if err != nil {
		return nil, &FileError{File: name, Reason: "missing", Err: err}
	}
	cr := &countingReader{r: rc, h: sha256.New()}
	dec, err := getDecoder(cr)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &verifiedReader{name: name, want: want, rc: rc, cr: cr, dec: dec}, nil
}

// decoders are reused: a zstd decoder's history buffers are most of the
// cost of decompressing one small file.
var decoders sync.Pool

func getDecoder(r io.Reader) (*zstd.Decoder, error) {
	if d, ok := decoders.Get().(*zstd.Decoder); ok {
		if err := d.Reset(r); err != nil {
			d.Close()
			return nil, fmt.Errorf("backup: zstd: %w", err)
		}
		return d, nil
	}
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, fmt.Errorf("backup: zstd: %w", err)
	}
	return d, nil
}

func putDecoder(d *zstd.Decoder) {
	if err := d.Reset(nil); err != nil {
		d.Close()
		return
	}
	decoders.Put(d)
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.dec.Read(p)
	v.raw += int64(n)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, io.EOF) {
		v.err = &FileError{File: v.name, Reason: "cannot decompress", Err: err}
		return n, v.err
	}
	// The end: the stored bytes must be exactly the manifest's.
	if _, err := io.Copy(io.Discard, v.cr); err != nil {
		v.err = &FileError{File: v.name, Reason: "read", Err: err}
		return n, v.err
	}
	sum := hex.EncodeToString(v.cr.h.Sum(nil))
	switch {
	case v.cr.n != v.want.Size:
		v.err = &FileError{File: v.name, Reason: fmt.Sprintf("holds %d bytes, the manifest says %d", v.cr.n, v.want.Size)}
	case sum != v.want.SHA256:
		v.err = &FileError{File: v.name, Reason: fmt.Sprintf("sha-256 %s does not match the manifest's %s", sum, v.want.SHA256)}
	case v.raw != v.want.RawSize:
		v.err = &FileError{File: v.name, Reason: fmt.Sprintf("decompresses to %d bytes, the manifest says %d", v.raw, v.want.RawSize)}
	default:
		v.err = io.EOF
	}
	return n, v.err
}

func (v *verifiedReader) Close() error {
	if v.dec != nil {
		putDecoder(v.dec)
		v.dec = nil
	}
	return v.rc.Close()
}

// verifyStored checks a file's stored size and SHA-256 without
// decompressing it.
func verifyStored(ctx context.Context, st Storage, name string, want File) error {
	rc, err := st.Open(ctx, name)
	if err != nil {
		return &FileError{File: name, Reason: "missing", Err: err}
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return &FileError{File: name, Reason: "read", Err: err}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != want.Size || sum != want.SHA256 {
		return &FileError{File: name, Reason: fmt.Sprintf("%d bytes with sha-256 %s, the manifest says %d bytes with %s", n, sum, want.Size, want.SHA256)}
	}
	return nil
}
