package sso_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
)

func TestStore_GetCredentials_individual(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.s, erpApp())
	// Alice sets her own mapping; the application admin sets Bob's.
	if err := e.s.SetMapping(as(alice), "ERP", sso.Mapping{WindowsAccount: alice.User, ExternalUser: "ALICE01"}, secrets("a-pass", "EU")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetMapping(as(appAdmin), "ERP", sso.Mapping{WindowsAccount: bob.User, ExternalUser: "BOB01"}, secrets("b-pass", "US")); err != nil {
		t.Fatal(err)
	}
	// Someone who is not a user of the application may not map himself.
	mallory := sso.Identity{User: `CORP\mallory`, Groups: []string{"Sales"}}
	if err := e.s.SetMapping(as(mallory), "ERP", sso.Mapping{WindowsAccount: mallory.User, ExternalUser: "M"}, secrets("m", "d")); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("non-user maps himself: %v", err)
	}
	// Alice may not set Bob's.
	if err := e.s.SetMapping(as(alice), "ERP", sso.Mapping{WindowsAccount: bob.User, ExternalUser: "X"}, secrets("x", "y")); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("alice sets bob's mapping: %v", err)
	}
	for _, tc := range []struct {
		name     string
		id       sso.Identity
		wantUser string
		want     []string
		err      error
	}{
		{"alice", alice, "ALICE01", []string{"a-pass", "EU"}, nil},
		{"bob", bob, "BOB01", []string{"b-pass", "US"}, nil},
		{"not a user", sso.Identity{User: `CORP\mallory`, Groups: []string{"Sales"}}, "", nil, sso.ErrAccessDenied},
		{"user without mapping", sso.Identity{User: `CORP\carol`, Groups: []string{"ERP Users"}}, "", nil, sso.ErrAccessDenied},
		{"admin has no mapping", admin, "", nil, sso.ErrAccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.s.GetCredentials(as(tc.id), "ERP")
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if len(c.Fields) != 0 {
					t.Fatal("a refused lookup returned credentials")
				}
				return
			}
			if c.ExternalUser != tc.wantUser || !slices.Equal(reveal(c), tc.want) {
				t.Fatalf("got %s %v", c.ExternalUser, reveal(c))
			}
		})
	}
	// No identity at all.
	if _, err := e.s.GetCredentials(t.Context(), "ERP"); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("no identity: %v", err)
	}
	var ae *sso.AccessError
	if _, err := e.s.GetCredentials(as(bob), "nope"); !errors.As(err, &ae) || ae.App != "nope" {
		t.Fatalf("unknown app: %v", err)
	}
}

func TestStore_GetCredentials_groupOrder(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.s, sso.Application{Name: "SAP", Type: sso.Group, AdminAccounts: []string{"ERP Admins"},
		UserAccounts: []string{"Buyers", "ERP Users"}, Fields: []sso.Field{{Name: "Password", Masked: true}}})
	for _, m := range []struct{ group, ext, pass string }{{"Buyers", "SAPBUY", "buy"}, {"ERP Users", "SAPERP", "erp"}} {
		if err := e.s.SetMapping(as(appAdmin), "SAP", sso.Mapping{WindowsAccount: m.group, ExternalUser: m.ext}, secrets(m.pass)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		id   sso.Identity
		want string
	}{
		{bob, "SAPBUY"},   // in both: Buyers comes first
		{alice, "SAPERP"}, // only in ERP Users
	} {
		c, err := e.s.GetCredentials(as(tc.id), "SAP")
		if err != nil || c.ExternalUser != tc.want {
			t.Fatalf("%s: got %s, %v; want %s", tc.id.User, c.ExternalUser, err, tc.want)
		}
	}
	// Group mappings are administered by administrators only.
	if err := e.s.SetMapping(as(alice), "SAP", sso.Mapping{WindowsAccount: "ERP Users", ExternalUser: "X"}, secrets("x")); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("user sets group mapping: %v", err)
	}
	// Disabled applications serve nothing.
	a, err := e.s.Application(as(admin), "SAP")
	if err != nil {
		t.Fatal(err)
	}
	a.Disabled = true
	if err := e.s.UpdateApplication(as(appAdmin), a); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetCredentials(as(bob), "SAP"); !errors.Is(err, sso.ErrDisabled) {
		t.Fatalf("disabled: %v", err)
	}
}

func TestStore_GetHostCredentials(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.s, sso.Application{Name: "Mainframe", Type: sso.HostGroup,
		UserAccounts: []string{"BizTalk Application Users"}, Fields: []sso.Field{{Name: "Password", Masked: true}}})
	for _, ext := range []string{"CICSUSR1", "CICSUSR2"} {
		if err := e.s.SetMapping(as(affiliate), "Mainframe", sso.Mapping{WindowsAccount: `CORP\svc-mf`, ExternalUser: ext}, secrets("win-pass")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := e.s.GetHostCredentials(as(host), "Mainframe", "CICSUSR2")
	if err != nil || c.WindowsAccount != `CORP\svc-mf` || reveal(c)[0] != "win-pass" {
		t.Fatalf("got %v %v", c, err)
	}
	if _, err := e.s.GetCredentials(as(host), "Mainframe"); !errors.Is(err, sso.ErrWrongDirection) {
		t.Fatalf("windows-initiated lookup in a host group app: %v", err)
	}
	if _, err := e.s.GetHostCredentials(as(alice), "Mainframe", "CICSUSR2"); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("non-user: %v", err)
	}
	ms, err := e.s.Mappings(as(affiliate), "Mainframe")
	if err != nil || len(ms) != 2 {
		t.Fatalf("mappings %v %v", ms, err)
	}
}

func TestApplication_rules(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.s, erpApp())
	if err := e.s.CreateApplication(as(affiliate), erpApp()); !errors.Is(err, sso.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := e.s.CreateApplication(as(appAdmin), sso.Application{Name: "X", Type: sso.Individual}); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("app admin creates: %v", err)
	}
	for _, tc := range []struct {
		name string
		app  sso.Application
	}{
		{"empty name", sso.Application{Type: sso.Individual}},
		{"unknown type", sso.Application{Name: "A", Type: 0x40}},
		{"group both directions", sso.Application{Name: "A", Type: sso.Group, WindowsInitiated: true, HostInitiated: true}},
		{"host group windows-initiated", sso.Application{Name: "A", Type: sso.HostGroup, WindowsInitiated: true}},
		{"repeated field", sso.Application{Name: "A", Type: sso.Individual, Fields: []sso.Field{{Name: "P"}, {Name: "p"}}}},
	} {
		t.Run("create/"+tc.name, func(t *testing.T) {
			if err := e.s.CreateApplication(as(admin), tc.app); !errors.Is(err, sso.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		change func(*sso.Application)
		err    error
	}{
		{"type", func(a *sso.Application) { a.Type = sso.Group }, sso.ErrImmutable},
		{"fields", func(a *sso.Application) { a.Fields = a.Fields[:1] }, sso.ErrImmutable},
		{"field masking", func(a *sso.Application) { a.Fields[1].Masked = true }, sso.ErrImmutable},
		{"admin same", func(a *sso.Application) { a.Flags |= sso.FlagAdminAccountSame }, sso.ErrImmutable},
		{"name", func(a *sso.Application) { a.Name = "ERP2" }, sso.ErrNotFound},
		{"description", func(a *sso.Application) { a.Description = "new" }, nil},
		{"tickets", func(a *sso.Application) { a.Flags |= sso.FlagAllowTickets }, nil},
	} {
		t.Run("update/"+tc.name, func(t *testing.T) {
			a := erpApp()
			tc.change(&a)
			if err := e.s.UpdateApplication(as(affiliate), a); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	got, err := e.s.Application(as(alice), "ERP")
	if err != nil || got.Description != erpApp().Description || got.Flags&sso.FlagAllowTickets == 0 {
		t.Fatalf("got %+v, %v", got, err)
	}
	// Deleting removes the mappings too.
	if err := e.s.SetMapping(as(alice), "ERP", sso.Mapping{WindowsAccount: alice.User, ExternalUser: "A"}, secrets("p", "d")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteApplication(as(affiliate), "ERP"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e.s, erpApp())
	if _, err := e.s.GetCredentials(as(alice), "ERP"); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("mapping survived delete: %v", err)
	}
}

func TestStore_ConfigInfo(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.s, sso.Application{Name: "HTTP.SendPort.Config", Type: sso.ConfigStore,
		AdminAccounts: []string{"ERP Admins"}, UserAccounts: []string{"BizTalk Application Users"}})
	mustCreate(t, e.s, erpApp())
	info := sso.ConfigInfo{"Username": sso.NewSecret("httpuser"), "Password": sso.NewSecret("s3cr3t!")}
	if err := e.s.SetConfigInfo(as(appAdmin), "HTTP.SendPort.Config", "SendToPartner", info); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.GetConfigInfo(as(host), "HTTP.SendPort.Config", "SendToPartner")
	if err != nil || got.Get("Password") != "s3cr3t!" || got.Get("Username") != "httpuser" || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		err  error
		call func() error
	}{
		{"user cannot write", sso.ErrAccessDenied, func() error {
			return e.s.SetConfigInfo(as(host), "HTTP.SendPort.Config", "x", info)
		}},
		{"outsider cannot read", sso.ErrAccessDenied, func() error {
			_, err := e.s.GetConfigInfo(as(alice), "HTTP.SendPort.Config", "SendToPartner")
			return err
		}},
		{"not a config store", sso.ErrInvalid, func() error { return e.s.SetConfigInfo(as(admin), "ERP", "x", info) }},
		{"missing identifier", sso.ErrNotFound, func() error {
			_, err := e.s.GetConfigInfo(as(host), "HTTP.SendPort.Config", "nope")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	if err := e.s.DeleteConfigInfo(as(appAdmin), "HTTP.SendPort.Config", "SendToPartner"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetConfigInfo(as(host), "HTTP.SendPort.Config", "SendToPartner"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestStore_closed(t *testing.T) {
	e := newEnv(t, nil)
	seedERP(t, e.s)
	s, g := e.s, e.g
	e.close(t)
	if _, err := s.GetCredentials(as(alice), "ERP"); !errors.Is(err, sso.ErrClosed) || !errors.Is(err, biztier.ErrClosed) {
		t.Fatalf("lookup after close: %v", err)
	}
	var nilCtx context.Context // what a careless caller passes
	if err := s.SetConfigInfo(nilCtx, "x", "y", nil); !errors.Is(err, sso.ErrClosed) {
		t.Fatalf("nil context after close: %v", err)
	}
	if _, err := g.SSO(t.Context(), nil); !errors.Is(err, biztier.ErrClosed) {
		t.Fatalf("Group.SSO after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStore_nilContext(t *testing.T) {
	e := newEnv(t, nil)
	//lint:ignore SA1012 a nil context must not panic
	if _, err := e.s.GetCredentials(nil, "ERP"); !errors.Is(err, sso.ErrAccessDenied) { //nolint:staticcheck
		t.Fatalf("nil context: %v", err)
	}
}

// TestStore_GetHostCredentials_individual: an individual application may
// serve both directions.
func TestStore_GetHostCredentials_individual(t *testing.T) {
	e := newEnv(t, nil)
	app := erpApp()
	app.WindowsInitiated, app.HostInitiated = true, true
	app.UserAccounts = append(app.UserAccounts, "BizTalk Application Users")
	mustCreate(t, e.s, app)
	for _, m := range []struct{ win, ext, pw string }{{alice.User, "ALICE01", "a"}, {bob.User, "BOB01", "b"}} {
		if err := e.s.SetMapping(as(appAdmin), "ERP", sso.Mapping{WindowsAccount: m.win, ExternalUser: m.ext}, secrets(m.pw, "d")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := e.s.GetHostCredentials(as(host), "ERP", "bob01")
	if err != nil || c.WindowsAccount != bob.User || reveal(c)[0] != "b" {
		t.Fatalf("host-initiated: %v %v", c, err)
	}
	if _, err := e.s.GetHostCredentials(as(host), "ERP", "NOBODY"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("unknown external user: %v", err)
	}
	if c, err := e.s.GetCredentials(as(alice), "ERP"); err != nil || c.ExternalUser != "ALICE01" {
		t.Fatalf("windows-initiated: %v", err)
	}
}
