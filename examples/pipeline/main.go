// Command pipeline opens a biztier group on disk, commits a received
// message and its tracking event atomically across two databases, closes
// the group, reopens it and checks that both survived.
//
//	go run ./examples/pipeline            # uses a temporary directory
//	go run ./examples/pipeline -dir ./biztier-data
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/biztier/biztier"
)

func main() {
	dir := flag.String("dir", "", "group directory (default: a new temporary directory)")
	flag.Parse()
	if err := run(context.Background(), *dir, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir string, out *os.File) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "biztier-pipeline-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	g, err := biztier.Open(dir, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "opened group %s in %s\n", g.ID(), dir)

	const n = 100
	for i := range n {
		key := fmt.Appendf(nil, "order-%04d", i)
		body := fmt.Appendf(nil, "<Order xmlns='http://example.org/po'><Id>%d</Id></Order>", i)
		_, err := g.Update(ctx, func(tx *biztier.Txn) error {
			if err := tx.Set(biztier.MessageBox, key, body); err != nil {
				return err
			}
			return tx.Set(biztier.Tracking, key, []byte("received on ReceiveLocation1"))
		})
		if err != nil {
			return errors.Join(err, g.Close())
		}
	}
	mark, err := g.Mark(ctx, "BTS_example")
	if err != nil {
		return errors.Join(err, g.Close())
	}
	st := g.Stats()
	fmt.Fprintf(out, "committed %d transactions across MessageBox and Tracking (lsn %d, mark at %d, %d fsyncs)\n",
		n, st.LSN, mark, st.Fsyncs)
	if err := g.Close(); err != nil {
		return err
	}

	g, err = biztier.Open(dir, nil)
	if err != nil {
		return err
	}
	defer g.Close()
	for i := range n {
		key := fmt.Appendf(nil, "order-%04d", i)
		_, okBody, err := g.Get(biztier.MessageBox, key)
		if err != nil {
			return err
		}
		_, okEvent, err := g.Get(biztier.Tracking, key)
		if err != nil {
			return err
		}
		if !okBody || !okEvent {
			return fmt.Errorf("after reopen, %s: message present %v, tracking event present %v", key, okBody, okEvent)
		}
	}
	fmt.Fprintf(out, "reopened: all %d messages and their tracking events are present; lsn %d\n", n, g.Stats().LSN)
	return nil
}
