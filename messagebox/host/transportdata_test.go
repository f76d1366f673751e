package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/mgmt"
)

func TestParseTransportData(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"file receive", `<CustomProps><FileMask vt="8">*.xml</FileMask><BatchSize vt="19">20</BatchSize></CustomProps>`,
			map[string]string{"FileMask": "*.xml", "BatchSize": "20"}},
		{"empty property", `<CustomProps><Username vt="1" /></CustomProps>`, map[string]string{"Username": ""}},
		{"escaped config", `<CustomProps><AdapterConfig vt="8">&lt;Config&gt;&lt;uri&gt;ftp://h/x&lt;/uri&gt;&lt;/Config&gt;</AdapterConfig></CustomProps>`,
			map[string]string{"AdapterConfig": "<Config><uri>ftp://h/x</uri></Config>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := host.ParseTransportData(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	for _, bad := range []string{"<CustomProps>", "<a/><b/>", "text", "<C>x<P>1</P></C>", "<C><P><Q/></P></C>"} {
		if _, err := host.ParseTransportData(bad); !errors.Is(err, host.ErrTransportData) {
			t.Errorf("ParseTransportData(%q) = %v, want ErrTransportData", bad, err)
		}
	}
}

// TestParseTransportData_bindingFiles reads the adapter configuration of
// every port in the real binding files of shared/testdata.
func TestParseTransportData_bindingFiles(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/testdata/bindings/*.xml")
	if len(files) == 0 {
		t.Skip("shared/testdata/bindings not present")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			g, err := biztier.OpenInMemory()
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			mg, err := g.Management()
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := mg.Import(context.Background(), f, &mgmt.ImportOptions{RegisterAdapters: true}); err != nil {
				t.Skipf("import: %v", err)
			}
			n := 0
			check := func(where, data string) {
				if _, err := host.ParseTransportData(data); err != nil {
					t.Errorf("%s: %v", where, err)
				}
				n++
			}
			for _, p := range mg.SendPorts("") {
				for _, tr := range []*mgmt.Transport{p.Primary, p.Backup} {
					if tr != nil {
						check(p.Name, tr.TransportData)
					}
				}
			}
			for _, p := range mg.ReceivePorts("") {
				for _, l := range p.Locations {
					check(l.Name, l.TransportData)
				}
			}
			t.Logf("%d transports read", n)
		})
	}
}

// FuzzParseTransportData checks that any text is read or refused with
// ErrTransportData, never a panic.
func FuzzParseTransportData(f *testing.F) {
	for _, s := range []string{`<CustomProps><FileMask vt="8">*.xml</FileMask></CustomProps>`, `<a>`, ``, `<C><P>&lt;x/&gt;</P></C>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := host.ParseTransportData(s); err != nil && !errors.Is(err, host.ErrTransportData) {
			t.Fatalf("error %v does not wrap ErrTransportData", err)
		}
	})
}
