package rules_test

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/rules/brl"
	"github.com/biztier/biztier/rules/internal/testfiles"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// memDB is a rules.Database on an in-memory Pebble database: the seam
// the group fills, tested on its own.
type memDB struct {
	db  *pebble.DB
	lsn uint64
	// failNext makes the next commit fail, to check nothing is published.
	failNext bool
}

func newMemDB(t testing.TB) *memDB {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &memDB{db: db}
}

func (m *memDB) Reader() pebble.Reader { return m.db }
func (m *memDB) Begin() rules.Txn      { return &memTxn{m: m, b: m.db.NewBatch()} }

// memTxn is a transaction of memDB: one Pebble batch.
type memTxn struct {
	m        *memDB
	b        *pebble.Batch
	onCommit []func()
}

func (t *memTxn) Batch(r pebble.Reader) (*pebble.Batch, error) {
	if r != pebble.Reader(t.m.db) || t.b == nil {
		return nil, errors.New("not this database's transaction")
	}
	return t.b, nil
}

func (t *memTxn) IndexedBatch(r pebble.Reader) (*pebble.Batch, error) {
	return nil, errors.New("memTxn: no indexed batches")
}

func (t *memTxn) OnCommit(fn func()) { t.onCommit = append(t.onCommit, fn) }
func (t *memTxn) OnAbort(func())     {}

func (t *memTxn) Commit(context.Context) (uint64, error) {
	if t.m.failNext {
		t.m.failNext = false
		return 0, errors.New("injected commit failure")
	}
	if err := t.b.Commit(pebble.Sync); err != nil {
		return 0, err
	}
	t.m.lsn++
	for _, fn := range t.onCommit {
		fn()
	}
	return t.m.lsn, nil
}

func (t *memTxn) Abort() {
	if t.b != nil {
		_ = t.b.Close()
		t.b = nil
	}
}

// quietLogger drops Pebble's informational messages; Fatalf panics, since
// Pebble's default would exit the process.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(string, ...any)          {}
func (quietLogger) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func openStore(t testing.TB, db *memDB, c *clock) *rules.Store {
	t.Helper()
	s, err := rules.Open(db, &rules.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func v(major, minor int) rules.Version { return rules.Version{Major: major, Minor: minor} }

func wantState(t *testing.T, err error, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
}

// TestStore_lifecycle walks the shared two-version policy through Saved →
// Published → Deployed ↔ Undeployed, checks the refusals, and that a
// reopened store and an export give back the same thing.
func TestStore_lifecycle(t *testing.T) {
	ctx := context.Background()
	db, c := newMemDB(t), &clock{time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	s := openStore(t, db, c)
	res, err := brl.Parse(testfiles.Read(t, "wmmihaa-lab12-orderapproval-policies.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Import(ctx, res.Document); err != nil {
		t.Fatal(err)
	}
	const name = "OrderApprovalPolicy"
	wantState(t, s.Deploy(ctx, name, v(1, 0)), rules.ErrState) // saved: not deployable
	if err := s.SavePolicy(ctx, res.Document.Rulesets[0]); err != nil {
		t.Fatalf("saving over a saved version: %v", err)
	}
	if err := s.PublishPolicy(ctx, name, v(1, 0)); err != nil {
		t.Fatal(err)
	}
	var se *rules.StateError
	err = s.SavePolicy(ctx, res.Document.Rulesets[0])
	if !errors.As(err, &se) || !errors.Is(err, rules.ErrState) || se.State != rules.StatePublished {
		t.Fatalf("saving over a published version: %v", err)
	}
	wantState(t, s.PublishPolicy(ctx, name, v(1, 0)), rules.ErrState)
	wantState(t, s.Undeploy(ctx, name, v(1, 0)), rules.ErrState)
	wantState(t, s.Deploy(ctx, name, v(9, 9)), rules.ErrNotFound)
	if _, err := s.Deployed(name); !errors.Is(err, rules.ErrNotFound) {
		t.Fatalf("deployed before any deploy: %v", err)
	}
	steps := []struct {
		op   func() error
		high rules.Version
	}{
		{func() error { return s.Deploy(ctx, name, v(1, 0)) }, v(1, 0)},
		{func() error { return s.PublishPolicy(ctx, name, v(1, 1)) }, v(1, 0)},
		{func() error { return s.Deploy(ctx, name, v(1, 1)) }, v(1, 1)},
		{func() error { return s.Undeploy(ctx, name, v(1, 1)) }, v(1, 0)},
	}
	for i, st := range steps {
		c.advance(time.Minute)
		if err := st.op(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		p, err := s.Deployed(name)
		if err != nil || p.Version != st.high {
			t.Fatalf("step %d: deployed %v %v, want %v", i, p, err, st.high)
		}
	}
	wantState(t, s.Deploy(ctx, name, v(1, 0)), rules.ErrState) // already deployed
	hist, err := s.History()
	if err != nil || len(hist) != 3 || !hist[0].Deployed || hist[2].Deployed || hist[2].Version != v(1, 1) {
		t.Fatalf("history %+v %v", hist, err)
	}
	if !hist[0].Time.Equal(time.Date(2026, 12, 7, 12, 1, 0, 0, time.UTC)) {
		t.Fatalf("history time %v", hist[0].Time)
	}
	// Reopen: the same states; exports re-import equal to the file's.
	s2 := openStore(t, db, c)
	for i, rs := range res.Document.Rulesets {
		a, _ := s.Policy(name, v(1, i))
		b, err := s2.Policy(name, v(1, i))
		if err != nil || a.State != b.State || !a.Published.Equal(b.Published) {
			t.Fatalf("reopened %d: %+v vs %+v (%v)", i, a, b, err)
		}
		out, err := s2.ExportPolicy(name, v(1, i))
		if err != nil {
			t.Fatal(err)
		}
		again, err := brl.Parse(out)
		if err != nil || !reflect.DeepEqual(again.Document.Rulesets[0], rs) {
			t.Fatalf("export of %d differs: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Policies(); !errors.Is(err, rules.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	var nilCtx context.Context // the point of the test
	if err := s2.Deploy(nilCtx, name, v(1, 1)); !errors.Is(err, rules.ErrInvalid) {
		t.Fatalf("nil context: %v", err)
	}
}

// TestStore_failedCommitPublishesNothing: a commit that fails leaves the
// in-memory state as it was.
func TestStore_failedCommitPublishesNothing(t *testing.T) {
	ctx := context.Background()
	db, c := newMemDB(t), &clock{time.Now()}
	s := openStore(t, db, c)
	rs := compileDoc(t, policyXML("", "")).Rulesets[0]
	if err := s.SavePolicy(ctx, rs); err != nil {
		t.Fatal(err)
	}
	db.failNext = true
	if err := s.PublishPolicy(ctx, "T", v(1, 0)); err == nil {
		t.Fatal("publish with a failing commit succeeded")
	}
	p, _ := s.Policy("T", v(1, 0))
	if p.State != rules.StateSaved {
		t.Fatalf("state %v after a failed commit", p.State)
	}
}

func compileDoc(t testing.TB, text string) *brl.Document {
	t.Helper()
	res, err := brl.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return res.Document
}

// TestStore_vocabularyFirst: a policy that uses a vocabulary the store
// holds cannot be published before the vocabulary; a published vocabulary
// is immutable.
func TestStore_vocabularyFirst(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newMemDB(t), &clock{time.Now()})
	vocab := compileDoc(t, string(testfiles.Read(t, "solidsoft-esb-resolution-criteria-vocab-1.0.xml"))).Vocabularies[0]
	pol := compileDoc(t, policyXML("", ruleXML("r", 0,
		cmpXML("equal", `<function><vocabularylink uri="`+vocab.ID+`" element="x" /><classmember classref="a" member="get_N" sideeffects="false" /></function>`, intC(1)), ""))).Rulesets[0]
	if err := s.SaveVocabulary(ctx, vocab); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	err := s.PublishPolicy(ctx, "T", v(1, 0))
	if !errors.Is(err, rules.ErrVocabularyNotPublished) {
		t.Fatalf("publish before the vocabulary: %v", err)
	}
	if err := s.PublishVocabulary(ctx, vocab.Name, v(1, 0)); err != nil {
		t.Fatal(err)
	}
	wantState(t, s.SaveVocabulary(ctx, vocab), rules.ErrState)
	if err := s.PublishPolicy(ctx, "T", v(1, 0)); err != nil {
		t.Fatal(err)
	}
	out, err := s.ExportVocabulary(vocab.Name, v(1, 0))
	if err != nil || !strings.Contains(string(out), "get_TimeStamp") {
		t.Fatalf("export: %v", err)
	}
}

// TestStore_purgeWindows: history goes after 3 days, the audit trail
// after 90.
func TestStore_purgeWindows(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openStore(t, newMemDB(t), c)
	if err := s.SavePolicy(ctx, compileDoc(t, policyXML("", "")).Rulesets[0]); err != nil {
		t.Fatal(err)
	}
	for _, op := range []func() error{
		func() error { return s.PublishPolicy(ctx, "T", v(1, 0)) },
		func() error { return s.Deploy(ctx, "T", v(1, 0)) },
		func() error { return s.Undeploy(ctx, "T", v(1, 0)) },
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (int, int) {
		h, err1 := s.History()
		a, err2 := s.Audit()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		return len(h), len(a)
	}
	for _, st := range []struct {
		after       time.Duration
		hist, audit int
		purged      int
	}{
		{0, 2, 4, 0},
		{71 * time.Hour, 2, 4, 0},
		{2 * time.Hour, 0, 4, 2},       // 73 h: past 3 days
		{86 * 24 * time.Hour, 0, 4, 0}, // 89 days and 1 h
		{24 * time.Hour, 0, 0, 4},
	} {
		c.advance(st.after)
		n, err := s.Purge(ctx)
		if err != nil || n != st.purged {
			t.Fatalf("at %v: purged %d (%v), want %d", c.t, n, err, st.purged)
		}
		if h, a := count(); h != st.hist || a != st.audit {
			t.Fatalf("at %v: %d history, %d audit; want %d, %d", c.t, h, a, st.hist, st.audit)
		}
	}
}

// TestRuntime_picksUpDeployments: a running Runtime executes the highest
// deployed version; deploying 1.1 switches the next execution to it and
// undeploying it switches back.
func TestRuntime_picksUpDeployments(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newMemDB(t), &clock{time.Now()})
	doc := compileDoc(t, string(testfiles.Read(t, "wmmihaa-lab12-orderapproval-policies.xml")))
	if err := s.Import(ctx, doc); err != nil {
		t.Fatal(err)
	}
	const name = "OrderApprovalPolicy"
	for _, mn := range []int{0, 1} {
		if err := s.PublishPolicy(ctx, name, v(1, mn)); err != nil {
			t.Fatal(err)
		}
	}
	reg := rules.NewRegistry()
	_ = reg.RegisterTable("SalesDetails", "CustomerSalesStatistics", rules.StaticTable{
		rules.NewRow("SalesDetails", "CustomerSalesStatistics", map[string]any{"CustomerName": "Contoso", "TotalOrdersToDate": 2500.0})})
	rt := rules.NewRuntime(s, &rules.RuntimeOptions{Registry: reg})
	if _, _, err := rt.Execute(ctx, name); !errors.Is(err, rules.ErrNotFound) {
		t.Fatalf("nothing deployed: %v", err)
	}
	// An order of 150 from Contoso: 1.0 refuses it, 1.1 approves it on the
	// customer's statistics.
	run := func() (bool, rules.Version) {
		d := xmlDoc(t, "Lab12.Order", `<ns0:Order xmlns:ns0="http://Lab12.Order"><CustomerName>Contoso</CustomerName><TotalSum>150</TotalSum><Approved>x</Approved></ns0:Order>`)
		_, ver, err := rt.Execute(ctx, name, d)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Approved bool }
		if err := xml.Unmarshal([]byte(d.String()), &out); err != nil {
			t.Fatal(err)
		}
		return out.Approved, ver
	}
	for i, st := range []struct {
		op      func() error
		want    bool
		version rules.Version
	}{
		{func() error { return s.Deploy(ctx, name, v(1, 0)) }, false, v(1, 0)},
		{func() error { return s.Deploy(ctx, name, v(1, 1)) }, true, v(1, 1)},
		{func() error { return s.Undeploy(ctx, name, v(1, 1)) }, false, v(1, 0)},
	} {
		if err := st.op(); err != nil {
			t.Fatal(err)
		}
		got, ver := run()
		if got != st.want || ver != st.version {
			t.Fatalf("step %d: approved %v by %v, want %v by %v", i, got, ver, st.want, st.version)
		}
	}
	// 1.1 was undeployed: the runtime dropped it from its cache.
	if n := rt.Cached(); n != 1 {
		t.Fatalf("%d cached, want 1", n)
	}
}

// TestRuntime_cache: at most CacheEntries translated policies are kept, and
// an idle one expires after CacheTimeout.
func TestRuntime_cache(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Now()}
	s := openStore(t, newMemDB(t), c)
	for i := range 3 {
		rs := compileDoc(t, strings.Replace(policyXML("", ""), `name="T"`, fmt.Sprintf(`name="P%d"`, i), 1)).Rulesets[0]
		name := fmt.Sprintf("P%d", i)
		if err := s.SavePolicy(ctx, rs); err != nil {
			t.Fatal(err)
		}
		if err := s.PublishPolicy(ctx, name, v(1, 0)); err != nil {
			t.Fatal(err)
		}
		if err := s.Deploy(ctx, name, v(1, 0)); err != nil {
			t.Fatal(err)
		}
	}
	rt := rules.NewRuntime(s, &rules.RuntimeOptions{Registry: testRegistry(t), CacheEntries: 2, CacheTimeout: time.Minute, Now: c.now})
	p0, err := rt.Policy("P0")
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := rt.Policy("P0"); again != p0 {
		t.Fatal("second lookup translated again")
	}
	_, _ = rt.Policy("P1")
	_, _ = rt.Policy("P2") // evicts P0, the least recently used
	if n := rt.Cached(); n != 2 {
		t.Fatalf("%d cached", n)
	}
	if again, _ := rt.Policy("P0"); again == p0 {
		t.Fatal("P0 was not evicted")
	}
	p2, _ := rt.Policy("P2")
	c.advance(2 * time.Minute)
	if again, _ := rt.Policy("P2"); again == p2 {
		t.Fatal("idle entry did not expire")
	}
}

// TestStore_delete: versions that are not deployed can be deleted; a
// deployed one, or the last published vocabulary a published policy uses,
// cannot.
func TestStore_delete(t *testing.T) {
	ctx := context.Background()
	db := newMemDB(t)
	s := openStore(t, db, &clock{time.Now()})
	vocab := compileDoc(t, string(testfiles.Read(t, "brepf-httpheader-vocab-1.0.xml"))).Vocabularies[0]
	pol := compileDoc(t, policyXML("", ruleXML("r", 0,
		cmpXML("equal", `<function><vocabularylink uri="`+vocab.ID+`" element="x" /><classmember classref="a" member="get_N" sideeffects="false" /></function>`, intC(1)), ""))).Rulesets[0]
	if err := s.SaveVocabulary(ctx, vocab); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishVocabulary(ctx, vocab.Name, v(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishPolicy(ctx, "T", v(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Deploy(ctx, "T", v(1, 0)); err != nil {
		t.Fatal(err)
	}
	wantState(t, s.DeletePolicy(ctx, "T", v(1, 0)), rules.ErrState)
	wantState(t, s.DeleteVocabulary(ctx, vocab.Name, v(1, 0)), rules.ErrState)
	wantState(t, s.DeletePolicy(ctx, "T", v(2, 0)), rules.ErrNotFound)
	if err := s.Undeploy(ctx, "T", v(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx, "T", v(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVocabulary(ctx, vocab.Name, v(1, 0)); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, db, &clock{time.Now()})
	ps, _ := s2.Policies()
	vs, _ := s2.Vocabularies()
	if len(ps) != 0 || len(vs) != 0 {
		t.Fatalf("after delete and reopen: %d policies, %d vocabularies", len(ps), len(vs))
	}
	audit, err := s2.Audit()
	if err != nil || len(audit) != 8 || audit[7].Op != "delete" || audit[7].Kind != "vocabulary" {
		t.Fatalf("audit %+v %v", audit, err)
	}
}
