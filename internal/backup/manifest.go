package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Kind says what a backup set holds.
type Kind string

const (
	// Full is a checkpoint of every store plus the log from the oldest
	// store's applied LSN up to the set's mark.
	Full Kind = "full"
	// Log is the log after the previous set up to the set's mark.
	Log Kind = "log"
)

// manifestFormat is the manifest layout this build writes and reads.
const manifestFormat = 1

// setsDir holds one directory per backup set; manifestName is the file,
// written last, that makes a set complete.
const (
	setsDir      = "sets"
	manifestName = "MANIFEST.json"
)

// Mark is a named mark frame of the log.
type Mark struct {
	Name string `json:"name"`
	LSN  uint64 `json:"lsn"`
	// Time is the frame's commit time, Unix nanoseconds.
	Time int64 `json:"time"`
}

// File is one file of a set: zstd-compressed, with the SHA-256 of what is
// stored.
type File struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	RawSize int64  `json:"raw_size"`
	SHA256  string `json:"sha256"`
}

// LogFile is a file of frames [First, Last].
type LogFile struct {
	File
	First     uint64 `json:"first"`
	Last      uint64 `json:"last"`
	FirstTime int64  `json:"first_time"`
	LastTime  int64  `json:"last_time"`
	// PrevCRC is the chain CRC carried by frame First; LastCRC the CRC of
	// frame Last.
	PrevCRC uint32 `json:"prev_crc"`
	LastCRC uint32 `json:"last_crc"`
}

// StoreFiles is one store's checkpoint in a full set.
type StoreFiles struct {
	Name string `json:"name"`
	ID   uint8  `json:"id"`
	// Applied is the LSN the checkpoint holds.
	Applied uint64 `json:"applied"`
	Files   []File `json:"files"`
}

// Manifest describes a complete backup set.
type Manifest struct {
	Format int    `json:"format"`
	Kind   Kind   `json:"kind"`
	Set    string `json:"set"`
	Group  string `json:"group"`
	// Started and Finished are the wall-clock bounds of the backup.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// First and Last bound the frames the set holds; Last is Mark's LSN.
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
	// LastTime is the commit time of frame Last (Unix nanoseconds).
	LastTime int64 `json:"last_time"`
	// Epoch is frame Last's epoch.
	Epoch uint64 `json:"epoch"`
	// Mark is the mark the set ends at; Marks lists every mark in
	// [First, Last], oldest first.
	Mark   Mark         `json:"mark"`
	Marks  []Mark       `json:"marks"`
	Stores []StoreFiles `json:"stores,omitempty"`
	Log    []LogFile    `json:"log"`
}

// Bytes is the stored size of the set's files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, s := range m.Stores {
		for _, f := range s.Files {
			n += f.Size
		}
	}
	for _, f := range m.Log {
		n += f.Size
	}
	return n
}

// RawBytes is the uncompressed size of the set's files.
func (m *Manifest) RawBytes() int64 {
	var n int64
	for _, s := range m.Stores {
		for _, f := range s.Files {
			n += f.RawSize
		}
	}
	for _, f := range m.Log {
		n += f.RawSize
	}
	return n
}

// MaxApplied is the highest store checkpoint LSN of a full set: the
// earliest LSN it can restore to.
func (m *Manifest) MaxApplied() uint64 {
	var a uint64
	for _, s := range m.Stores {
		a = max(a, s.Applied)
	}
	return a
}

func setPath(set string, parts ...string) string {
	return strings.Join(append([]string{setsDir, set}, parts...), "/")
}

// setName names a set directory by its start time, LSN range and kind:
// names sort by age, a crashed backup's leftovers can be recognised by age,
// and two sets never share a name even when a coarse or frozen clock gives
// them one start time (each set ends at its own mark, so its range is its
// own). Sets written before the range was added are named
// "<time>-<kind>"; both forms are read.
func setName(kind Kind, started time.Time, first, last uint64) string {
	return fmt.Sprintf("%016x-%016x-%016x-%s", started.UnixNano(), first, last, kind)
}

// setStarted parses the start time out of a set name.
func setStarted(name string) (time.Time, bool) {
	hex, _, ok := strings.Cut(name, "-")
	if !ok || len(hex) != 16 {
		return time.Time{}, false
	}
	var ns uint64
	if _, err := fmt.Sscanf(hex, "%016x", &ns); err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(ns)), true
}

func writeManifest(ctx context.Context, st Storage, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: encode manifest: %w", err)
	}
	w, err := st.Create(ctx, setPath(m.Set, manifestName))
	if err != nil {
		return err
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

// ReadManifest reads the manifest of set.
func ReadManifest(ctx context.Context, st Storage, set string) (*Manifest, error) {
	name := setPath(set, manifestName)
	r, err := st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &FileError{File: name, Reason: "read", Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, &FileError{File: name, Reason: "bad manifest", Err: err}
	}
	if m.Format > manifestFormat {
		return nil, &FileError{File: name, Reason: fmt.Sprintf("manifest format %d is newer than this build's %d", m.Format, manifestFormat)}
	}
	if m.Set != set || (m.Kind != Full && m.Kind != Log) || m.First == 0 || m.Last < m.First {
		return nil, &FileError{File: name, Reason: "manifest does not describe this set"}
	}
	return &m, nil
}

// Catalog lists the complete sets in st (those with a manifest), oldest
// mark first. Sets of other groups are included; filter on Group. Sets
// still being written (no manifest) are left out.
func Catalog(ctx context.Context, st Storage) ([]*Manifest, error) {
	names, err := st.List(ctx, setsDir)
	if err != nil {
		return nil, err
	}
	var out []*Manifest
	for _, n := range names {
		m, err := ReadManifest(ctx, st, n)
		if errors.Is(err, os.ErrNotExist) {
			continue // incomplete set
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b *Manifest) int {
		if c := cmpU64(a.Last, b.Last); c != 0 {
			return c
		}
		return strings.Compare(a.Set, b.Set)
	})
	return out, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Marks lists every mark the complete sets of group in st hold, oldest
// first, without duplicates.
func Marks(ctx context.Context, st Storage, group string) ([]Mark, error) {
	sets, err := Catalog(ctx, st)
	if err != nil {
		return nil, err
	}
	seen := make(map[uint64]bool)
	var out []Mark
	for _, m := range sets {
		if group != "" && m.Group != group {
			continue
		}
		for _, mk := range m.Marks {
			if !seen[mk.LSN] {
				seen[mk.LSN] = true
				out = append(out, mk)
			}
		}
	}
	slices.SortFunc(out, func(a, b Mark) int { return cmpU64(a.LSN, b.LSN) })
	return out, nil
}
