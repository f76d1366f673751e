package messagebox

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// bindingsDir holds real BizTalk binding files. It lies outside the
// repository (../shared from the repository root) and is read at test time
// only; the test is skipped when it is absent.
const bindingsDir = "../../shared/testdata/bindings"

type bindingFile struct {
	SendPorts []struct {
		Name   string `xml:"Name,attr"`
		Filter string `xml:"Filter"`
	} `xml:"SendPortCollection>SendPort"`
}

type filterDoc struct {
	Groups []struct {
		Statements []struct {
			Property string `xml:"Property,attr"`
			Operator string `xml:"Operator,attr"`
			Value    string `xml:"Value,attr"`
		} `xml:"Statement"`
	} `xml:"Group"`
}

// parseFilter turns a send port's <Filter> document into a predicate. The
// values are strings: without the property schemas that a Management
// store will hold, that is the only type a binding file gives.
func parseFilter(doc string) (Predicate, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	// The document says utf-16 but, once unescaped from the binding file,
	// it is the file's own (ASCII) text.
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var f filterDoc
	if err := d.Decode(&f); err != nil {
		return nil, err
	}
	var p Predicate
	for _, g := range f.Groups {
		var grp Group
		for _, s := range g.Statements {
			op, err := strconv.Atoi(s.Operator)
			if err != nil {
				return nil, err
			}
			if Op(op) == OpExists {
				grp = append(grp, Exists(s.Property))
			} else {
				grp = append(grp, Cond(s.Property, Op(op), String(s.Value)))
			}
		}
		p = append(p, grp)
	}
	return p, nil
}

// satisfy returns a string value that makes c hold.
func satisfy(c Condition) Value {
	v := c.Value.Str()
	switch c.Op {
	case OpNotEqual, OpGreater:
		return String(v + "~")
	case OpLess:
		if v == "" {
			return Value{}
		}
		return String(v[:len(v)-1])
	case OpExists:
		return String("any")
	}
	return String(v)
}

func TestBindings_FilterRouting(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(bindingsDir, "*.xml"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skipf("no binding files in %s", bindingsDir)
	}
	ports, hits, misses := 0, 0, 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			var bf bindingFile
			d := xml.NewDecoder(strings.NewReader(string(raw)))
			d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
			require.NoError(t, d.Decode(&bf))
			e := newEnv(t, nil)
			e.host("send")
			subs := map[uuid.UUID]Subscription{}
			for _, sp := range bf.SendPorts {
				if strings.TrimSpace(sp.Filter) == "" {
					continue
				}
				p, err := parseFilter(sp.Filter)
				require.NoError(t, err, "port %s", sp.Name)
				s := e.subscribe(Subscription{Name: sp.Name, Host: "send", Predicate: p})
				subs[s.ID] = s
				ports++
			}
			routedTo := func(m *Message) map[uuid.UUID]bool {
				_, ids, err := e.s.Publish(ctx, m)
				if err != nil {
					require.True(t, errors.Is(err, ErrNoSubscribers), "%v", err)
					return nil
				}
				out := map[uuid.UUID]bool{}
				e.s.mu.Lock()
				for _, id := range ids {
					out[e.s.mu.entries[id].sub] = true
				}
				e.s.mu.Unlock()
				return out
			}
			for _, s := range subs {
				for gi, g := range s.Predicate {
					m := NewMessage([]byte("<x/>"))
					ok := true
					for _, c := range g {
						v := satisfy(c)
						if v.IsZero() {
							ok = false
							break
						}
						if _, dup := m.Property(c.Property); !dup {
							m.Context = append(m.Context, Promoted(c.Property, v))
						}
					}
					if !ok || !bruteMatch(s.Predicate, m) {
						continue // contradictory group; nothing to route
					}
					got := routedTo(m)
					require.True(t, got[s.ID], "port %q group %d: message %v not routed to it", s.Name, gi, m.Context)
					for id := range subs {
						require.Equal(t, bruteMatch(subs[id].Predicate, m), got[id], "port %q on message built for %q", subs[id].Name, s.Name)
					}
					hits++
					// Misses: drop or break one condition at a time.
					for ci, c := range g {
						miss := &Message{Parts: m.Parts}
						for _, p := range m.Context {
							if p.Name != c.Property {
								miss.Context = append(miss.Context, p)
							}
						}
						if ci%2 == 1 && c.Op == OpEqual {
							miss.Context = append(miss.Context, Promoted(c.Property, String(c.Value.Str()+"-miss")))
						}
						if bruteMatch(s.Predicate, miss) {
							continue
						}
						got := routedTo(miss)
						require.False(t, got[s.ID], "port %q: message %v routed to it", s.Name, miss.Context)
						misses++
					}
				}
			}
		})
	}
	t.Logf("%d send port filters, %d matching and %d missing messages routed", ports, hits, misses)
	require.Positive(t, hits)
	require.Positive(t, misses)
}
