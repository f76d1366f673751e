package sso_test

import (
	"errors"
	"testing"
	"time"

	"github.com/biztier/biztier/sso"
)

func TestStore_tickets(t *testing.T) {
	clk := newClock()
	e := newEnv(t, &sso.Options{Now: clk.Now})
	app := erpApp()
	app.UserAccounts = append(app.UserAccounts, "BizTalk Application Users")
	mustCreate(t, e.s, app)
	if err := e.s.SetMapping(as(alice), "ERP", sso.Mapping{WindowsAccount: alice.User, ExternalUser: "ALICE01"}, secrets("a-pass", "EU")); err != nil {
		t.Fatal(err)
	}
	// Off by default, for the system and the application.
	if _, err := e.s.IssueTicket(as(alice), "ERP"); !errors.Is(err, sso.ErrTicketsDisabled) {
		t.Fatalf("tickets off: %v", err)
	}
	set, err := e.s.Settings(as(admin))
	if err != nil {
		t.Fatal(err)
	}
	if set.TicketsEnabled || set.TicketTimeout != 2*time.Minute {
		t.Fatalf("default settings %+v", set)
	}
	set.TicketsEnabled = true
	if err := e.s.SetSettings(as(affiliate), set); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("affiliate admin changes settings: %v", err)
	}
	if err := e.s.SetSettings(as(admin), set); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.IssueTicket(as(alice), "ERP"); !errors.Is(err, sso.ErrTicketsDisabled) {
		t.Fatalf("app does not allow tickets: %v", err)
	}
	app.Flags |= sso.FlagAllowTickets
	if err := e.s.UpdateApplication(as(appAdmin), app); err != nil {
		t.Fatal(err)
	}
	issue := func() string {
		t.Helper()
		tk, err := e.s.IssueTicket(as(alice), "ERP")
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	tk := issue()
	for _, tc := range []struct {
		name   string
		redeem func(tk string) (sso.Credentials, error)
		want   error
	}{
		{"redeem-only by a user", func(tk string) (sso.Credentials, error) { return e.s.RedeemTicket(as(bob), "ERP", tk) }, sso.ErrAccessDenied},
		{"validate with another sender", func(tk string) (sso.Credentials, error) {
			return e.s.ValidateAndRedeemTicket(as(host), "ERP", tk, bob.User)
		}, sso.ErrTicketInvalid},
		{"garbage", func(string) (sso.Credentials, error) {
			return e.s.RedeemTicket(as(appAdmin), "ERP", "bm90IGEgdGlja2V0")
		}, sso.ErrTicketInvalid},
		{"tampered", func(tk string) (sso.Credentials, error) {
			b := []byte(tk)
			b[len(b)/2] ^= 1
			return e.s.RedeemTicket(as(appAdmin), "ERP", string(b))
		}, sso.ErrTicketInvalid},
		{"validate-and-redeem", func(tk string) (sso.Credentials, error) {
			return e.s.ValidateAndRedeemTicket(as(host), "ERP", tk, alice.User)
		}, nil},
		{"replayed", func(tk string) (sso.Credentials, error) {
			return e.s.ValidateAndRedeemTicket(as(host), "ERP", tk, alice.User)
		}, sso.ErrTicketReplayed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.redeem(tk)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && (c.ExternalUser != "ALICE01" || reveal(c)[0] != "a-pass") {
				t.Fatalf("redeemed %v", c)
			}
		})
	}
	// Redeem-only by an application administrator.
	if c, err := e.s.RedeemTicket(as(appAdmin), "ERP", issue()); err != nil || c.ExternalUser != "ALICE01" {
		t.Fatalf("redeem-only: %v", err)
	}
	// Expiry: 2 minutes by default, then the application's own.
	tk = issue()
	clk.Add(2*time.Minute + time.Second)
	if _, err := e.s.RedeemTicket(as(appAdmin), "ERP", tk); !errors.Is(err, sso.ErrTicketExpired) {
		t.Fatalf("expired: %v", err)
	}
	app.TicketTimeout = 10 * time.Minute
	if err := e.s.UpdateApplication(as(appAdmin), app); err != nil {
		t.Fatal(err)
	}
	tk = issue()
	clk.Add(9 * time.Minute)
	if _, err := e.s.RedeemTicket(as(appAdmin), "ERP", tk); err != nil {
		t.Fatalf("within the app's timeout: %v", err)
	}
	// System-level validation refuses redeem-only everywhere.
	set.ValidateTickets = true
	if err := e.s.SetSettings(as(admin), set); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.RedeemTicket(as(appAdmin), "ERP", issue()); !errors.Is(err, sso.ErrTicketInvalid) {
		t.Fatalf("redeem-only with validation forced: %v", err)
	}
}

func TestStore_Purge(t *testing.T) {
	clk := newClock()
	e := newEnv(t, &sso.Options{Now: clk.Now, Settings: sso.Settings{TicketsEnabled: true}})
	app := erpApp()
	app.Flags |= sso.FlagAllowTickets
	mustCreate(t, e.s, app)
	if err := e.s.SetMapping(as(alice), "ERP", sso.Mapping{WindowsAccount: alice.User, ExternalUser: "A"}, secrets("p", "d")); err != nil {
		t.Fatal(err)
	}
	tk, err := e.s.IssueTicket(as(alice), "ERP")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.RedeemTicket(as(appAdmin), "ERP", tk); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	cut := clk.Now()
	if _, err := e.s.GetCredentials(as(alice), "ERP"); err != nil { // audited after the cut
		t.Fatal(err)
	}
	if _, err := e.s.Purge(as(affiliate), cut); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("affiliate admin purges: %v", err)
	}
	res, err := e.s.Purge(as(admin), cut)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tickets != 1 || res.AuditRecords != 4 { // create, map, issue, redeem
		t.Fatalf("purged %+v", res)
	}
	recs, err := e.s.Audit(as(admin), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.At.Before(cut) {
			t.Fatalf("audit record before the cut survived: %+v", r)
		}
	}
	if len(recs) < 3 { // the lookup, the refused purge, the purge
		t.Fatalf("records after the cut: %+v", recs)
	}
	// The purged ticket stays refused: it has expired.
	if _, err := e.s.RedeemTicket(as(appAdmin), "ERP", tk); !errors.Is(err, sso.ErrTicketExpired) {
		t.Fatalf("purged ticket: %v", err)
	}
}
