package bam

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedBAM holds the real BAM definitions and tracking profiles; they are
// read from there, never copied into the repository.
const sharedBAM = "../../shared/testdata/bam"

// sharedFiles returns the shared files whose root element is root, or
// skips the test when the shared directory is absent.
func sharedFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(sharedBAM, "*.xml"))
	require.NoError(t, err)
	if len(paths) == 0 {
		t.Skipf("no shared BAM files in %s", sharedBAM)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		tree, err := parseXML(bytes.NewReader(b), "document")
		require.NoError(t, err, p)
		if tree.local() == root {
			out[filepath.Base(p)] = b
		}
	}
	return out
}

func TestDefinition_sharedRoundTrip(t *testing.T) {
	files := sharedFiles(t, "BAMDefinition")
	require.Len(t, files, 3)
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			d, err := ParseDefinitionBytes(b)
			require.NoError(t, err)
			for _, utf16 := range []bool{false, true} {
				var out bytes.Buffer
				if utf16 {
					require.NoError(t, d.ExportUTF16(&out))
					require.Equal(t, []byte{0xFF, 0xFE}, out.Bytes()[:2])
				} else {
					require.NoError(t, d.Export(&out))
				}
				again, err := ParseDefinition(&out)
				require.NoError(t, err)
				require.Equal(t, d, again)
			}
		})
	}
}

func TestDefinition_sharedContents(t *testing.T) {
	files := sharedFiles(t, "BAMDefinition")
	d, err := ParseDefinitionBytes(files["apress2016-bookorders-activitydef.xml"])
	require.NoError(t, err)
	require.Len(t, d.Activities, 1)
	require.Len(t, d.Activities[0].Checkpoints, 8)
	milestones := 0
	for _, c := range d.Activities[0].Checkpoints {
		if c.Type == DateTime {
			milestones++
		}
	}
	require.Equal(t, 4, milestones)
	require.Len(t, d.Views[0].ActivityViews[0].Durations, 2)

	d, err = ParseDefinitionBytes(files["sdk-bamfromexpression-def.xml"])
	require.NoError(t, err)
	require.Len(t, d.Activities, 2)
	require.Len(t, d.Cubes, 2)
	require.Len(t, d.Cubes[0].RTAs, 1)
	require.Equal(t, ProgressDimension, d.Cubes[1].Dimensions[1].Kind)
	require.Len(t, d.Cubes[1].Dimensions[1].Stage.Stages, 2)
	require.Len(t, d.Extensions, 1)

	d, err = ParseDefinitionBytes(files["icraft-activitymodel.xml"])
	require.NoError(t, err)
	n := 0
	for _, a := range d.Activities {
		n += len(a.Checkpoints)
	}
	require.Equal(t, 34, n)
}

// def builds a small definition document around activity and view XML.
func def(body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
` + body + `
</BAMDefinition>`
}

func TestParseDefinition_errors(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(`<Activity Name="Big" ID="A">`)
		for i := range n {
			b.WriteString(`<Checkpoint Name="C` + itoa(i) + `" ID="C` + itoa(i) + `" DataType="INT"/>`)
		}
		b.WriteString(`</Activity>`)
		return b.String()
	}
	tests := []struct {
		name, doc string
		kind      error
		element   string
		line      int
	}{
		{"syntax", def(`<Activity Name="A" ID="A">`), ErrMalformed, "BAMDefinition/Activity[A]", 4},
		{"unknown element", def(`<Activity Name="A" ID="A">
<Checkpoint Name="X" ID="X" DataType="INT"/>
<Milestone Name="Y"/></Activity>`), ErrMalformed, "BAMDefinition/Activity[A]/Milestone[Y]", 5},
		{"unknown attribute", def(`<Activity Name="A" ID="A"><Checkpoint Name="X" ID="X" DataType="INT" Size="3"/></Activity>`), ErrMalformed, "BAMDefinition/Activity[A]/Checkpoint[X]", 3},
		{"bad type", def(`<Activity Name="A" ID="A"><Checkpoint Name="X" ID="X" DataType="BLOB"/></Activity>`), ErrMalformed, "BAMDefinition/Activity[A]/Checkpoint[X]", 3},
		{"too many checkpoints", def(many(MaxCheckpoints + 1)), ErrLimit, "BAMDefinition/Activity[Big]", 3},
		{"1000 checkpoints", def(many(MaxCheckpoints)), nil, "", 0},
		{"long activity name", def(`<Activity Name="` + strings.Repeat("a", 49) + `" ID="A"><Checkpoint Name="X" ID="X" DataType="INT"/></Activity>`), ErrLimit, "BAMDefinition/Activity[" + strings.Repeat("a", 49) + "]", 3},
		{"long data", def(`<Activity Name="A" ID="A"><Checkpoint Name="X" ID="X" DataType="NVARCHAR" DataLength="4001"/></Activity>`), ErrLimit, "BAMDefinition/Activity[A]/Checkpoint[X]", 3},
		{"bad name", def(`<Activity Name="1st" ID="A"><Checkpoint Name="X" ID="X" DataType="INT"/></Activity>`), ErrMalformed, "BAMDefinition/Activity[1st]", 3},
		{"duplicate ID", def(`<Activity Name="A" ID="A"><Checkpoint Name="X" ID="A" DataType="INT"/></Activity>`), ErrReference, "BAMDefinition/Activity[A]/Checkpoint[X]", 3},
		{"dangling checkpoint ref", def(`<Activity Name="A" ID="A"><Checkpoint Name="X" ID="X" DataType="INT"/></Activity>
<View Name="V" ID="V"><ActivityView Name="AV" ID="AV" ActivityRef="A">
<Alias Name="Y" ID="Y"><CheckpointRef>Nope</CheckpointRef></Alias></ActivityView></View>`), ErrReference, "BAMDefinition/View[V]/ActivityView[AV]/Alias[Y]", 5},
		{"no activity", def(``), ErrMalformed, "BAMDefinition", 2},
		{"wrong root", `<Definition/>`, ErrMalformed, "Definition", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDefinition(strings.NewReader(tc.doc))
			if tc.kind == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.kind)
			var de *DefinitionError
			require.True(t, errors.As(err, &de), "%v", err)
			require.Equal(t, tc.element, de.Element)
			require.Equal(t, tc.line, de.Line)
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
