package biztier

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
// one filter group.
func propsFor(g mgmt.Group) map[string]string {
	props := map[string]string{}
	for _, s := range g {
		switch s.Operator {
		case mgmt.OpEqual, mgmt.OpLessEqual, mgmt.OpGreaterEqual:
			props[s.Property] = s.Value
		case mgmt.OpLess:
			if n, err := strconv.ParseFloat(s.Value, 64); err == nil {
				props[s.Property] = strconv.FormatFloat(n-1, 'f', -1, 64)
			} else {
				props[s.Property] = ""
			}
		case mgmt.OpGreater:
			props[s.Property] = s.Value + "~"
		case mgmt.OpNotEqual:
			if _, ok := props[s.Property]; !ok {
				props[s.Property] = s.Value + "-other"
			}
		case mgmt.OpExists:
			if _, ok := props[s.Property]; !ok {
				props[s.Property] = "present"
			}
		}
	}
	return props
}

// TestRouting_RealBindingFiles imports each real binding file into a Group,
// starts every application, and publishes one message built from every
// filter group of every send port through the real MessageBox. The
// subscriptions it reaches must be exactly those whose filters match by
// mgmt's own evaluation, and a message nothing subscribes to is a routing
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
			_, err = mg.Import(ctx, bytes.NewReader(data), nil)
			require.NoError(t, err)
			for _, app := range mg.Applications() {
				require.NoError(t, mg.StartApplication(ctx, app.Name))
			}
			subs := mg.AllSubscriptions()
			var messages []map[string]string
			for _, p := range mg.SendPorts("") {
				for _, grp := range p.Filter {
					messages = append(messages, propsFor(grp))
				}
			}
			messages = append(messages, map[string]string{"Nobody.Subscribes": "1"})
			routed := 0
			for _, props := range messages {
				var want []uuid.UUID
				for _, s := range subs {
					if s.Filter.Match(props) {
						want = append(want, s.ID)
					}
				}
				var context []messagebox.Property
				for k, v := range props {
					context = append(context, messagebox.Promoted(k, messagebox.String(v)))
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
