package biztier_test

import (
	"context"
	"fmt"
	"log"

	"github.com/biztier/biztier"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// A full backup, a log backup, and a restore to the first backup's mark
// into a new directory, which becomes a new group.
func ExampleGroup_Backup() {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, err := biztier.Open("primary", &biztier.Options{FS: fs, MemTableSize: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	put := func(v string) {
		if _, err := g.Update(ctx, func(tx *biztier.Tx) error {
			if err := tx.Set(biztier.MessageBox, []byte("order-1"), []byte(v)); err != nil {
				return err
			}
			return tx.Set(biztier.Tracking, []byte("order-1"), []byte(v))
		}); err != nil {
			log.Fatal(err)
		}
	}
	backups := biztier.DirShipper(fs, "backups")
	put("received")
	if _, err := g.Backup(ctx, backups, &biztier.BackupOptions{MarkName: "nightly"}); err != nil {
		log.Fatal(err)
	}
	put("sent")
	if _, err := g.BackupLog(ctx, backups, &biztier.BackupOptions{MarkName: "15-minutes-later"}); err != nil {
		log.Fatal(err)
	}
	for _, m := range g.Marks() {
		fmt.Println("mark", m.Name)
	}
	if err := g.Close(); err != nil {
		log.Fatal(err)
	}

	res, err := biztier.Restore(ctx, backups, "restored", &biztier.RestoreOptions{FS: fs, Mark: "nightly"})
	if err != nil {
		log.Fatal(err)
	}
	r, err := biztier.Open("restored", &biztier.Options{FS: fs, MemTableSize: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	v, _, err := r.Get(biztier.Tracking, []byte("order-1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("restored to", res.Mark.Name, "with a new identity:", res.ID != res.From, "order-1:", string(v))
	// Output:
	// mark nightly
	// mark 15-minutes-later
	// restored to nightly with a new identity: true order-1: received
}
