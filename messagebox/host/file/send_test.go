package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/google/uuid"
)

func TestAdapter_Send(t *testing.T) {
	id := uuid.MustParse("0193a7a8-4c2e-7000-8000-000000000001")
	msg := func(body string) *messagebox.Message {
		m := messagebox.NewMessage([]byte(body), messagebox.Promoted(PropReceivedFileName, messagebox.String(`C:\in\PO-7.xml`)))
		m.ID = id
		return m
	}
	data := func(mode int) string {
		return `<CustomProps><CopyMode vt="19">` + string(rune('0'+mode)) + `</CopyMode></CustomProps>`
	}
	for _, tc := range []struct {
		name     string
		address  string
		data     string
		existing string // content already at the target, if any
		body     string
		want     string // content at the target afterwards
		file     string // the target's name
		err      error
	}{
		{name: "create new", address: `C:\out\%MessageID%.xml`, body: "a", want: "a", file: "{" + id.String() + "}.xml"},
		{name: "create new, same bytes there", address: `C:\out\x.xml`, existing: "a", body: "a", want: "a", file: "x.xml"},
		{name: "create new, other bytes there", address: `C:\out\x.xml`, existing: "b", body: "a", want: "b", file: "x.xml", err: ErrExists},
		{name: "overwrite", address: `C:\out\x.xml`, data: data(CopyOverwrite), existing: "old", body: "new", want: "new", file: "x.xml"},
		{name: "append", address: `C:\out\x.xml`, data: data(CopyAppend), existing: "old,", body: "new", want: "old,new", file: "x.xml"},
		{name: "append to nothing", address: `C:\out\x.xml`, data: data(CopyAppend), body: "new", want: "new", file: "x.xml"},
		{name: "source file name", address: `C:\out\copy-%SourceFileName%`, body: "a", want: "a", file: "copy-PO-7.xml"},
		{name: "time", address: `C:\out\%datetime%-%time%.txt`, body: "a", want: "a", file: "2026-12-07T093005-093005.txt"},
		{name: "bad copy mode", address: `C:\out\x.xml`, data: data(7), body: "a", file: "x.xml", err: host.ErrPermanent},
		{name: "no folder", address: `C:\missing\x.xml`, body: "a", file: "", err: os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			out := filepath.Join(root, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			a := New(&Options{Root: root, Now: func() time.Time { return time.Date(2026, 12, 7, 9, 30, 5, 0, time.UTC) }})
			if tc.existing != "" {
				if err := os.WriteFile(filepath.Join(out, tc.file), []byte(tc.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := a.Send(context.Background(), &host.Transport{Port: "P", Type: "FILE", Address: tc.address, Data: tc.data}, msg(tc.body))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("send: %v, want %v", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(out)
			if tc.file == "" || (tc.err != nil && tc.existing == "") {
				if len(entries) != 0 {
					t.Fatalf("files left: %v", entries)
				}
				return
			}
			// Only the target: no temporary file is left behind.
			if len(entries) != 1 || entries[0].Name() != tc.file {
				t.Fatalf("folder holds %v, want only %s", entries, tc.file)
			}
			got, _ := os.ReadFile(filepath.Join(out, tc.file))
			if string(got) != tc.want {
				t.Fatalf("content %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAdapter_path(t *testing.T) {
	for _, tc := range []struct{ root, addr, want string }{
		{"", `C:\orders\in\*.xml`, "/orders/in/*.xml"},
		{"/data", `C:\orders\in\*.xml`, "/data/orders/in/*.xml"},
		{"/data", `in\*.xml`, "/data/in/*.xml"},
		{"", `/var/spool/x.xml`, "/var/spool/x.xml"},
		{"", `relative/x.xml`, "relative/x.xml"},
	} {
		if got := New(&Options{Root: tc.root}).path(tc.addr); got != filepath.FromSlash(tc.want) {
			t.Errorf("path(%q) under %q = %q, want %q", tc.addr, tc.root, got, tc.want)
		}
	}
}

func TestAdapter_expand(t *testing.T) {
	a := New(&Options{Now: func() time.Time { return time.Date(2026, 12, 7, 9, 30, 5, 0, time.UTC) }})
	m := messagebox.NewMessage([]byte("x"), messagebox.Promoted(PropReceivedFileName, messagebox.String(`C:\in\PO-7.xml`)))
	m.ID = uuid.MustParse("0193a7a8-4c2e-7000-8000-000000000001")
	for _, tc := range []struct{ in, want string }{
		{`out\%MessageID%.xml`, `out\{0193a7a8-4c2e-7000-8000-000000000001}.xml`},
		{`%SourceFileName%`, `PO-7.xml`},
		{`100%-%time%`, `100%-093005`},
		{`a%b%c%datetime%`, `a%b%c2026-12-07T093005`},
		{`%unknown%`, `%unknown%`},
		{`50%`, `50%`},
		{`plain`, `plain`},
	} {
		if got := a.expand(tc.in, m); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
