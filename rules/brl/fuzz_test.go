package brl_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/biztier/biztier/rules/brl"
	"github.com/biztier/biztier/rules/internal/testfiles"
)

// FuzzParse: Parse never panics, and whatever it accepts exports and
// re-imports equal. Seeds are the shared exports and a few small files.
//
//	go test ./rules/brl -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	for _, name := range []string{"apress2013-samplepolicy.xml", "wmmihaa-lab12-orderapproval-policies.xml", "brepf-httpheader-vocab-1.0.xml"} {
		f.Add(testfiles.Read(f, name))
	}
	f.Add([]byte(ruleWith(`<not><compare operator="equal"><lhs><constant><int>1</int></constant></lhs><rhs><constant><string>1</string></constant></rhs></compare></not>`)))
	f.Add([]byte(`<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := brl.Parse(b)
		if err != nil {
			return
		}
		out, err := brl.Write(res.Document)
		if err != nil {
			t.Fatalf("Write of a parsed document: %v", err)
		}
		again, err := brl.Parse(out)
		if err != nil {
			t.Fatalf("re-import: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(res.Document, again.Document) {
			t.Fatalf("re-import differs\n%s", out)
		}
		out2, _ := brl.Write(again.Document)
		if !bytes.Equal(out, out2) {
			t.Fatal("second export differs")
		}
	})
}
