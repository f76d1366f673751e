package biztier

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// sharedBindings holds real BizTalk binding files from public projects. They
// are read at test time and never copied into the repository.
const sharedBindings = "../shared/testdata/bindings"

// propsFor builds the promoted properties of a message meant to satisfy
// one filter group, typed as a property schema would type them: a value
// written as an integer is an Int64, anything else a String. Short names
// ("BTS.ReceivePortName") are kept as the file writes them.
func propsFor(g mgmt.Group) map[string]messagebox.Value {
	props := map[string]messagebox.Value{}
	typed := func(text string) messagebox.Value {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return messagebox.Int64(n)
		}
		return messagebox.String(text)
	}
	for _, s := range g {
		text := s.Value.Str()
		v := typed(text)
		switch s.Op {
		case mgmt.OpEqual, mgmt.OpLessEqual, mgmt.OpGreaterEqual:
			props[s.Property] = v
		case mgmt.OpLess:
			if v.Type() == messagebox.TypeInt64 {
				props[s.Property] = messagebox.Int64(v.Int64() - 1)
			} else {
				props[s.Property] = messagebox.String("")
			}
		case mgmt.OpGreater:
			if v.Type() == messagebox.TypeInt64 {
				props[s.Property] = messagebox.Int64(v.Int64() + 1)
			} else {
				props[s.Property] = messagebox.String(text + "~")
			}
		case mgmt.OpNotEqual:
			if _, ok := props[s.Property]; !ok {
				props[s.Property] = messagebox.String(text + "-other")
			}
		case mgmt.OpExists:
			if _, ok := props[s.Property]; !ok {
				props[s.Property] = messagebox.String("present")
			}
		}
	}
	return props
}

// refMatches is the test's own evaluation of a binding filter on typed
// properties, written from BizTalk's rules and not from the MessageBox's
// code: a filter value is compared in the type of the property's value (a
// number against an integer, text against a string), a missing property
// fails every operator, and the short "BTS." prefix names the system
// property.
func refMatches(f mgmt.Filter, props map[string]messagebox.Value) bool {
	long := func(name string) string {
		if rest, ok := strings.CutPrefix(name, "BTS."); ok {
			return "http://schemas.microsoft.com/BizTalk/2003/system-properties#" + rest
		}
		return name
	}
	find := func(name string) (messagebox.Value, bool) {
		for k, v := range props {
			if long(k) == long(name) {
				return v, true
			}
		}
		return messagebox.Value{}, false
	}
	for _, g := range f {
		all := true
		for _, s := range g {
			v, ok := find(s.Property)
			if !ok {
				all = false
				break
			}
			if s.Op == mgmt.OpExists {
				continue
			}
			var c int
			switch v.Type() {
			case messagebox.TypeInt64:
				n, err := strconv.ParseInt(strings.TrimSpace(s.Value.Str()), 10, 64)
				if err != nil {
					all = false
					continue
				}
				c = cmp.Compare(v.Int64(), n)
			default:
				c = strings.Compare(v.Str(), s.Value.Str())
			}
			hold := map[mgmt.Operator]bool{mgmt.OpEqual: c == 0, mgmt.OpNotEqual: c != 0, mgmt.OpLess: c < 0,
				mgmt.OpLessEqual: c <= 0, mgmt.OpGreater: c > 0, mgmt.OpGreaterEqual: c >= 0}[s.Op]
			all = all && hold
		}
		if all {
			return true
		}
	}
	return false
}

// TestRouting_RealBindingFiles imports each real binding file into a Group,
// starts every application, and publishes one message built from every
// filter group of every send port through the real MessageBox. The
// subscriptions it reaches must be exactly those whose filters match by
// the test's own evaluation, and a message nothing subscribes to is a routing
// failure.
func TestRouting_RealBindingFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedBindings, "*.xml"))
	if len(files) == 0 {
		t.Skipf("no binding files in %s", sharedBindings)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			ctx := context.Background()
			g := openMgmtTestGroup(t)
			mg, err := g.Management()
			require.NoError(t, err)
			mb, err := g.MessageBox()
			require.NoError(t, err)
			_, err = mg.Import(ctx, bytes.NewReader(data), &mgmt.ImportOptions{RegisterAdapters: true})
			require.NoError(t, err)
			for _, app := range mg.Applications() {
				require.NoError(t, mg.StartApplication(ctx, app.Name))
			}
			subs := mg.AllSubscriptions()
			var messages []map[string]messagebox.Value
			for _, p := range mg.SendPorts("") {
				for _, grp := range p.Filter {
					messages = append(messages, propsFor(grp))
				}
			}
			messages = append(messages, map[string]messagebox.Value{"Nobody.Subscribes": messagebox.Int64(1)})
			routed := 0
			for _, props := range messages {
				var want []uuid.UUID
				for _, s := range subs {
					if refMatches(s.Filter, props) {
						want = append(want, s.ID)
					}
				}
				var context []messagebox.Property
				for k, v := range props {
					context = append(context, messagebox.Promoted(k, v))
				}
				m := messagebox.NewMessage([]byte("<m/>"), context...)
				xs, err := mb.Explain(ctx, m)
				require.NoError(t, err)
				var got []uuid.UUID
				for _, x := range xs {
					if x.Matched {
						got = append(got, x.Subscription)
					}
				}
				slices.SortFunc(want, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
				slices.SortFunc(got, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
				require.Equal(t, want, got, "message %v", props)

				_, entries, err := mb.Publish(ctx, m)
				if len(want) == 0 {
					require.True(t, errors.Is(err, messagebox.ErrNoSubscribers), "message %v: %v", props, err)
					continue
				}
				require.NoError(t, err)
				require.Len(t, entries, len(want))
				routed++
			}
			require.Equal(t, len(messages)-1, routed, "every message built from a filter group is routed")
			t.Logf("%d messages routed through the MessageBox", routed)
		})
	}
}
