package brl_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/biztier/biztier/rules/brl"
	"github.com/biztier/biztier/rules/internal/testfiles"
)

// roundTrip writes d, parses the result and checks the two are equal; it
// returns the written bytes.
func roundTrip(t *testing.T, d *brl.Document) []byte {
	t.Helper()
	out, err := brl.Write(d)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	again, err := brl.Parse(out)
	if err != nil {
		t.Fatalf("re-import: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(d, again.Document) {
		t.Fatalf("re-imported document differs from the exported one\n%s", out)
	}
	out2, err := brl.Write(again.Document)
	if err != nil || !bytes.Equal(out, out2) {
		t.Fatalf("second export differs (err %v)", err)
	}
	return out
}

// TestParse_sharedFiles imports every real export, checks what each holds
// and the warnings its quirks give, and that export then re-import is equal.
func TestParse_sharedFiles(t *testing.T) {
	type want struct {
		rulesets, vocabularies, rules, definitions int
		// warnings are substrings, one per expected warning, in order.
		warnings []string
	}
	wants := map[string]want{
		"apress2013-samplepolicy.xml":    {rulesets: 1, rules: 1},
		"brepf-httpheader-vocab-1.0.xml": {vocabularies: 1, definitions: 3},
		"btdf-testpolicy-1.0.xml": {rulesets: 2, rules: 2, warnings: []string{
			"a second <version> (1.0)", "a second <version> (1.0)"}},
		"btdf-testpolicy2.xml":                            {rulesets: 1, rules: 1},
		"solidsoft-esb-resolution-criteria-vocab-1.0.xml": {vocabularies: 1, definitions: 14, warnings: []string{"comment before the root element", `date "2015-05-10TT00:00:00.0000000+00:00" does not parse`}},
		"wmmihaa-lab12-orderapproval-policies.xml":        {rulesets: 2, rules: 4},
	}
	for _, path := range testfiles.Files(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			w, ok := wants[name]
			if !ok {
				t.Fatalf("no expectations for %s: add them", name)
			}
			res, err := brl.Parse(testfiles.Read(t, name))
			if err != nil {
				t.Fatal(err)
			}
			d := res.Document
			rules, defs := 0, 0
			for _, rs := range d.Rulesets {
				rules += len(rs.Rules)
			}
			for _, v := range d.Vocabularies {
				defs += len(v.Definitions)
			}
			if len(d.Rulesets) != w.rulesets || len(d.Vocabularies) != w.vocabularies || rules != w.rules || defs != w.definitions {
				t.Fatalf("got %d rulesets, %d vocabularies, %d rules, %d definitions; want %+v",
					len(d.Rulesets), len(d.Vocabularies), rules, defs, w)
			}
			if len(res.Warnings) != len(w.warnings) {
				t.Fatalf("warnings %v, want %d like %q", res.Warnings, len(w.warnings), w.warnings)
			}
			for i, s := range w.warnings {
				if !strings.Contains(res.Warnings[i].Message, s) || res.Warnings[i].Line == 0 {
					t.Errorf("warning %d = %v, want one containing %q with a line", i, res.Warnings[i], s)
				}
			}
			roundTrip(t, d)
		})
	}
}

func TestParse_details(t *testing.T) {
	res, err := brl.Parse(testfiles.Read(t, "wmmihaa-lab12-orderapproval-policies.xml"))
	if err != nil {
		t.Fatal(err)
	}
	v11 := res.Document.Rulesets[1]
	if v11.Name != "OrderApprovalPolicy" || v11.Version.Major != 1 || v11.Version.Minor != 1 {
		t.Fatalf("second ruleset is %s %d.%d", v11.Name, v11.Version.Major, v11.Version.Minor)
	}
	if b := v11.Binding("db_32"); b == nil || b.Name != "datarow" {
		t.Fatalf("binding db_32 = %v", b)
	}
	r := v11.Rules[0]
	if r.Name != "[2] EvaluateApproval" || r.Priority != 0 || !r.Active || r.Condition.Name != "or" {
		t.Fatalf("rule 0 = %+v", r)
	}
	if p := v11.Rules[1].Priority; p != 1 {
		t.Fatalf("priority %d", p)
	}
	res, err = brl.Parse(testfiles.Read(t, "btdf-testpolicy-1.0.xml"))
	if err != nil {
		t.Fatal(err)
	}
	rs := res.Document.Rulesets[0]
	if rs.Version.Minor != 2 || len(rs.ExtraVersions) != 1 || rs.ExtraVersions[0].Minor != 0 {
		t.Fatalf("versions %+v %+v", rs.Version, rs.ExtraVersions)
	}
	if got := rs.Rules[0].Actions[6].Name; got != "update" {
		t.Fatalf("last action %s", got)
	}
	if got := rs.VocabularyLinks(); len(got) != 3 {
		t.Fatalf("vocabulary links %v", got)
	}
	res, err = brl.Parse(testfiles.Read(t, "solidsoft-esb-resolution-criteria-vocab-1.0.xml"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, d := range res.Document.Vocabularies[0].Definitions {
		kinds[d.Kind()]++
	}
	if kinds["class member"] != 14 {
		t.Fatalf("kinds %v", kinds)
	}
	if _, ok := res.Document.Vocabularies[0].Version.Time(); ok {
		t.Fatal("malformed date parsed")
	}
}

// TestParse_crlfAndEncodings reads one export as LF, CRLF, with a UTF-8
// byte-order mark and as UTF-16 in both byte orders: all give one document.
func TestParse_crlfAndEncodings(t *testing.T) {
	lf := testfiles.Read(t, "apress2013-samplepolicy.xml")
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	bom := append([]byte{0xEF, 0xBB, 0xBF}, lf...)
	u16 := func(le bool) []byte {
		s := strings.Replace(string(lf), `encoding="utf-8"`, `encoding="utf-16"`, 1)
		u := utf16.Encode([]rune(s))
		out := []byte{0xFE, 0xFF}
		if le {
			out = []byte{0xFF, 0xFE}
		}
		for _, c := range u {
			if le {
				out = append(out, byte(c), byte(c>>8))
			} else {
				out = append(out, byte(c>>8), byte(c))
			}
		}
		return out
	}
	base, err := brl.Parse(lf)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"crlf": crlf, "bom": bom, "utf16le": u16(true), "utf16be": u16(false)} {
		t.Run(name, func(t *testing.T) {
			res, err := brl.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(base.Document, res.Document) {
				t.Fatal("document differs from the LF UTF-8 one")
			}
		})
	}
}

const head = `<?xml version="1.0" encoding="utf-8"?>
<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002">
  <ruleset name="P">
    <version major="1" minor="0" />
    <bindings>
      <xmldocument ref="x" doctype="D"><selector>/a</selector></xmldocument>
    </bindings>
`

func ruleWith(cond string) string {
	return head + `    <rule name="R" priority="0" active="true">
      <if>
` + cond + `
      </if>
      <then />
    </rule>
  </ruleset>
</brl>`
}

// TestParse_errors: each malformed file fails with an *Error naming the
// element and the line.
func TestParse_errors(t *testing.T) {
	cmp := func(op, lhs, rhs string) string {
		return `<compare operator="` + op + `"><lhs>` + lhs + `</lhs><rhs>` + rhs + `</rhs></compare>`
	}
	c := func(typ, v string) string { return `<constant><` + typ + `>` + v + `</` + typ + `></constant>` }
	tests := []struct {
		name, doc, path string
		line            int
	}{
		{"not xml", "<brl", "", 1},
		{"wrong root", `<?xml version="1.0"?>` + "\n<policy/>", "policy", 2},
		{"wrong namespace", `<brl xmlns="urn:x"/>`, "brl", 1},
		{"bad int", ruleWith(cmp("equal", c("int", "12x"), c("int", "1"))), "brl/ruleset/rule/if/compare/lhs/constant/int", 10},
		{"int overflow", ruleWith(cmp("equal", c("int", "99999999999"), c("int", "1"))), "brl/ruleset/rule/if/compare/lhs/constant/int", 10},
		{"bad boolean", ruleWith(cmp("equal", c("boolean", "yes"), c("boolean", "true"))), "brl/ruleset/rule/if/compare/lhs/constant/boolean", 10},
		{"bad datetime", ruleWith(cmp("equal", c("datetime", "2015-05-10TT00:00:00"), c("int", "1"))), "brl/ruleset/rule/if/compare/lhs/constant/datetime", 10},
		{"bad decimal", ruleWith(cmp("equal", c("decimal", "1,5"), c("int", "1"))), "brl/ruleset/rule/if/compare/lhs/constant/decimal", 10},
		{"unknown type", ruleWith(cmp("equal", c("money", "1"), c("int", "1"))), "brl/ruleset/rule/if/compare/lhs/constant/money", 10},
		{"unknown operator", ruleWith(cmp("roughly", c("int", "1"), c("int", "1"))), "brl/ruleset/rule/if/compare", 10},
		{"missing rhs", ruleWith(`<compare operator="equal"><lhs>` + c("int", "1") + `</lhs></compare>`), "brl/ruleset/rule/if/compare", 10},
		{"empty and", ruleWith(`<and></and>`), "brl/ruleset/rule/if/and", 10},
		{"two conditions", ruleWith(cmp("equal", c("int", "1"), c("int", "1")) + "\n" + cmp("equal", c("int", "1"), c("int", "1"))), "brl/ruleset/rule/if", 11},
		{"unknown condition", ruleWith(`<maybe/>`), "brl/ruleset/rule/if/maybe", 10},
		{"member without field", ruleWith(cmp("equal", `<function><xmldocumentmember xmldocumentref="x" type="int" /></function>`, c("int", "1"))), "brl/ruleset/rule/if/compare/lhs/function/xmldocumentmember", 10},
		{"bad priority", strings.Replace(ruleWith(cmp("equal", c("int", "1"), c("int", "1"))), `priority="0"`, `priority="high"`, 1), "brl/ruleset/rule", 8},
		{"no version", strings.Replace(ruleWith(`<and>`+cmp("equal", c("int", "1"), c("int", "1"))+`</and>`), `<version major="1" minor="0" />`, ``, 1), "brl/ruleset", 3},
		{"duplicate ref", strings.Replace(head, "</bindings>", `<xmldocument ref="x"><selector>/b</selector></xmldocument></bindings>`, 1) + "</ruleset></brl>", "brl/ruleset/bindings/xmldocument[2]", 7},
		{"unknown action", strings.Replace(ruleWith(cmp("equal", c("int", "1"), c("int", "1"))), "<then />", "<then><explode/></then>", 1), "brl/ruleset/rule/then/explode", 12},
		{"unbalanced", head + "</brl>", "brl/ruleset", 8},
		{"mixed text", `<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002"><ruleset name="P"><version major="1" minor="0"/></ruleset>stray</brl>`, "brl", 1},
		{"mixed text before a child", "<brl xmlns=\"http://schemas.microsoft.com/businessruleslanguage/2002\">\n<ruleset name=\"P\">x<version major=\"1\" minor=\"0\"/></ruleset></brl>", "brl/ruleset", 2},
		{"doctype", `<!DOCTYPE brl []><brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002"/>`, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := brl.Parse([]byte(tc.doc))
			if !errors.Is(err, brl.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			var be *brl.Error
			if !errors.As(err, &be) {
				t.Fatalf("err %T is not an *Error", err)
			}
			if be.Path != tc.path || be.Line != tc.line {
				t.Fatalf("error at %q line %d, want %q line %d: %v", be.Path, be.Line, tc.path, tc.line, err)
			}
		})
	}
}

func TestWrite_invalid(t *testing.T) {
	bad := &brl.Document{Rulesets: []*brl.Ruleset{{Name: "P", Rules: []*brl.Rule{{Name: "R", Actions: []*brl.Node{{Name: "bad name"}}}}}}}
	if _, err := brl.Write(bad); !errors.Is(err, brl.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if _, err := brl.Write(nil); !errors.Is(err, brl.ErrInvalid) {
		t.Fatalf("nil: err = %v", err)
	}
}

// TestWrite_keepsUnknownAndText: elements Parse does not know, leaf text
// with spaces, tabs, CR and markup characters, and a vocabulary before a
// ruleset all survive export then re-import.
func TestWrite_keepsUnknownAndText(t *testing.T) {
	doc := `<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002">
  <vocabulary id="v1" name="V"><version major="1" minor="0"/>
    <vocabularydefinition id="d1" name="D"><bindingdefinition><valuedefinitionliteral type="string"><string> a&#9;&lt;b&gt;&#xD; </string></valuedefinitionliteral></bindingdefinition><note>x</note></vocabularydefinition>
  </vocabulary>
  <ruleset name="P"><version major="2" minor="3"/><future a="1"><b/></future>
    <rule name="R" priority="-5" active="false" extra="e"><if/><then><halt/></then></rule>
  </ruleset>
</brl>`
	res, err := brl.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 2 {
		t.Fatalf("warnings %v", res.Warnings)
	}
	d := res.Document
	if d.Order != "vr" || d.Rulesets[0].Rules[0].Priority != -5 || d.Rulesets[0].Rules[0].Active {
		t.Fatalf("parsed %+v", d)
	}
	if got := d.Vocabularies[0].Definitions[0].Binding.Children[0].Text; got != " a\t<b>\r " {
		t.Fatalf("literal text %q", got)
	}
	out := roundTrip(t, d)
	if !bytes.Contains(out, []byte(`<future a="1">`)) {
		t.Fatalf("unknown element lost:\n%s", out)
	}
}
