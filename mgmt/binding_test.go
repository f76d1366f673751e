package mgmt_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/biztier/biztier/mgmt"
	"github.com/stretchr/testify/require"
)

// sharedBindings is where the real binding files live: outside the
// repository, read at test time and never copied in.
const sharedBindings = "../../shared/testdata/bindings"

func realBindingFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedBindings, "*.xml"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skipf("no binding files in %s", sharedBindings)
	}
	return files
}

// TestImportExport_RealFiles imports each real binding file, exports the
// group, imports that export into a fresh store and checks that both
// stores hold the same model, and that exporting again gives the same
// bytes.
func TestImportExport_RealFiles(t *testing.T) {
	for _, path := range realBindingFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			a := newEnv(t)
			res, err := a.s.Import(context.Background(), bytes.NewReader(data), realFileImport)
			require.NoError(t, err)
			require.NotEmpty(t, res.Created)
			require.Empty(t, res.Ignored, "nothing in a real export should be dropped")

			first := export(t, a.s, "")
			b := newEnv(t)
			_, err = b.s.Import(context.Background(), strings.NewReader(first), realFileImport)
			require.NoError(t, err, "re-import of:\n%s", first)
			require.Equal(t, snap(a.s), snap(b.s))
			require.Equal(t, first, export(t, b.s, ""))

			// Per application, too: the exports of every application,
			// imported in an order that satisfies their references, give
			// the same group back.
			docs := map[string]string{}
			for _, app := range a.s.Applications() {
				docs[app.Name] = export(t, a.s, app.Name)
			}
			c := newEnv(t)
			for len(docs) > 0 {
				progress := false
				for name, doc := range docs {
					if _, err := c.s.Import(context.Background(), strings.NewReader(doc), realFileImport); err == nil {
						delete(docs, name)
						progress = true
					}
				}
				require.True(t, progress, "per-application exports cannot be re-imported in any order")
			}
			require.Equal(t, snap(a.s), snap(c.s))

			// Importing the same file again changes nothing.
			before := snap(a.s)
			res, err = a.s.Import(context.Background(), bytes.NewReader(data), realFileImport)
			require.NoError(t, err)
			require.Empty(t, res.Created)
			require.Equal(t, before, snap(a.s))
		})
	}
}

// TestImport_RealFilesReopen checks the model survives a reopen of the
// store set.
func TestImport_RealFilesReopen(t *testing.T) {
	files := realBindingFiles(t)
	a := newEnv(t)
	for _, path := range files {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		_, err = a.s.Import(context.Background(), bytes.NewReader(data), realFileImport)
		require.NoError(t, err, path)
	}
	before := snap(a.s)
	require.NotEmpty(t, before.SendPorts)
	require.NoError(t, a.set.Close())
	set2 := reopenSet(t, a)
	s2, err := mgmt.Open(dbOf(set2), newFakeSubs(set2), nil)
	require.NoError(t, err)
	require.Equal(t, before, snap(s2))
}

// realFileImport imports the shared binding files: one of them names a
// third-party adapter ("nulladapter"), which an import registers only when
// told to.
var realFileImport = &mgmt.ImportOptions{RegisterAdapters: true}
