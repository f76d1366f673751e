package bam

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/biztier/biztier/internal/sentinel"
	"github.com/stretchr/testify/require"
)

var bg = context.Background()

func TestStore_deployShared(t *testing.T) {
	e := newEnv(t, nil)
	files := sharedFiles(t, "BAMDefinition")
	for name, b := range files {
		d, err := ParseDefinitionBytes(b)
		require.NoError(t, err, name)
		require.NoError(t, e.s.Deploy(bg, d, "test"), name)
	}
	e.reopen()
	got := e.s.Definition()
	// Everything deployed comes back, by name, and exports and re-reads
	// equal.
	n := 0
	for _, b := range files {
		d, _ := ParseDefinitionBytes(b)
		for _, a := range d.Activities {
			require.Equal(t, uint32(1), e.s.Version("Activity", a.Name))
			n++
		}
	}
	require.Len(t, got.Activities, n)
	var out bytes.Buffer
	require.NoError(t, got.Export(&out))
	again, err := ParseDefinition(&out)
	require.NoError(t, err)
	require.Equal(t, got, again)
	// Deploying again is refused; removing then redeploying works.
	for name, b := range files {
		d, _ := ParseDefinitionBytes(b)
		require.ErrorIs(t, e.s.Deploy(bg, d, "test"), ErrExists, name)
		require.NoError(t, e.s.Remove(bg, d, "test"), name)
		require.NoError(t, e.s.Deploy(bg, d, "test"), name)
	}
	h, err := e.s.Deployments(bg)
	require.NoError(t, err)
	require.Len(t, h, 3*len(files))
}

func TestStore_updateAddsCheckpoints(t *testing.T) {
	e := newEnv(t, nil)
	d := e.deploy(orderDef)
	es := e.s.DirectStream(1)
	require.NoError(t, es.BeginActivity(bg, "Order", "1"))
	require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Region", "North"))

	// Remove a checkpoint: refused.
	bad := *d
	bad.Activities = []Activity{d.Activities[0]}
	bad.Activities[0].Checkpoints = bad.Activities[0].Checkpoints[1:]
	require.ErrorIs(t, e.s.Update(bg, &Definition{Activities: bad.Activities}, "test"), ErrIncompatible)

	up := *d
	up.Activities = []Activity{d.Activities[0]}
	up.Activities[0].Checkpoints = append(append([]Checkpoint{}, d.Activities[0].Checkpoints...), Checkpoint{Name: "Priority", ID: "C_Priority", Type: Int})
	require.NoError(t, e.s.Update(bg, &Definition{Activities: up.Activities}, "test"))
	require.Equal(t, uint32(2), e.s.Version("Activity", "Order"))
	require.NoError(t, es.UpdateActivity(bg, "Order", "1", "Priority", 3))
	in := e.instance("Order", "1")
	require.Equal(t, "North", in.Values["Region"].String())
	require.Equal(t, int64(3), in.Values["Priority"].Int())
	e.reopen()
	require.Equal(t, uint32(2), e.s.Version("Activity", "Order"))
	require.NotNil(t, e.s.Definition().Activities[0].Checkpoints[8])
}

func TestStore_removeInUse(t *testing.T) {
	e := newEnv(t, nil)
	d := e.deploy(orderDef)
	require.ErrorIs(t, e.s.Remove(bg, &Definition{Activities: d.Activities}, "test"), ErrInUse)
	require.ErrorIs(t, e.s.Remove(bg, &Definition{Views: d.Views}, "test"), ErrInUse)
	require.NoError(t, e.s.Remove(bg, d, "test"))
	require.Empty(t, e.s.Definition().Activities)
}

func TestStore_closed(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	es := e.s.DirectStream(0)
	require.NoError(t, es.BeginActivity(bg, "Order", "1"))
	require.NoError(t, e.s.Close())
	require.NoError(t, e.s.Close(), "twice")
	require.ErrorIs(t, es.Flush(bg), ErrClosed)
	require.ErrorIs(t, es.BeginActivity(bg, "Order", "2"), ErrClosed)
	_, err := e.s.Instance(bg, "Order", "1")
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, e.s.Deploy(bg, &Definition{Activities: []Activity{{Name: "X"}}}, ""), ErrClosed)
	_, err = e.s.Maintain(bg)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, e.s.Err(), ErrClosed)
	require.True(t, errors.Is(ErrClosed, sentinel.ErrClosed))
	require.True(t, IsCorruption(corruptf("x")))
	// Reopen for the cleanup's consistency check.
	s, err := Open(bg, dbOf(e.set), &e.opts)
	require.NoError(t, err)
	e.s = s
}

// TestStore_deployConflicts: a definition whose IDs collide with deployed
// ones, or that refers to what is not deployed, is refused whole.
func TestStore_deployConflicts(t *testing.T) {
	e := newEnv(t, nil)
	e.deploy(orderDef)
	clash, err := ParseDefinitionBytes([]byte(def(`<Activity Name="Other" ID="A_Order"><Checkpoint Name="X" ID="X1" DataType="INT"/></Activity>`)))
	require.NoError(t, err)
	err = e.s.Deploy(bg, clash, "test")
	require.ErrorIs(t, err, ErrReference)
	var de *DefinitionError
	require.True(t, errors.As(err, &de))
	require.Zero(t, de.Line)
	require.Contains(t, de.Element, "Activity[Other]")
	require.Zero(t, e.s.Version("Activity", "Other"))
	// A document's references are checked within it, as bm.exe does: a
	// new view over a deployed activity comes with the activity, through
	// Update.
	_, err = ParseDefinitionBytes([]byte(def(`<Activity Name="Tmp" ID="T"><Checkpoint Name="X" ID="TX" DataType="INT"/></Activity>
<View Name="Regions" ID="V2"><ActivityView Name="R" ID="AV2" ActivityRef="A_Order"><Alias Name="Region" ID="AL2"><CheckpointRef>C_Region</CheckpointRef></Alias></ActivityView></View>`)))
	require.ErrorIs(t, err, ErrReference)
	d, err := ParseDefinitionBytes([]byte(orderDef))
	require.NoError(t, err)
	withView, err := ParseDefinitionBytes([]byte(def(`<Activity Name="Order" ID="A_Order">` + checkpointsXML(d.Activities[0]) + `</Activity>
<View Name="Regions" ID="V2"><ActivityView Name="R" ID="AV2" ActivityRef="A_Order"><Alias Name="Region" ID="AL2"><CheckpointRef>C_Region</CheckpointRef></Alias></ActivityView></View>`)))
	require.NoError(t, err)
	require.NoError(t, e.s.Update(bg, withView, "test"))
	require.Equal(t, uint32(2), e.s.Version("Activity", "Order"))
	require.Equal(t, uint32(1), e.s.Version("View", "Regions"))
	require.Equal(t, uint32(1), e.s.Version("View", "Sales"))
}

func checkpointsXML(a Activity) string {
	var b strings.Builder
	for _, c := range a.Checkpoints {
		l := ""
		if c.Type == NVarChar {
			l = ` DataLength="` + strconv.Itoa(c.Length) + `"`
		}
		b.WriteString(`<Checkpoint Name="` + c.Name + `" ID="` + c.ID + `" DataType="` + string(c.Type) + `"` + l + `/>`)
	}
	return b.String()
}
