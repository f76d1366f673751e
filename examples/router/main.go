// Command router routes order files by their total, configured by a
// binding file: it imports bindings.xml (a FILE receive location with the
// XML receive pipeline, two FILE send ports filtering on the order's
// total), starts the application and a host instance of each host, and runs
// until Ctrl-C, which stops the instances gracefully.
//
//	go run ./examples/router -dir /tmp/router   # then drop orders in /tmp/router/in
//
// An order is <Order xmlns="urn:shop"><Total>250</Total></Order>: above 100
// it goes to big/, otherwise to small/, under its own file name.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/file"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/biztier/biztier/mgmt"
)

//go:embed bindings.xml
var bindings []byte

func main() {
	dir := flag.String("dir", "router-data", "folder of the group and of the in/, big/ and small/ folders")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir); err != nil {
		log.Fatal(err)
	}
}

// run routes files until ctx is done.
func run(ctx context.Context, dir string) error {
	for _, d := range []string{"in", "big", "small"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	g, err := biztier.Open(filepath.Join(dir, "group"), nil)
	if err != nil {
		return err
	}
	defer g.Close()
	mg, err := g.Management()
	if err != nil {
		return err
	}
	if _, err := mg.Import(ctx, bytes.NewReader(bindings), &mgmt.ImportOptions{Application: "Router"}); err != nil {
		return err
	}
	if err := mg.StartApplication(ctx, "Router"); err != nil {
		return err
	}
	schemas, err := pipeline.NewSchemas(pipeline.Schema{MessageType: "urn:shop#Order",
		Promote: []pipeline.Promotion{{Property: "Shop.Total", Path: "/Order/Total", Type: messagebox.TypeInt64}}})
	if err != nil {
		return err
	}
	adapters := host.NewRegistry()
	if err := file.Register(adapters, &file.Options{Root: dir}); err != nil {
		return err
	}
	opts := &host.Options{Adapters: adapters, Pipelines: pipeline.NewRegistry(schemas)}
	for _, h := range []string{"ReceiveHost", "SendHost"} {
		inst, err := host.Start(ctx, g, h, opts)
		if err != nil {
			return err
		}
		defer inst.Stop(context.Background())
	}
	fmt.Printf("routing %s to big/ and small/; Ctrl-C to stop\n", filepath.Join(dir, "in"))
	<-ctx.Done()
	return nil
}
