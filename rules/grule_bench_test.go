package rules_test

// Benchmarks of the engine beside github.com/hyperjumptech/grule-rule-engine
// running the same rules on the same facts in the same run. grule is a peer
// to measure against; it is imported here, in a test file, so the library
// does not depend on it. Semantics are matched: each grule rule retracts
// itself when it fires, as a BizTalk rule fires once per fact tuple.
//
// Run them all (they are not run in CI):
//
//	go test ./rules -run '^$' -bench . -benchmem -count 5
//
// and compare with benchstat. The ratio to quote is grule's ns/op over
// biztier's on the same sub-benchmark.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
	"github.com/biztier/biztier/rules/internal/testfiles"
	"github.com/hyperjumptech/grule-rule-engine/ast"
	"github.com/hyperjumptech/grule-rule-engine/builder"
	"github.com/hyperjumptech/grule-rule-engine/engine"
	"github.com/hyperjumptech/grule-rule-engine/logger"
	"github.com/hyperjumptech/grule-rule-engine/pkg"
)

func init() {
	// grule logs every rule it builds at info level.
	logger.SetLogLevel(logger.ErrorLevel)
}

// BenchFact is the Go fact both engines see.
type BenchFact struct {
	N   int
	Tag string
}

// benchRules writes n rules of one shape as BRL and as GRL. op is the BRL
// operator and goOp grule's.
func benchRules(n int, op, goOp string) (brlText, grl string) {
	var b, g strings.Builder
	b.WriteString(`<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002"><ruleset name="Bench"><version major="1" minor="0" /><bindings><class ref="f" class="BenchFact" /></bindings>`)
	for k := range n {
		fmt.Fprintf(&b, `<rule name="R%d" priority="0" active="true"><if><compare operator="%s"><lhs><function><classmember classref="f" member="get_N" sideeffects="false" /></function></lhs><rhs><constant><int>%d</int></constant></rhs></compare></if>`+
			`<then><function><classmember classref="f" member="set_Tag" sideeffects="true"><argument><constant><string>%d</string></constant></argument></classmember></function></then></rule>`, k, op, k, k)
		fmt.Fprintf(&g, "rule R%d \"r\" salience 0 {\n when Fact.N %s %d\n then Fact.Tag = \"%d\"; Retract(\"R%d\");\n}\n", k, goOp, k, k, k)
	}
	b.WriteString(`</ruleset></brl>`)
	return b.String(), g.String()
}

func biztierPolicy(tb testing.TB, text string) *rules.Policy {
	tb.Helper()
	res, err := brl.Parse([]byte(text))
	if err != nil {
		tb.Fatal(err)
	}
	reg := rules.NewRegistry()
	if err := reg.RegisterType("BenchFact", &BenchFact{}); err != nil {
		tb.Fatal(err)
	}
	p, err := rules.Translate(res.Document.Rulesets[0], reg, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func gruleLibrary(tb testing.TB, grl string) *ast.KnowledgeLibrary {
	tb.Helper()
	lib := ast.NewKnowledgeLibrary()
	if err := builder.NewRuleBuilder(lib).BuildRuleFromResource("Bench", "1.0.0", pkg.NewBytesResource([]byte(grl))); err != nil {
		tb.Fatal(err)
	}
	return lib
}

func gruleKB(tb testing.TB, lib *ast.KnowledgeLibrary) *ast.KnowledgeBase {
	kb, err := lib.NewKnowledgeBaseInstance("Bench", "1.0.0")
	if err != nil {
		tb.Fatal(err)
	}
	return kb
}

// BenchmarkGoFact_equal: one Go fact against n rules "N equal k"; one rule
// fires per execution (the "one fact against 1,000 rules").
//
//	go test ./rules -run '^$' -bench 'GoFact_equal' -benchmem
func BenchmarkGoFact_equal(b *testing.B) {
	for _, n := range []int{100, 1000} {
		brlText, grl := benchRules(n, "equal", "==")
		b.Run(fmt.Sprintf("rules=%d/engine=biztier", n), func(b *testing.B) {
			p := biztierPolicy(b, brlText)
			e := rules.NewEngine(p, nil)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(1, 1))
			f := &BenchFact{}
			b.ReportAllocs()
			for b.Loop() {
				f.N, f.Tag = rng.IntN(n), ""
				res, err := e.Execute(ctx, f)
				if err != nil || res.Firings != 1 {
					b.Fatal(res, err)
				}
			}
		})
		b.Run(fmt.Sprintf("rules=%d/engine=grule", n), func(b *testing.B) {
			kb := gruleKB(b, gruleLibrary(b, grl))
			eng := engine.NewGruleEngine()
			rng := rand.New(rand.NewPCG(1, 1))
			f := &BenchFact{}
			b.ReportAllocs()
			for b.Loop() {
				f.N, f.Tag = rng.IntN(n), ""
				dctx := ast.NewDataContext()
				if err := dctx.Add("Fact", f); err != nil {
					b.Fatal(err)
				}
				if err := eng.Execute(dctx, kb); err != nil || f.Tag != fmt.Sprint(f.N) {
					b.Fatal(err, f)
				}
			}
		})
	}
}

// BenchmarkGoFact_firings: one Go fact against n rules "N greater than k"
// with N = n/2: half the rules fire. Reports rule firings per second.
//
//	go test ./rules -run '^$' -bench 'GoFact_firings' -benchmem
func BenchmarkGoFact_firings(b *testing.B) {
	for _, n := range []int{100, 400} {
		brlText, grl := benchRules(n, "greater than", ">")
		want := n/2 - 1 + 1 // k = 0 .. n/2-1
		b.Run(fmt.Sprintf("rules=%d/engine=biztier", n), func(b *testing.B) {
			p := biztierPolicy(b, brlText)
			e := rules.NewEngine(p, nil)
			ctx := context.Background()
			f := &BenchFact{}
			b.ReportAllocs()
			for b.Loop() {
				f.N = n / 2
				res, err := e.Execute(ctx, f)
				if err != nil || res.Firings != want {
					b.Fatal(res, err)
				}
			}
			b.ReportMetric(float64(want*b.N)/b.Elapsed().Seconds(), "firings/s")
		})
		b.Run(fmt.Sprintf("rules=%d/engine=grule", n), func(b *testing.B) {
			kb := gruleKB(b, gruleLibrary(b, grl))
			eng := engine.NewGruleEngine()
			f := &BenchFact{}
			b.ReportAllocs()
			for b.Loop() {
				f.N = n / 2
				dctx := ast.NewDataContext()
				if err := dctx.Add("Fact", f); err != nil {
					b.Fatal(err)
				}
				if err := eng.Execute(dctx, kb); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(want*b.N)/b.Elapsed().Seconds(), "firings/s")
		})
	}
}

// xmlPerson is the XML fact as grule sees it: a node and the XPath
// expressions of its fields, read and written with the same library the
// biztier engine uses.
type xmlPerson struct {
	node   *xmlquery.Node
	fields map[string]*xpath.Expr
}

func (p *xmlPerson) Int(field string) int64 {
	n := xmlquery.QuerySelector(p.node, p.fields[field])
	var v int64
	if n != nil {
		_, _ = fmt.Sscan(n.InnerText(), &v)
	}
	return v
}

func (p *xmlPerson) SetText(field, v string) {
	n := xmlquery.QuerySelector(p.node, p.fields[field])
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		xmlquery.RemoveFromTree(c)
		c = next
	}
	xmlquery.AddChild(n, &xmlquery.Node{Type: xmlquery.TextNode, Data: v})
}

// BenchmarkXMLDocument: the shared Apress NewHire policy (Age < 35 sets
// Role) on a document of 10 people, half of them under 35: the binding's
// selector picks the people, each is a fact.
//
//	go test ./rules -run '^$' -bench 'XMLDocument' -benchmem
func BenchmarkXMLDocument(b *testing.B) {
	res, err := brl.Parse(testfiles.Read(b, "apress2013-samplepolicy.xml"))
	if err != nil {
		b.Fatal(err)
	}
	rs := res.Document.Rulesets[0]
	var d strings.Builder
	d.WriteString(`<ns0:NewHireList xmlns:ns0="http://CreatingAndTestingRules.NewHire">`)
	for i := range 10 {
		fmt.Fprintf(&d, `<Person><Age>%d</Age><Role>Engineer</Role></Person>`, 30+i)
	}
	d.WriteString(`</ns0:NewHireList>`)
	doc, err := rules.ParseXMLDocument("NewHire", strings.NewReader(d.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("engine=biztier", func(b *testing.B) {
		p, err := rules.Translate(rs, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		e := rules.NewEngine(p, nil)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			res, err := e.Execute(ctx, doc)
			if err != nil || res.Firings != 5 {
				b.Fatal(res, err)
			}
		}
		b.ReportMetric(float64(5*b.N)/b.Elapsed().Seconds(), "firings/s")
	})
	b.Run("engine=grule", func(b *testing.B) {
		const grl = "rule SampleRule \"r\" salience 0 {\n when Person.Int(\"Age\") < 35\n then Person.SetText(\"Role\", \"INVALID APPLICANT\"); Retract(\"SampleRule\");\n}\n"
		kb := gruleKB(b, gruleLibrary(b, grl))
		eng := engine.NewGruleEngine()
		sel := xpath.MustCompile(strings.TrimSpace(rs.Bindings[0].Child("selector").Text))
		fields := map[string]*xpath.Expr{
			"Age":  xpath.MustCompile("*[local-name()='Age' and namespace-uri()='']"),
			"Role": xpath.MustCompile("*[local-name()='Role' and namespace-uri()='']"),
		}
		b.ReportAllocs()
		for b.Loop() {
			fired := 0
			for _, n := range xmlquery.QuerySelectorAll(doc.Root, sel) {
				dctx := ast.NewDataContext()
				if err := dctx.Add("Person", &xmlPerson{node: n, fields: fields}); err != nil {
					b.Fatal(err)
				}
				if err := eng.Execute(dctx, kb); err != nil {
					b.Fatal(err)
				}
				if kb.IsRuleRetracted("SampleRule") {
					fired++
				}
			}
			if fired != 5 {
				b.Fatalf("%d fired", fired)
			}
		}
		b.ReportMetric(float64(5*b.N)/b.Elapsed().Seconds(), "firings/s")
	})
}

// BenchmarkTranslate: building a policy of n rules (biztier: Translate of
// a parsed ruleset; grule: GRL build and a knowledge base instance), and
// the heap the translated policy keeps (retained-MB). The target is
// 10,000 rules in ≤ 1 s and ≤ 100 MB. BenchmarkParse measures reading the
// BRL text.
//
//	go test ./rules -run '^$' -bench 'Translate|Parse' -benchmem -benchtime 3x
func BenchmarkTranslate(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		brlText, grl := benchRules(n, "equal", "==")
		b.Run(fmt.Sprintf("rules=%d/engine=biztier", n), func(b *testing.B) {
			res, err := brl.Parse([]byte(brlText))
			if err != nil {
				b.Fatal(err)
			}
			reg := rules.NewRegistry()
			_ = reg.RegisterType("BenchFact", &BenchFact{})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rules.Translate(res.Document.Rulesets[0], reg, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			before := heapInUse()
			keep, _ := rules.Translate(res.Document.Rulesets[0], reg, nil)
			b.ReportMetric(float64(heapInUse()-before)/(1<<20), "retained-MB")
			runtime.KeepAlive(keep)
			runtime.KeepAlive(res)
		})
		b.Run(fmt.Sprintf("rules=%d/engine=grule", n), func(b *testing.B) {
			if n > 1000 && testing.Short() {
				b.Skip("slow under -short")
			}
			b.ReportAllocs()
			for b.Loop() {
				gruleKB(b, gruleLibrary(b, grl))
			}
		})
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkParse: reading a BRL file of n rules.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		brlText, _ := benchRules(n, "equal", "==")
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(brlText)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := brl.Parse([]byte(brlText)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewEngine: the cost of one more engine on an already translated
// policy of 1,000 rules (biztier: an Engine with its own working memory;
// grule: a knowledge base instance, which grule needs per goroutine).
//
//	go test ./rules -run '^$' -bench 'NewEngine' -benchmem
func BenchmarkNewEngine(b *testing.B) {
	brlText, grl := benchRules(1000, "equal", "==")
	b.Run("engine=biztier", func(b *testing.B) {
		p := biztierPolicy(b, brlText)
		b.ReportAllocs()
		for b.Loop() {
			_ = rules.NewEngine(p, nil)
		}
	})
	b.Run("engine=grule", func(b *testing.B) {
		lib := gruleLibrary(b, grl)
		b.ReportAllocs()
		for b.Loop() {
			gruleKB(b, lib)
		}
	})
}
