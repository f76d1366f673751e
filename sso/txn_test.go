package sso_test

import (
	"errors"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
)

// TestStore_SetConfigInfoTx: a config entry and the configuration change
// it belongs to commit in one group transaction, or neither does.
func TestStore_SetConfigInfoTx(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.s, sso.Application{Name: "SendPorts", Type: sso.ConfigStore, UserAccounts: []string{"BizTalk Application Users"}})
	info := sso.ConfigInfo{"Password": sso.NewSecret("p@ss")}
	port := []byte("sendport/SendToPartner")

	// The application's configuration change fails after the secret was
	// added: neither is written.
	boom := errors.New("port definition rejected")
	_, err := e.g.Update(as(admin), func(tx *biztier.Tx) error {
		if err := e.s.SetConfigInfoTx(as(admin), tx, "SendPorts", "SendToPartner", info); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := e.s.GetConfigInfo(as(host), "SendPorts", "SendToPartner"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("secret of an aborted transaction: %v", err)
	}
	// Both in one commit.
	_, err = e.g.Update(as(admin), func(tx *biztier.Tx) error {
		if err := tx.Set(biztier.Management, port, []byte("https://partner.example")); err != nil {
			return err
		}
		return e.s.SetConfigInfoTx(as(admin), tx, "SendPorts", "SendToPartner", info)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.g.Get(biztier.Management, port); !ok || err != nil {
		t.Fatalf("port: %v %v", ok, err)
	}
	got, err := e.s.GetConfigInfo(as(host), "SendPorts", "SendToPartner")
	if err != nil || got.Get("Password") != "p@ss" {
		t.Fatalf("config: %v", err)
	}
	// Refused callers never reach the transaction.
	_, err = e.g.Update(as(host), func(tx *biztier.Tx) error {
		return e.s.SetConfigInfoTx(as(host), tx, "SendPorts", "SendToPartner", info)
	})
	if !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("user writes config in a transaction: %v", err)
	}
}
