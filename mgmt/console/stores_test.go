package console_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/mgmt/console"
	"github.com/biztier/biztier/rules/brl"
	"github.com/biztier/biztier/sso"
)

// shared returns a file of the shared test data, skipping the test when it
// is absent.
func shared(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "..", "shared", "testdata"}, parts...)...))
	if err != nil {
		t.Skipf("shared test data: %v", err)
	}
	return b
}

// TestHandler_stores: the BAM, rules and SSO pages over real content: a
// deployed BAM definition with an instance, an imported BRL policy, and an
// SSO config store application whose secret never reaches the page.
func TestHandler_stores(t *testing.T) {
	ctx := context.Background()
	def := shared(t, "bam", "icraft-activitymodel.xml")
	policy := shared(t, "rules", "btdf-testpolicy-1.0.xml")
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	b, err := g.BAM(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := bam.ParseDefinitionBytes(def)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Deploy(ctx, d, "tester"); err != nil {
		t.Fatal(err)
	}
	es := b.DirectStream(1)
	if err := es.BeginActivity(ctx, "Process", "P-1"); err != nil {
		t.Fatal(err)
	}
	if err := es.UpdateActivity(ctx, "Process", "P-1", "ProcessName", "Billing"); err != nil {
		t.Fatal(err)
	}

	rs, err := g.Rules(nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := brl.Parse(policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Import(ctx, parsed.Document); err != nil {
		t.Fatal(err)
	}

	admin := sso.WithIdentity(ctx, biztier.ManagementIdentity)
	s, err := g.SSO(admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateApplication(admin, sso.Application{
		Name: "ERP", Type: sso.ConfigStore, Description: "the ERP's connection",
		AdminAccounts: []string{"SSO Administrators"}, UserAccounts: []string{"BizTalk Application Users"},
		Fields: []sso.Field{{Name: "Password", Masked: true}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConfigInfo(admin, "ERP", "ConfigProperties", sso.ConfigInfo{"Password": sso.NewSecret("hunter2-do-not-show")}); err != nil {
		t.Fatal(err)
	}

	h, err := console.New(console.Options{Group: g, BAM: b, SSO: s, SSOIdentity: biztier.ManagementIdentity})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/api/bam", []string{`"name": "Process"`, `"id": "P-1"`, `"ProcessName": "Billing"`}},
		{"/bam", []string{"Activity Process", "P-1", "Billing"}},
		{"/api/rules", []string{`"name": "Company.FindCustomer"`, `"version": "1.2"`}},
		{"/rules", []string{"Company.FindCustomer2"}},
		{"/api/sso", []string{`"name": "ERP"`, `"Password"`}},
		{"/sso", []string{"ERP", "BizTalk Application Users"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
			body := w.Body.String()
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, body)
			}
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
			if strings.Contains(body, "hunter2") {
				t.Fatalf("a secret reached the page:\n%s", body)
			}
		})
	}
}
