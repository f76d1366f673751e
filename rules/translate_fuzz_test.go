package rules_test

import (
	"context"
	"errors"
	"testing"

	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
	"github.com/biztier/biztier/rules/internal/testfiles"
)

// FuzzTranslate: any ruleset Parse accepts translates or fails with
// ErrInvalid or ErrUnbound, and a translated one executes on Go, XML and
// row facts without panicking, stopping at the loop limit at worst.
//
//	go test ./rules -run '^$' -fuzz FuzzTranslate -fuzztime 60s
func FuzzTranslate(f *testing.F) {
	for _, name := range []string{"apress2013-samplepolicy.xml", "wmmihaa-lab12-orderapproval-policies.xml", "btdf-testpolicy2.xml"} {
		f.Add(testfiles.Read(f, name))
	}
	f.Add([]byte(priorityPolicy))
	f.Add([]byte(policyXML("", ruleXML("r", 1, `<or><not>`+cmpXML("less than", get("a", "get_N"), intC(10))+`</not>`+
		`<between><lhs>`+get("a", "get_N")+`</lhs><lower>`+intC(3)+`</lower><upper>`+intC(4)+`</upper></between></or>`,
		set("a", "set_Tag", strC("x"))+`<update>`+ref("classref", "a")+`</update><retract>`+ref("classref", "b")+`</retract>`))))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := brl.Parse(b)
		if err != nil {
			return
		}
		reg := testRegistry(t)
		_ = reg.RegisterType("Shop.Order", &Order{})
		_ = reg.RegisterTable("SalesDetails", "CustomerSalesStatistics", rules.StaticTable{
			rules.NewRow("SalesDetails", "CustomerSalesStatistics", map[string]any{"CustomerName": "C", "TotalOrdersToDate": 1.5})})
		for _, rs := range res.Document.Rulesets {
			p, err := rules.Translate(rs, reg, &rules.TranslateOptions{LoopLimit: 50})
			if err != nil {
				if !errors.Is(err, rules.ErrInvalid) && !errors.Is(err, rules.ErrUnbound) {
					t.Fatalf("translate error %v wraps neither ErrInvalid nor ErrUnbound", err)
				}
				continue
			}
			facts := []any{&Item{N: 3, Tag: "abc"}, &Other{N: 1}, &Order{Total: 120}}
			for _, bd := range rs.Bindings {
				if bd.Name == "xmldocument" {
					typ, _ := bd.Attr("doctype")
					d, err := rules.ParseXMLDocument(typ, stringsReader(`<ns0:Order xmlns:ns0="http://Lab12.Order"><TotalSum>5</TotalSum><Approved>x</Approved><Age>3</Age><Role>r</Role></ns0:Order>`))
					if err != nil {
						t.Fatal(err)
					}
					facts = append(facts, d)
				}
			}
			_, err = p.Execute(context.Background(), facts...)
			if err != nil && !errors.Is(err, rules.ErrLoopLimit) && !errors.Is(err, rules.ErrFact) && !errors.Is(err, rules.ErrInvalid) {
				t.Fatalf("execute error %v wraps no rules sentinel", err)
			}
		}
	})
}
