package mgmt_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/biztier/biztier/mgmt"
	"github.com/stretchr/testify/require"
)

// An independent reading of send-port filters, with encoding/xml's struct
// mapping rather than mgmt's parser, to check routing against.

type refStatement struct {
	Property string  `xml:"Property,attr"`
	Operator int     `xml:"Operator,attr"`
	Value    *string `xml:"Value,attr"`
}

type refFilter struct {
	Groups []struct {
		Statements []refStatement `xml:"Statement"`
	} `xml:"Group"`
}

type refBinding struct {
	SendPorts []struct {
		Name   string `xml:"Name,attr"`
		Filter string `xml:"Filter"`
	} `xml:"SendPortCollection>SendPort"`
}

func refParse(t *testing.T, data []byte) map[string]refFilter {
	t.Helper()
	var b refBinding
	require.NoError(t, xml.Unmarshal(data, &b))
	out := map[string]refFilter{}
	for _, p := range b.SendPorts {
		var f refFilter
		if strings.TrimSpace(p.Filter) != "" {
			d := xml.NewDecoder(strings.NewReader(p.Filter))
			d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
			require.NoError(t, d.Decode(&f))
		}
		out[p.Name] = f
	}
	return out
}

func refCompare(a, b string) int {
	x, errx := strconv.ParseFloat(a, 64)
	y, erry := strconv.ParseFloat(b, 64)
	if errx == nil && erry == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func refMatch(f refFilter, props map[string]string) bool {
	for _, g := range f.Groups {
		all := len(g.Statements) > 0
		for _, s := range g.Statements {
			v, ok := props[s.Property]
			want := ""
			if s.Value != nil {
				want = *s.Value
			}
			var m bool
			switch c := refCompare(v, want); s.Operator {
			case 0:
				m = ok && c == 0
			case 1:
				m = ok && c < 0
			case 2:
				m = ok && c <= 0
			case 3:
				m = ok && c > 0
			case 4:
				m = ok && c >= 0
			case 5:
				m = ok && c != 0
			case 6:
				m = ok
			}
			if !m {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// messageFor builds the promoted properties of a message meant to satisfy
// one filter group.
func messageFor(stmts []refStatement) map[string]string {
	props := map[string]string{}
	for _, s := range stmts {
		v := ""
		if s.Value != nil {
			v = *s.Value
		}
		switch s.Operator {
		case 0, 2, 4:
			props[s.Property] = v
		case 1:
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				props[s.Property] = strconv.FormatFloat(n-1, 'f', -1, 64)
			} else {
				props[s.Property] = ""
			}
		case 3:
			props[s.Property] = v + "~"
		case 5:
			if _, ok := props[s.Property]; !ok {
				props[s.Property] = v + "-other"
			}
		case 6:
			if _, ok := props[s.Property]; !ok {
				props[s.Property] = "present"
			}
		}
	}
	return props
}

// TestRouting_RealFiles imports each real binding file, starts everything,
// and routes one message built from every filter group of every send port:
// it must reach exactly the send ports whose filters match by the
// independent evaluation, and a message nothing subscribes to must match
// nothing (a routing failure).
func TestRouting_RealFiles(t *testing.T) {
	for _, path := range realBindingFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			ctx := context.Background()
			e := newEnv(t)
			_, err = e.s.Import(ctx, bytes.NewReader(data), realFileImport)
			require.NoError(t, err)
			for _, app := range e.s.Applications() {
				require.NoError(t, e.s.StartApplication(ctx, app.Name))
			}
			ref := refParse(t, data)
			var messages []map[string]string
			for _, name := range sortedNames(ref) {
				for _, g := range ref[name].Groups {
					messages = append(messages, messageFor(g.Statements))
				}
			}
			built := len(messages)
			messages = append(messages, map[string]string{"Nobody.Subscribes": "1"})
			matched := 0
			for i, props := range messages {
				var want []string
				for _, name := range sortedNames(ref) {
					if refMatch(ref[name], props) {
						want = append(want, mgmt.Ref{Kind: mgmt.KindSendPort, Name: name}.String())
					}
				}
				delivered, suspended := route(t, e.set, props)
				require.Empty(t, suspended, "everything is started")
				var got []string
				for _, d := range delivered {
					if strings.HasPrefix(d, "SendPort:") {
						got = append(got, d)
					}
				}
				require.Equal(t, want, got, "message %v", props)
				if i < built {
					// A message built from a group reaches its port.
					require.NotEmpty(t, got, "message %v", props)
					matched++
				} else {
					require.Empty(t, delivered, "a message nothing subscribes to is a routing failure")
				}
			}
			t.Logf("%d messages routed", matched)
			// Stopping a port keeps its subscriptions: its messages are
			// suspended instead.
			for _, p := range e.s.SendPorts("") {
				if len(p.Filter) == 0 {
					continue
				}
				r := mgmt.Ref{Kind: mgmt.KindSendPort, Name: p.Name}
				require.NoError(t, e.s.Stop(ctx, r))
				props := messageFor(ref[p.Name].Groups[0].Statements)
				_, suspended := route(t, e.set, props)
				require.Contains(t, suspended, r.String())
				break
			}
		})
	}
}

func sortedNames(m map[string]refFilter) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
