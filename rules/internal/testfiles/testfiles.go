// Package testfiles finds the shared BRL exports that the rules tests read:
// shared/testdata/rules beside the module root. The files are never copied
// into the repository (their licences differ), so tests resolve them at run
// time and skip when they are absent.
package testfiles

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Dir returns the directory holding the shared BRL exports, or skips tb
// when it cannot be found. It walks up from the working directory (the
// package under test) to the module root, the directory with go.mod, and
// looks for ../shared/testdata/rules beside it: CI clones the repository
// elsewhere with shared/ beside it.
func Dir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Skipf("shared BRL files: %v", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(d, "..", "shared", "testdata", "rules")
			if _, err := os.Stat(dir); err != nil {
				tb.Skipf("shared BRL files not found at %s", dir)
			}
			return dir
		}
		if filepath.Dir(d) == d {
			tb.Skip("shared BRL files: no module root above the working directory")
		}
	}
}

// Files returns the paths of every .xml file in Dir, sorted.
func Files(tb testing.TB) []string {
	tb.Helper()
	dir := Dir(tb)
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatalf("read %s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".xml") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		tb.Skipf("no BRL files in %s", dir)
	}
	return out
}

// Read returns the bytes of the shared file called name.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(tb), name))
	if err != nil {
		tb.Fatalf("read %s: %v", name, err)
	}
	return b
}
