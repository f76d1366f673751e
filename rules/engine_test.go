package rules_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
)

// Item is a Go fact for the engine tests. GetN counts its calls so a test
// can see which tests the network re-evaluated.
type Item struct {
	N     int
	Tag   string
	Reads int
	child *Item
}

func (i *Item) GetN() int { i.Reads++; return i.N }

// Child returns a new item the rules can assert.
func (i *Item) Child() *Item {
	if i.child == nil {
		i.child = &Item{N: i.N + 1000, Tag: "child"}
	}
	return i.child
}

// Other is a second fact type.
type Other struct {
	N   int
	Tag string
}

// policyXML wraps rules in a ruleset binding "a" and "a2" to Item and "b"
// to Other.
func policyXML(config, body string) string {
	return `<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002"><ruleset name="T"><version major="1" minor="0" />` +
		config + `<bindings><class ref="a" class="Item" /><class ref="a2" class="Item" /><class ref="b" class="Other" /></bindings>` + body + `</ruleset></brl>`
}

func ruleXML(name string, prio int, cond, actions string) string {
	return fmt.Sprintf(`<rule name="%s" priority="%d" active="true"><if>%s</if><then>%s</then></rule>`, name, prio, cond, actions)
}

func get(ref, member string) string {
	return `<function><classmember classref="` + ref + `" member="` + member + `" sideeffects="false" /></function>`
}

func set(ref, member, val string) string {
	return `<function><classmember classref="` + ref + `" member="` + member + `" sideeffects="true"><argument>` + val + `</argument></classmember></function>`
}

func cmpXML(op, lhs, rhs string) string {
	return `<compare operator="` + op + `"><lhs>` + lhs + `</lhs><rhs>` + rhs + `</rhs></compare>`
}

func intC(n int) string    { return fmt.Sprintf(`<constant><int>%d</int></constant>`, n) }
func strC(s string) string { return `<constant><string>` + s + `</string></constant>` }
func ref(kind, r string) string {
	return `<object><reference><` + kind + ` ref="` + r + `" /></reference></object>`
}

func testRegistry(t testing.TB) *rules.Registry {
	reg := rules.NewRegistry()
	if err := reg.RegisterType("Item", &Item{}); err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterType("Other", &Other{}); err != nil {
		t.Fatal(err)
	}
	return reg
}

func compile(t testing.TB, doc string, opts *rules.TranslateOptions) *rules.Policy {
	t.Helper()
	res, err := brl.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := rules.Translate(res.Document.Rulesets[0], testRegistry(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEngine_control covers the working-memory functions and the agenda
// with small policies over Go facts.
func TestEngine_control(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		facts func() (in []any, check func(t *testing.T, res rules.Result))
	}{{
		name: "halt stops before lower priorities",
		rules: ruleXML("stop", 10, cmpXML("equal", get("a", "get_N"), intC(1)), `<halt><argument><constant><boolean>true</boolean></constant></argument></halt>`) +
			ruleXML("late", 0, cmpXML("equal", get("a", "get_N"), intC(1)), set("a", "set_Tag", strC("late"))),
		facts: func() ([]any, func(*testing.T, rules.Result)) {
			a := &Item{N: 1}
			return []any{a}, func(t *testing.T, res rules.Result) {
				if a.Tag != "" || !res.Halted || res.Firings != 1 {
					t.Fatalf("tag %q, result %+v", a.Tag, res)
				}
			}
		},
	}, {
		name: "retract drops the fact's other activations",
		rules: ruleXML("retract", 10, cmpXML("greater than", get("a", "get_N"), intC(0)), `<retract>`+ref("classref", "a")+`</retract>`) +
			ruleXML("after", 0, cmpXML("greater than", get("a", "get_N"), intC(0)), set("a", "set_Tag", strC("fired"))),
		facts: func() ([]any, func(*testing.T, rules.Result)) {
			a, z := &Item{N: 1}, &Item{N: 0}
			return []any{a, z}, func(t *testing.T, res rules.Result) {
				if a.Tag != "" || res.Firings != 1 {
					t.Fatalf("tag %q firings %d", a.Tag, res.Firings)
				}
			}
		},
	}, {
		name: "retractbytype removes every fact of a binding",
		rules: ruleXML("sweep", 10, cmpXML("equal", get("a", "get_N"), intC(7)), `<retractbytype>`+ref("classref", "b")+`</retractbytype>`) +
			ruleXML("others", 0, cmpXML("greater than equal", get("b", "N"), intC(0)), set("b", "set_Tag", strC("seen"))),
		facts: func() ([]any, func(*testing.T, rules.Result)) {
			a, b1, b2 := &Item{N: 7}, &Other{N: 1}, &Other{N: 2}
			return []any{a, b1, b2}, func(t *testing.T, res rules.Result) {
				if b1.Tag != "" || b2.Tag != "" || res.Firings != 1 {
					t.Fatalf("tags %q %q firings %d", b1.Tag, b2.Tag, res.Firings)
				}
			}
		},
	}, {
		name: "assert adds a new fact that matches",
		rules: ruleXML("spawn", 0, cmpXML("less than", get("a", "get_N"), intC(100)), `<assert><object>`+get("a", "Child")+`</object></assert>`) +
			ruleXML("grown", 0, cmpXML("greater than", get("a", "get_N"), intC(999)), set("a", "set_Tag", strC("grown"))),
		facts: func() ([]any, func(*testing.T, rules.Result)) {
			a := &Item{N: 5}
			return []any{a}, func(t *testing.T, res rules.Result) {
				if a.child == nil || a.child.Tag != "grown" || res.Firings != 2 {
					t.Fatalf("child %+v firings %d", a.child, res.Firings)
				}
			}
		},
	}, {
		name: "update re-matches rules whose conditions use the fact",
		rules: ruleXML("bump", 0, cmpXML("less than", get("a", "get_N"), intC(5)),
			set("a", "set_N", `<constant><int>5</int></constant>`)+`<update>`+ref("classref", "a")+`</update>`) +
			ruleXML("five", -1, cmpXML("equal", get("a", "get_N"), intC(5)), set("a", "set_Tag", strC("five"))),
		facts: func() ([]any, func(*testing.T, rules.Result)) {
			a := &Item{N: 1}
			return []any{a}, func(t *testing.T, res rules.Result) {
				if a.Tag != "five" || res.Firings != 2 {
					t.Fatalf("tag %q firings %d", a.Tag, res.Firings)
				}
			}
		},
	}, {
		name:  "join across two facts of one type",
		rules: ruleXML("pair", 0, `<and>`+cmpXML("equal", get("a", "get_N"), get("a2", "get_N"))+cmpXML("not equal", get("a", "Tag"), get("a2", "Tag"))+`</and>`, ""),
		facts: func() ([]any, func(*testing.T, rules.Result)) {
			items := []*Item{{N: 1, Tag: "x"}, {N: 1, Tag: "y"}, {N: 2, Tag: "z"}, {N: 1, Tag: "x"}, {N: 2, Tag: "w"}}
			want := 0
			for _, i := range items {
				for _, j := range items {
					if i.N == j.N && i.Tag != j.Tag {
						want++
					}
				}
			}
			in := make([]any, len(items))
			for i, it := range items {
				in[i] = it
			}
			return in, func(t *testing.T, res rules.Result) {
				if res.Firings != want {
					t.Fatalf("%d firings, want %d", res.Firings, want)
				}
			}
		},
	}, {
		name: "or, not, between, match",
		rules: ruleXML("combo", 0, `<or><not>`+cmpXML("less than", get("a", "get_N"), intC(10))+`</not>`+
			`<and><between><lhs>`+get("a", "get_N")+`</lhs><lower>`+intC(3)+`</lower><upper>`+intC(4)+`</upper></between>`+
			`<match><lhs>`+get("a", "Tag")+`</lhs><rhs>`+strC("^ab+c$")+`</rhs></match></and></or>`, set("a", "set_Tag", strC("hit"))),
		facts: func() ([]any, func(*testing.T, rules.Result)) {
			items := []*Item{{N: 12, Tag: "q"}, {N: 3, Tag: "abbc"}, {N: 4, Tag: "abc"}, {N: 5, Tag: "abc"}, {N: 3, Tag: "ac"}}
			want := make([]bool, len(items))
			in := make([]any, len(items))
			for i, it := range items {
				want[i] = it.N >= 10 || it.N >= 3 && it.N <= 4 && strings.HasPrefix(it.Tag, "ab") && strings.Trim(it.Tag[1:len(it.Tag)-1], "b") == "" && strings.HasSuffix(it.Tag, "c")
				in[i] = it
			}
			return in, func(t *testing.T, res rules.Result) {
				for i, it := range items {
					if (it.Tag == "hit") != want[i] {
						t.Errorf("item %d: tag %q, want hit=%v", i, it.Tag, want[i])
					}
				}
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := compile(t, policyXML("", tc.rules), nil)
			in, check := tc.facts()
			res, err := p.Execute(context.Background(), in...)
			if err != nil {
				t.Fatal(err)
			}
			check(t, res)
		})
	}
}

// TestEngine_loopLimit: a rule that updates the fact its condition reads
// fires until the loop limit, which ends the execution with a LoopError.
func TestEngine_loopLimit(t *testing.T) {
	loop := ruleXML("forever", 0, cmpXML("greater than equal", get("a", "get_N"), intC(0)), `<update>`+ref("classref", "a")+`</update>`)
	for _, tc := range []struct {
		name   string
		config string
		opts   *rules.TranslateOptions
		limit  int
	}{
		{"default", "", nil, rules.DefaultLoopLimit},
		{"configuration", `<configuration><maxexecutionloopdepth>100</maxexecutionloopdepth></configuration>`, nil, 100},
		{"option", "", &rules.TranslateOptions{LoopLimit: 7}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := compile(t, policyXML(tc.config, loop), tc.opts)
			res, err := p.Execute(context.Background(), &Item{N: 1})
			if !errors.Is(err, rules.ErrLoopLimit) {
				t.Fatalf("err = %v, want ErrLoopLimit", err)
			}
			var le *rules.LoopError
			if !errors.As(err, &le) || le.Limit != tc.limit || le.Rule != "forever" || res.Firings != tc.limit {
				t.Fatalf("error %+v, firings %d, want limit %d", le, res.Firings, tc.limit)
			}
		})
	}
}

// TestEngine_incremental: an Update re-evaluates only the tests of the
// updated fact; the tests of other facts keep their results.
func TestEngine_incremental(t *testing.T) {
	doc := policyXML("", ruleXML("watch-a", 5, cmpXML("greater than", get("a", "get_N"), intC(0)), "")+
		ruleXML("touch-b", 0, cmpXML("less than", get("b", "N"), intC(3)),
			set("b", "set_N", `<constant><int>3</int></constant>`)+`<update>`+ref("classref", "b")+`</update>`)+
		ruleXML("b-done", 0, cmpXML("equal", get("b", "N"), intC(3)), set("b", "set_Tag", strC("done"))))
	p := compile(t, doc, nil)
	a, b := &Item{N: 1}, &Other{N: 0}
	res, err := p.Execute(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	if b.Tag != "done" || res.Firings != 3 {
		t.Fatalf("tag %q firings %d", b.Tag, res.Firings)
	}
	// a's one test is evaluated once, when a is asserted: updating b does
	// not touch it.
	if a.Reads != 1 {
		t.Fatalf("a's test evaluated %d times, want 1", a.Reads)
	}
}

// TestTranslate_unbound: a fact type the registry cannot serve is an error
// when the policy is translated.
func TestTranslate_unbound(t *testing.T) {
	tests := []struct {
		name, doc string
		want      error
	}{
		{"class not registered", strings.Replace(policyXML("", ruleXML("r", 0, "", "")), `class="Other"`, `class="Missing"`, 1), rules.ErrUnbound},
		{"member missing", policyXML("", ruleXML("r", 0, cmpXML("equal", get("a", "get_Nope"), intC(1)), "")), rules.ErrUnbound},
		{"table not registered", `<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002"><ruleset name="T"><version major="1" minor="0" /><bindings><datarow ref="d" dataset="S" table="T" /></bindings></ruleset></brl>`, rules.ErrUnbound},
		{"undeclared binding", policyXML("", ruleXML("r", 0, cmpXML("equal", `<function><classmember classref="zz" member="N" /></function>`, intC(1)), "")), rules.ErrInvalid},
		{"bad selector", `<brl xmlns="http://schemas.microsoft.com/businessruleslanguage/2002"><ruleset name="T"><version major="1" minor="0" /><bindings><xmldocument ref="x" doctype="D"><selector>/*[</selector></xmldocument></bindings></ruleset></brl>`, rules.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := brl.Parse([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = rules.Translate(res.Document.Rulesets[0], testRegistry(t), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var te *rules.TranslateError
			if !errors.As(err, &te) || te.Element == "" {
				t.Fatalf("err %v is not a TranslateError naming the element", err)
			}
		})
	}
}

// TestEngine_equalityIndex: many rules "N equal k" and one fact: exactly
// the rule for the fact's value fires (the index answers them together).
func TestEngine_equalityIndex(t *testing.T) {
	var b strings.Builder
	for k := range 200 {
		b.WriteString(ruleXML(fmt.Sprintf("r%d", k), 0, cmpXML("equal", get("a", "get_N"), intC(k)), set("a", "set_Tag", strC(fmt.Sprint(k)))))
	}
	p := compile(t, policyXML("", b.String()), nil)
	for _, n := range []int{0, 57, 199, 200, -1} {
		it := &Item{N: n}
		res, err := p.Execute(context.Background(), it)
		if err != nil {
			t.Fatal(err)
		}
		want, wantTag := 0, ""
		if n >= 0 && n < 200 {
			want, wantTag = 1, fmt.Sprint(n)
		}
		if res.Firings != want || it.Tag != wantTag || it.Reads != 1 {
			t.Fatalf("N=%d: firings %d tag %q reads %d", n, res.Firings, it.Tag, it.Reads)
		}
	}
}

func TestEngine_badInput(t *testing.T) {
	p := compile(t, policyXML("", ruleXML("r", 0, "", "")), nil)
	var nilCtx context.Context // the point of the test
	if _, err := p.Execute(nilCtx, &Item{}); !errors.Is(err, rules.ErrInvalid) {
		t.Fatalf("nil context: %v", err)
	}
	if _, err := p.Execute(context.Background(), nil); !errors.Is(err, rules.ErrFact) {
		t.Fatalf("nil fact: %v", err)
	}
	if _, err := p.Execute(context.Background(), []int{1}); !errors.Is(err, rules.ErrFact) {
		t.Fatalf("slice fact: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Execute(ctx, &Item{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := rules.Translate(nil, nil, nil); !errors.Is(err, rules.ErrInvalid) {
		t.Fatalf("nil ruleset: %v", err)
	}
}

// retriever supplies one long-term Other fact and counts its calls; the
// handle it is given back is the one it returned.
type retriever struct {
	calls   int
	handles []any
	fact    *Other
}

func (r *retriever) UpdateFacts(_ context.Context, _ *rules.Policy, handle any) ([]any, any, error) {
	r.calls++
	r.handles = append(r.handles, handle)
	return []any{r.fact}, r.calls, nil
}

// TestEngine_longTermFacts: facts from the FactRetriever are in working
// memory at every execution of the engine; short-term facts only in the
// execution they were given to.
func TestEngine_longTermFacts(t *testing.T) {
	// A join of the short-term Item with the long-term Other.
	p := compile(t, policyXML("", ruleXML("pair", 0,
		cmpXML("equal", get("a", "get_N"), get("b", "N")), set("a", "set_Tag", strC("matched")))+
		ruleXML("count-b", 0, cmpXML("greater than equal", get("b", "N"), intC(0)), "")), nil)
	r := &retriever{fact: &Other{N: 7}}
	e := rules.NewEngine(p, &rules.EngineOptions{FactRetriever: r})
	ctx := context.Background()
	for i, n := range []int{7, 8, 7} {
		it := &Item{N: n}
		res, err := e.Execute(ctx, it)
		if err != nil {
			t.Fatal(err)
		}
		wantTag, wantFirings := "", 1 // count-b fires on the long-term fact each time
		if n == 7 {
			wantTag, wantFirings = "matched", 2
		}
		if it.Tag != wantTag || res.Firings != wantFirings {
			t.Fatalf("execution %d: tag %q firings %d", i, it.Tag, res.Firings)
		}
	}
	// No short-term fact: only the long-term one is there.
	res, err := e.Execute(ctx)
	if err != nil || res.Firings != 1 {
		t.Fatalf("no facts: %+v %v", res, err)
	}
	if r.calls != 4 || r.handles[0] != nil || r.handles[3] != 3 {
		t.Fatalf("retriever calls %d handles %v", r.calls, r.handles)
	}
}
