package rules_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier/rules"
)

// TestPolicy_sharedByGoroutines: one translated policy, executed from many
// goroutines at once (pooled engines and an engine each), gives each
// execution its own working memory. Run with -race.
func TestPolicy_sharedByGoroutines(t *testing.T) {
	rs := sharedRulesets(t, "apress2013-samplepolicy.xml")
	p := translate(t, rs[0], nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := rules.NewEngine(p, nil)
			for i := range 50 {
				age := 20 + (g*7+i)%30
				doc, err := rules.ParseXMLDocument("NewHire", stringsReader(fmt.Sprintf(
					`<ns0:NewHireList xmlns:ns0="http://CreatingAndTestingRules.NewHire"><Person><Age>%d</Age><Role>x</Role></Person></ns0:NewHireList>`, age)))
				if err != nil {
					errs <- err
					return
				}
				exec := p.Execute
				if i%2 == 1 {
					exec = e.Execute
				}
				res, err := exec(context.Background(), doc)
				want := 0
				if age < 35 {
					want = 1
				}
				if err != nil || res.Firings != want {
					errs <- fmt.Errorf("goroutine %d run %d age %d: %d firings (%v)", g, i, age, res.Firings, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRuntime_deployWhileRunning: an executor runs the policy in a loop
// while version 1.1 is deployed; its next execution runs 1.1, and no
// execution after that runs 1.0.
func TestRuntime_deployWhileRunning(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newMemDB(t), &clock{time.Now()})
	doc := compileDoc(t, string(readShared(t, "wmmihaa-lab12-orderapproval-policies.xml")))
	if err := s.Import(ctx, doc); err != nil {
		t.Fatal(err)
	}
	const name = "OrderApprovalPolicy"
	for _, mn := range []int{0, 1} {
		if err := s.PublishPolicy(ctx, name, v(1, mn)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Deploy(ctx, name, v(1, 0)); err != nil {
		t.Fatal(err)
	}
	reg := rules.NewRegistry()
	_ = reg.RegisterTable("SalesDetails", "CustomerSalesStatistics", rules.StaticTable{
		rules.NewRow("SalesDetails", "CustomerSalesStatistics", map[string]any{"CustomerName": "Contoso", "TotalOrdersToDate": 2500.0})})
	rt := rules.NewRuntime(s, &rules.RuntimeOptions{Registry: reg})

	type run struct {
		ver      rules.Version
		approved bool
		err      error
	}
	runs := make(chan run)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			d, err := rules.ParseXMLDocument("Lab12.Order", stringsReader(`<ns0:Order xmlns:ns0="http://Lab12.Order"><CustomerName>Contoso</CustomerName><TotalSum>150</TotalSum><Approved>x</Approved></ns0:Order>`))
			var r run
			if err == nil {
				_, r.ver, r.err = rt.Execute(ctx, name, d)
				var out struct{ Approved bool }
				if r.err == nil {
					r.err = xml.Unmarshal([]byte(d.String()), &out)
				}
				r.approved = out.Approved
			} else {
				r.err = err
			}
			select {
			case runs <- r:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	next := func() run {
		r := <-runs
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.approved != (r.ver == v(1, 1)) {
			t.Fatalf("version %v approved=%v", r.ver, r.approved)
		}
		return r
	}
	for range 3 {
		if r := next(); r.ver != v(1, 0) {
			t.Fatalf("before the deploy: ran %v", r.ver)
		}
	}
	if err := s.Deploy(ctx, name, v(1, 1)); err != nil {
		t.Fatal(err)
	}
	// The execution in flight during Deploy may still run 1.0; the one
	// after it runs 1.1.
	next()
	for range 3 {
		if r := next(); r.ver != v(1, 1) {
			t.Fatalf("after the deploy: ran %v", r.ver)
		}
	}
}
