package rules_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
	"github.com/biztier/biztier/rules/internal/testfiles"
)

// The tests in this file run each shared policy on facts built for its
// bindings and check the outcome against an evaluation written here,
// independently of the engine: plain Go over the inputs, and encoding/xml
// (not the engine's XPath library) to read the documents back.

func sharedRulesets(t *testing.T, name string) []*brl.Ruleset {
	t.Helper()
	res, err := brl.Parse(testfiles.Read(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return res.Document.Rulesets
}

func translate(t testing.TB, rs *brl.Ruleset, reg *rules.Registry) *rules.Policy {
	t.Helper()
	p, err := rules.Translate(rs, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func xmlDoc(t testing.TB, typ, text string) *rules.XMLDocument {
	t.Helper()
	d, err := rules.ParseXMLDocument(typ, strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestShared_apressNewHire: Age < 35 sets Role to "INVALID APPLICANT".
func TestShared_apressNewHire(t *testing.T) {
	rs := sharedRulesets(t, "apress2013-samplepolicy.xml")
	p := translate(t, rs[0], nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 20 {
		ages := make([]int, 1+rng.IntN(6))
		var b strings.Builder
		b.WriteString(`<ns0:NewHireList xmlns:ns0="http://CreatingAndTestingRules.NewHire">`)
		for i := range ages {
			ages[i] = 18 + rng.IntN(40)
			fmt.Fprintf(&b, `<Person><Name>p%d</Name><Age>%d</Age><Role>Engineer</Role></Person>`, i, ages[i])
		}
		b.WriteString(`</ns0:NewHireList>`)
		doc := xmlDoc(t, "NewHire", b.String())
		res, err := p.Execute(context.Background(), doc)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Persons []struct {
				Age  int
				Role string
			} `xml:"Person"`
		}
		if err := xml.Unmarshal([]byte(doc.String()), &out); err != nil {
			t.Fatal(err)
		}
		wantFirings := 0
		for i, age := range ages {
			want := "Engineer"
			if age < 35 {
				want = "INVALID APPLICANT"
				wantFirings++
			}
			if out.Persons[i].Role != want {
				t.Fatalf("run %d person %d age %d: role %q, want %q", run, i, age, out.Persons[i].Role, want)
			}
		}
		if res.Firings != wantFirings {
			t.Fatalf("run %d: %d firings, want %d", run, res.Firings, wantFirings)
		}
	}
}

// TestShared_wmmihaaOrderApproval runs both versions of the lab's policy:
// 1.0 approves orders under 100; 1.1 also approves a customer whose
// statistics row (a database fact from a registered table) shows orders
// over 2000. The priority 1 default rule fires first and the priority 0
// rule's setter wins.
func TestShared_wmmihaaOrderApproval(t *testing.T) {
	rs := sharedRulesets(t, "wmmihaa-lab12-orderapproval-policies.xml")
	type row struct {
		name  string
		total float64
	}
	stats := []row{{"Contoso", 2500}, {"Fabrikam", 150}, {"Northwind", 2000.5}}
	var table rules.StaticTable
	for _, r := range stats {
		table = append(table, rules.NewRow("SalesDetails", "CustomerSalesStatistics", map[string]any{"CustomerName": r.name, "TotalOrdersToDate": r.total}))
	}
	reg := rules.NewRegistry()
	if err := reg.RegisterTable("SalesDetails", "CustomerSalesStatistics", table); err != nil {
		t.Fatal(err)
	}
	v10, v11 := translate(t, rs[0], reg), translate(t, rs[1], reg)
	if v10.Version() != (rules.Version{Major: 1, Minor: 0}) || v11.Version() != (rules.Version{Major: 1, Minor: 1}) {
		t.Fatalf("versions %v %v", v10.Version(), v11.Version())
	}
	customers := []string{"Contoso", "Fabrikam", "Northwind", "Tailspin"}
	rng := rand.New(rand.NewPCG(3, 4))
	for run := range 40 {
		sum := rng.IntN(250)
		cust := customers[rng.IntN(len(customers))]
		text := fmt.Sprintf(`<ns0:Order xmlns:ns0="http://Lab12.Order"><CustomerName>%s</CustomerName><TotalSum>%d</TotalSum><Approved>unknown</Approved></ns0:Order>`, cust, sum)
		for _, tc := range []struct {
			p    *rules.Policy
			want bool
		}{
			{v10, sum < 100},
			{v11, sum < 100 || func() bool {
				for _, r := range stats {
					if r.name == cust && r.total > 2000 {
						return true
					}
				}
				return false
			}()},
		} {
			doc := xmlDoc(t, "Lab12.Order", text)
			if _, err := tc.p.Execute(context.Background(), doc); err != nil {
				t.Fatal(err)
			}
			var out struct{ Approved string }
			if err := xml.Unmarshal([]byte(doc.String()), &out); err != nil {
				t.Fatal(err)
			}
			if out.Approved != fmt.Sprint(tc.want) {
				t.Fatalf("run %d %s %s: sum %d customer %s: Approved %q, want %v", run, tc.p.Name(), tc.p.Version(), sum, cust, out.Approved, tc.want)
			}
		}
	}
}

// TestShared_btdfReconcileShipment: the always-true rule sets two element
// values and four attributes across three bindings of one document, then
// updates the AppArea fact; the update does not make the rule fire again,
// since its condition uses no fact.
func TestShared_btdfReconcileShipment(t *testing.T) {
	var all []*brl.Ruleset
	all = append(all, sharedRulesets(t, "btdf-testpolicy-1.0.xml")...)
	all = append(all, sharedRulesets(t, "btdf-testpolicy2.xml")...)
	if len(all) != 3 {
		t.Fatalf("%d rulesets", len(all))
	}
	const doc = `<ns0:ReconcileShipment xmlns:ns0="http://Company.com/XML/1.3"><ns0:AppArea>` +
		`<ns0:BrePolicyCode listId="0" shortDscr="none">x</ns0:BrePolicyCode>` +
		`<ns0:BreStateCode listId="0" shortDscr="none">y</ns0:BreStateCode>` +
		`</ns0:AppArea></ns0:ReconcileShipment>`
	for _, rs := range all {
		t.Run(rs.Name, func(t *testing.T) {
			p := translate(t, rs, nil)
			d := xmlDoc(t, "ReconcileShipment", doc)
			res, err := p.Execute(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if res.Firings != 1 {
				t.Fatalf("%d firings, want 1", res.Firings)
			}
			type code struct {
				ListID    string `xml:"listId,attr"`
				ShortDscr string `xml:"shortDscr,attr"`
				Value     string `xml:",chardata"`
			}
			var out struct {
				AppArea struct {
					Policy code `xml:"BrePolicyCode"`
					State  code `xml:"BreStateCode"`
				}
			}
			if err := xml.Unmarshal([]byte(d.String()), &out); err != nil {
				t.Fatal(err)
			}
			want := code{"1062", "ResolveCustomer", "002"}
			if out.AppArea.Policy != want {
				t.Errorf("BrePolicyCode %+v, want %+v", out.AppArea.Policy, want)
			}
			want = code{"1060", "Approved", "001"}
			if out.AppArea.State != want {
				t.Errorf("BreStateCode %+v, want %+v", out.AppArea.State, want)
			}
		})
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func readShared(t testing.TB, name string) []byte { return testfiles.Read(t, name) }
