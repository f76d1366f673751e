// Command dr walks through disaster recovery: it runs a load on a primary
// group, takes a full backup and then log backups on a short schedule,
// ships every set to a DR directory where a standby keeps restoring them,
// "loses" the primary directory, activates the standby at the last shipped
// mark, and prints what was recovered.
//
//	go run ./examples/dr                 # uses a temporary directory
//	go run ./examples/dr -dir ./dr-demo -orders 5000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func main() {
	dir := flag.String("dir", "", "working directory (default: a new temporary directory)")
	orders := flag.Int("orders", 2000, "orders to commit")
	flag.Parse()
	if err := run(context.Background(), *dir, *orders, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir string, orders int, out io.Writer) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "biztier-dr-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	primaryDir := filepath.Join(dir, "primary")
	backups := biztier.DirShipper(vfs.Default, filepath.Join(dir, "backup"))
	drSite := biztier.DirShipper(vfs.Default, filepath.Join(dir, "dr-site"))
	standbyDir := filepath.Join(dir, "standby")

	g, err := biztier.Open(primaryDir, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "primary group %s\n", g.ID())
	closeG := func(err error) error { return errors.Join(err, g.Close()) }

	// The Backup BizTalk Server job: a full backup now, then a log backup
	// (each one a mark) every 100 ms, every set shipped to the DR site.
	job, err := g.NewLogShipping(biztier.LogShippingOptions{Backup: backups, DR: drSite, Interval: 100 * time.Millisecond})
	if err != nil {
		return closeG(err)
	}
	if _, err := job.RunOnce(ctx); err != nil {
		return closeG(err)
	}
	// The DR site's restore job keeps a standby restored as sets arrive.
	standby, err := biztier.OpenStandby(ctx, drSite, standbyDir, nil)
	if err != nil {
		return closeG(err)
	}
	if err := errors.Join(job.Start(ctx), standby.Start(ctx, 50*time.Millisecond)); err != nil {
		return closeG(errors.Join(err, standby.Close()))
	}

	// Load: receive orders, each stored in the MessageBox with its tracking
	// event in one transaction.
	var committed atomic.Int64
	var wg sync.WaitGroup
	var loadErr error
	var errOnce sync.Once
	const writers = 4
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < orders; i += writers {
				key := fmt.Appendf(nil, "order-%06d", i)
				_, err := g.Update(ctx, func(tx *biztier.Tx) error {
					if err := tx.Set(biztier.MessageBox, key, fmt.Appendf(nil, "<Order><Id>%d</Id></Order>", i)); err != nil {
						return err
					}
					return tx.Set(biztier.Tracking, key, []byte("received"))
				})
				if err != nil {
					errOnce.Do(func() { loadErr = err })
					return
				}
				committed.Add(1)
			}
		}()
	}
	wg.Wait()
	if loadErr != nil {
		return closeG(errors.Join(loadErr, job.Stop(ctx), standby.Close()))
	}
	// One last log backup after the load, so the last mark covers every
	// order; then the primary is lost.
	if err := job.Stop(ctx); err != nil {
		return closeG(errors.Join(err, standby.Close()))
	}
	st, err := job.RunOnce(ctx)
	if err != nil {
		return closeG(errors.Join(err, standby.Close()))
	}
	sets, err := biztier.ListBackups(ctx, drSite)
	if err != nil {
		return closeG(errors.Join(err, standby.Close()))
	}
	fmt.Fprintf(out, "committed %d orders; %d backup runs (%d full), %d sets shipped, last shipped lsn %d\n",
		committed.Load(), st.Runs, st.Fulls, len(sets), st.ShippedLSN)
	if err := g.Close(); err != nil {
		return errors.Join(err, standby.Close())
	}
	if err := os.RemoveAll(primaryDir); err != nil {
		return errors.Join(err, standby.Close())
	}
	fmt.Fprintf(out, "primary directory lost\n")

	// Failover: catch up with what was shipped, then restore to the mark.
	if _, err := standby.CatchUp(ctx); err != nil {
		return errors.Join(err, standby.Close())
	}
	res, err := standby.Activate(ctx)
	if err != nil {
		return errors.Join(err, standby.Close())
	}
	fmt.Fprintf(out, "standby activated at mark %s (lsn %d) as group %s, restored from group %s\n",
		res.Mark.Name, res.LSN, res.ID, res.From)

	dr, err := biztier.Open(standbyDir, nil)
	if err != nil {
		return err
	}
	found := 0
	for i := range orders {
		key := fmt.Appendf(nil, "order-%06d", i)
		_, inBox, err := dr.Get(biztier.MessageBox, key)
		if err != nil {
			return errors.Join(err, dr.Close())
		}
		_, tracked, err := dr.Get(biztier.Tracking, key)
		if err != nil {
			return errors.Join(err, dr.Close())
		}
		if inBox != tracked {
			return errors.Join(fmt.Errorf("order %d: in MessageBox %v but tracked %v", i, inBox, tracked), dr.Close())
		}
		if inBox {
			found++
		}
	}
	fmt.Fprintf(out, "recovered %d of %d orders, each with its tracking event\n", found, committed.Load())
	return dr.Close()
}
