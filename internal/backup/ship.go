package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Ship copies to dst every complete set of group in src that dst lacks,
// oldest first, verifying each file's checksum as it is copied; a set's
// manifest is copied last, so a set appears in dst complete or not at all.
// It returns the sets copied.
func Ship(ctx context.Context, src, dst Storage, group string) ([]*Manifest, error) {
	sets, err := Catalog(ctx, src)
	if err != nil {
		return nil, err
	}
	var shipped []*Manifest
	for _, m := range sets {
		if group != "" && m.Group != group {
			continue
		}
		if have, err := ReadManifest(ctx, dst, m.Set); err == nil {
			// A set of that name is there: it must be this one. A name can
			// only repeat if something outside biztier wrote the set, and
			// skipping it would leave the DR copy short of what Status
			// reports shipped.
			if have.Group != m.Group || have.Kind != m.Kind || have.First != m.First || have.Last != m.Last {
				return shipped, &FileError{File: setPath(m.Set, manifestName), Reason: fmt.Sprintf(
					"destination holds a different set under this name (lsn %d..%d, want %d..%d)", have.First, have.Last, m.First, m.Last)}
			}
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return shipped, err
		}
		if err := shipSet(ctx, src, dst, m); err != nil {
			_ = dst.RemoveAll(context.WithoutCancel(ctx), setPath(m.Set))
			return shipped, err
		}
		shipped = append(shipped, m)
	}
	return shipped, nil
}

func shipSet(ctx context.Context, src, dst Storage, m *Manifest) error {
	for _, s := range m.Stores {
		for _, f := range s.Files {
			if err := shipFile(ctx, src, dst, setPath(m.Set, "stores", s.Name, f.Name), f); err != nil {
				return err
			}
		}
	}
	for _, f := range m.Log {
		if err := shipFile(ctx, src, dst, setPath(m.Set, "log", f.Name), f.File); err != nil {
			return err
		}
	}
	return writeManifest(ctx, dst, m)
}

func shipFile(ctx context.Context, src, dst Storage, name string, want File) error {
	r, err := src.Open(ctx, name)
	if err != nil {
		return &FileError{File: name, Reason: "missing at the source", Err: err}
	}
	defer r.Close()
	w, err := dst.Create(ctx, name)
	if err != nil {
		return err
	}
	h := sha256.New()
	// The hash goes first: a file's Write may scribble on its argument.
	n, err := io.Copy(io.MultiWriter(h, w), r)
	if err != nil {
		w.Abort()
		return fmt.Errorf("backup: ship %s: %w", name, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != want.Size || sum != want.SHA256 {
		w.Abort()
		return &FileError{File: name, Reason: fmt.Sprintf("source copy is damaged: %d bytes with sha-256 %s, the manifest says %d bytes with %s", n, sum, want.Size, want.SHA256)}
	}
	return w.Commit()
}

// IncompleteGrace is how old a set without a manifest must be before
// Prune deletes it: younger ones may still be being written.
const IncompleteGrace = time.Hour

// Prune deletes group's sets in st that are not needed to restore any
// point in the last history (measured back from now): every set whose last
// LSN is below that of the newest full set finished before now-history.
// The newest full set and every set after it are never deleted, so the
// latest mark always stays restorable. Incomplete sets (no manifest)
// started more than IncompleteGrace ago are deleted too. It returns the
// names of the sets deleted.
func Prune(ctx context.Context, st Storage, group string, history time.Duration, now time.Time) ([]string, error) {
	all, err := Catalog(ctx, st)
	if err != nil {
		return nil, err
	}
	complete := make(map[string]bool, len(all))
	for _, m := range all {
		complete[m.Set] = true
	}
	var removed []string
	names, err := st.List(ctx, setsDir)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if complete[n] {
			continue
		}
		if started, ok := setStarted(n); ok && now.Sub(started) > IncompleteGrace {
			if err := st.RemoveAll(ctx, setPath(n)); err != nil {
				return removed, err
			}
			removed = append(removed, n)
		}
	}
	cutoff := now.Add(-history)
	var base *Manifest
	for _, m := range all {
		if m.Group == group && m.Kind == Full && m.Finished.Before(cutoff) && (base == nil || m.Last > base.Last) {
			base = m
		}
	}
	if base == nil {
		return removed, nil
	}
	for _, m := range all {
		if m.Group != group || m == base || m.Last >= base.Last {
			continue
		}
		// The manifest goes first: a set half deleted is then incomplete,
		// which nothing trusts.
		if err := st.RemoveAll(ctx, setPath(m.Set, manifestName)); err != nil {
			return removed, err
		}
		if err := st.RemoveAll(ctx, setPath(m.Set)); err != nil {
			return removed, err
		}
		removed = append(removed, m.Set)
	}
	return removed, nil
}
