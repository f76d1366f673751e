package file

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// ErrExists is returned by a create-new send whose file already exists
// with other content. The port's retry policy retries it.
var ErrExists = errors.New("file: file exists")

// Send implements host.SendAdapter: it writes the message's body part to
// the transport's file.
func (a *Adapter) Send(_ context.Context, t *host.Transport, m *messagebox.Message) error {
	props, err := host.ParseTransportData(t.Data)
	if err != nil {
		return fmt.Errorf("file: send port %s: %w: %w", t.Port, host.ErrPermanent, err)
	}
	mode := CopyCreateNew
	if s := props["CopyMode"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < CopyAppend || n > CopyOverwrite {
			return fmt.Errorf("file: send port %s: CopyMode %q: %w", t.Port, s, host.ErrPermanent)
		}
		mode = n
	}
	bp := m.BodyPart()
	if bp == nil {
		return fmt.Errorf("file: send port %s: %w: message %s has no body part", t.Port, host.ErrPermanent, m.ID)
	}
	path := a.path(a.expand(t.Address, m))
	switch mode {
	case CopyCreateNew:
		err = createNew(path, bp.Body)
	case CopyOverwrite:
		err = replace(path, bp.Body)
	default:
		mu := a.lockFile(path)
		mu.Lock()
		err = appendTo(path, bp.Body)
		mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("file: send port %s: %w", t.Port, err)
	}
	return nil
}

// expand replaces the FILE adapter's macros in addr. Text between percent
// signs that is not a macro is kept as it is.
func (a *Adapter) expand(addr string, m *messagebox.Message) string {
	if strings.IndexByte(addr, '%') < 0 {
		return addr
	}
	var b strings.Builder
	b.Grow(len(addr) + 40)
	for {
		i := strings.IndexByte(addr, '%')
		if i < 0 {
			b.WriteString(addr)
			return b.String()
		}
		j := strings.IndexByte(addr[i+1:], '%')
		if j < 0 {
			b.WriteString(addr)
			return b.String()
		}
		b.WriteString(addr[:i])
		name := addr[i+1 : i+1+j]
		if v, ok := a.macro(name, m); ok {
			b.WriteString(v)
			addr = addr[i+j+2:]
		} else {
			// Not a macro: keep the first percent sign and look again
			// from the second.
			b.WriteByte('%')
			addr = addr[i+1:]
		}
	}
}

// macro returns the value of one file name macro.
func (a *Adapter) macro(name string, m *messagebox.Message) (string, bool) {
	switch name {
	case "MessageID":
		return "{" + m.ID.String() + "}", true
	case "SourceFileName":
		if p, ok := m.Property(PropReceivedFileName); ok && p.Value.Str() != "" {
			return filepath.Base(strings.ReplaceAll(p.Value.Str(), `\`, "/")), true
		}
		return "{" + m.ID.String() + "}", true
	case "datetime":
		return a.opts.Now().UTC().Format("2006-01-02T150405"), true
	case "time":
		return a.opts.Now().UTC().Format("150405"), true
	}
	return "", false
}

// writeTemp writes body to a new temporary file beside path and syncs it.
func writeTemp(path string, parts ...[]byte) (string, error) {
	var r [8]byte
	_, _ = rand.Read(r[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// createNew puts body at path unless a file is there: the temporary file
// is hard-linked to the final name, which fails if it exists.
func createNew(path string, body []byte) error {
	tmp, err := writeTemp(path, body)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		// The same bytes there are this message's own earlier delivery,
		// sent before a crash kept it from being completed.
		if old, rerr := os.ReadFile(path); rerr == nil && bytes.Equal(old, body) {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrExists, path)
	}
	if err := os.Remove(tmp); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// replace puts body at path, replacing what is there.
func replace(path string, body []byte) error {
	tmp, err := writeTemp(path, body)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// appendTo puts the file's content followed by body at path, as one
// rename.
func appendTo(path string, body []byte) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := writeTemp(path, old, body)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a folder's entries (a new, renamed or removed file)
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
