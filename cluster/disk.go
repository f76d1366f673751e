package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// diskFile names the file, in the group's log directory, that holds the
// identity of the node's disk.
const diskFile = "CLUSTER-DISK"

// diskIdentity returns the identity of the disk holding the log in dir,
// making one if the log has none: a log created afresh (an empty disk, a
// group rebuilt by a bootstrap, a restored group) thus gets a new identity,
// while a log that survived a crash keeps its own. The sync record names
// these identities, so a node that comes back without the log it was
// listed with is not promoted on the strength of its name alone. The file
// is written and renamed into place durably before the identity is used.
func diskIdentity(fs vfs.FS, dir string) (string, error) {
	path := fs.PathJoin(dir, diskFile)
	f, err := fs.Open(path)
	if err == nil {
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, 256))
		if err != nil {
			return "", fmt.Errorf("cluster: read %s: %w", path, err)
		}
		id, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "biztier disk ")
		if !ok || id == "" {
			return "", fmt.Errorf("cluster: %s is not a disk identity file", path)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("cluster: open %s: %w", path, err)
	}
	id := uuid.NewString()
	tmp := path + ".tmp"
	out, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return "", fmt.Errorf("cluster: create %s: %w", tmp, err)
	}
	if _, err := out.Write([]byte("biztier disk " + id + "\n")); err != nil {
		out.Close()
		return "", fmt.Errorf("cluster: write %s: %w", tmp, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return "", fmt.Errorf("cluster: sync %s: %w", tmp, err)
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("cluster: close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("cluster: rename %s: %w", tmp, err)
	}
	d, err := fs.OpenDir(dir)
	if err != nil {
		return "", fmt.Errorf("cluster: open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return "", fmt.Errorf("cluster: sync dir %s: %w", dir, err)
	}
	return id, nil
}
