package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
)

// receiveConfig is a location's configuration.
type receiveConfig struct {
	dir, mask    string
	batch        int
	batchBytes   int64
	pollInterval time.Duration
}

// receiveConfigOf reads a location's address and transport data.
func (a *Adapter) receiveConfigOf(ep *host.Endpoint) (receiveConfig, error) {
	props, err := host.ParseTransportData(ep.Data)
	if err != nil {
		return receiveConfig{}, err
	}
	p := a.path(ep.Address)
	c := receiveConfig{dir: filepath.Dir(p), mask: filepath.Base(p),
		batch: DefaultBatchSize, batchBytes: DefaultBatchSizeInBytes, pollInterval: DefaultPollingInterval}
	if m := props["FileMask"]; m != "" {
		c.mask = m
	}
	if _, err := filepath.Match(c.mask, ""); err != nil {
		return c, fmt.Errorf("file: location %s: mask %q: %w", ep.Location, c.mask, err)
	}
	for _, f := range []struct {
		name string
		set  func(n int64)
	}{
		{"BatchSize", func(n int64) { c.batch = int(n) }},
		{"BatchSizeInBytes", func(n int64) { c.batchBytes = n }},
		{"PollingInterval", func(n int64) { c.pollInterval = time.Duration(n) * time.Millisecond }},
	} {
		s := props[f.name]
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("file: location %s: %s %q: %w", ep.Location, f.name, s, host.ErrTransportData)
		}
		f.set(n)
	}
	return c, nil
}

// Receive implements host.ReceiveAdapter: it polls the location's folder
// until ctx is done.
func (a *Adapter) Receive(ctx context.Context, ep *host.Endpoint) error {
	c, err := a.receiveConfigOf(ep)
	if err != nil {
		return err
	}
	// Receipts of removed files whose deletion waits for the next commit
	// are deleted before the location stops.
	defer func() { _ = ep.Flush(context.WithoutCancel(ctx)) }()
	// Only files already there when the location starts can have been
	// committed by an earlier run (one a crash or an error cut short):
	// only their receipts are looked up.
	suspect := map[string]bool{}
	if names, err := c.list(); err == nil {
		for _, n := range names {
			suspect[n] = true
		}
	}
	for {
		got, err := a.pollAll(ctx, ep, c, suspect)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if got {
			continue // more may have come meanwhile
		}
		select {
		case <-ep.Clock.After(c.pollInterval):
		case <-ctx.Done():
			return nil
		}
	}
}

// list returns the names of the files in the folder that match the mask,
// sorted.
func (c receiveConfig) list() ([]string, error) {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if ok, _ := filepath.Match(c.mask, e.Name()); ok {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// pollAll lists the folder once and receives what it lists, batch by
// batch. It reports whether it received anything (more may have arrived
// meanwhile).
func (a *Adapter) pollAll(ctx context.Context, ep *host.Endpoint, c receiveConfig, suspect map[string]bool) (any bool, err error) {
	names, err := c.list()
	if err != nil {
		return false, fmt.Errorf("file: location %s: %w", ep.Location, err)
	}
	for len(names) > 0 && ctx.Err() == nil {
		n, err := a.poll(ctx, ep, c, names, suspect)
		if err != nil {
			return any, err
		}
		any = true
		names = names[n:]
	}
	return any, nil
}

// poll receives one batch from the front of names and returns how many
// names it took.
func (a *Adapter) poll(ctx context.Context, ep *host.Endpoint, c receiveConfig, names []string, suspect map[string]bool) (taken int, err error) {
	var (
		msgs  []*messagebox.Message
		keys  []string
		paths []string
		gone  int
		bytes int64
	)
	for _, name := range names {
		if len(msgs) == c.batch || (len(msgs) > 0 && bytes >= c.batchBytes) {
			break
		}
		taken++
		p := filepath.Join(c.dir, name)
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue // taken by another host instance polling the folder
		}
		if err != nil {
			return taken, fmt.Errorf("file: location %s: %w", ep.Location, err)
		}
		// The file's name, size and time name this version of it: a
		// receipt for it means it was committed before a crash kept it
		// from being removed.
		key := name + "|" + strconv.FormatInt(fi.Size(), 10) + "|" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
		done := false
		if suspect[name] {
			delete(suspect, name)
			if done, err = ep.Committed(key); err != nil {
				return taken, fmt.Errorf("file: location %s: %w", ep.Location, err)
			}
		}
		if done {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return taken, fmt.Errorf("file: location %s: remove received file: %w", ep.Location, err)
			}
			ep.Forget(key)
			gone++
			continue
		}
		body, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return taken, fmt.Errorf("file: location %s: %w", ep.Location, err)
		}
		msgs = append(msgs, messagebox.NewMessage(body,
			messagebox.Promoted(PropReceivedFileName, messagebox.String(p)),
			messagebox.Written(PropFileCreationTime, messagebox.Time(fi.ModTime()))))
		keys = append(keys, key)
		paths = append(paths, p)
		bytes += int64(len(body))
	}
	if len(msgs) == 0 {
		if gone > 0 {
			if err := syncDir(c.dir); err != nil {
				return taken, err
			}
		}
		return taken, ep.Flush(ctx)
	}
	if _, err := ep.SubmitOnce(ctx, keys, msgs); err != nil {
		return taken, fmt.Errorf("file: location %s: %w", ep.Location, err)
	}
	// Committed (routed or suspended), with the receipts: the files go,
	// and their receipts with the next commit.
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return taken, fmt.Errorf("file: location %s: remove received file: %w", ep.Location, err)
		}
	}
	if err := syncDir(c.dir); err != nil {
		return taken, err
	}
	ep.Forget(keys...)
	return taken, nil
}
