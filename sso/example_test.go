package sso_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// An individual affiliate application: Alice maps her own account and
// reads her credentials back; Bob, who has no mapping, is refused.
func Example() {
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	// The first call creates the SSO system and its master secret, kept in
	// a key file beside the group directory.
	s, err := g.SSO(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	admin := sso.WithIdentity(ctx, sso.Identity{User: `CORP\admin`, Groups: []string{"SSO Administrators"}})
	alice := sso.WithIdentity(ctx, sso.Identity{User: `CORP\alice`, Groups: []string{"ERP Users"}})
	bob := sso.WithIdentity(ctx, sso.Identity{User: `CORP\bob`, Groups: []string{"ERP Users"}})

	err = s.CreateApplication(admin, sso.Application{
		Name: "ERP", Type: sso.Individual, UserAccounts: []string{"ERP Users"},
		Fields: []sso.Field{{Name: "Password", Masked: true}},
	})
	if err != nil {
		log.Fatal(err)
	}
	err = s.SetMapping(alice, "ERP", sso.Mapping{WindowsAccount: `CORP\alice`, ExternalUser: "ALICE01"},
		[]sso.Secret{sso.NewSecret("s3cret")})
	if err != nil {
		log.Fatal(err)
	}
	creds, err := s.GetCredentials(alice, "ERP")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(creds.ExternalUser, creds.Fields[0].Reveal())
	fmt.Printf("printed: %v\n", creds.Fields[0])
	_, err = s.GetCredentials(bob, "ERP")
	fmt.Println(errors.Is(err, sso.ErrAccessDenied))
	// Output:
	// ALICE01 s3cret
	// printed: [redacted]
	// true
}

// A config store application holds a send port's credentials; the send
// handler (running as the host's service account) reads them at run time,
// and nothing else of the port needs to hold them.
func Example_configStore() {
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	s, err := g.SSO(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	admin := sso.WithIdentity(ctx, sso.Identity{User: `CORP\admin`, Groups: []string{"SSO Administrators"}})
	hostAccount := sso.WithIdentity(ctx, sso.Identity{User: `CORP\svc-bts`, Groups: []string{"BizTalk Application Users"}})

	err = s.CreateApplication(admin, sso.Application{Name: "SendPorts", Type: sso.ConfigStore,
		UserAccounts: []string{"BizTalk Application Users"}})
	if err != nil {
		log.Fatal(err)
	}
	err = s.SetConfigInfo(admin, "SendPorts", "SendToPartner", sso.ConfigInfo{
		"Url": sso.NewSecret("https://partner.example/orders"), "Username": sso.NewSecret("orders"),
		"Password": sso.NewSecret("p@ss"),
	})
	if err != nil {
		log.Fatal(err)
	}
	// The send handler, at run time.
	send := func(ctx context.Context, port string) error {
		cfg, err := s.GetConfigInfo(ctx, "SendPorts", port)
		if err != nil {
			return err
		}
		fmt.Printf("POST %s as %s (password of %d bytes)\n", cfg.Get("Url"), cfg.Get("Username"), cfg["Password"].Len())
		return nil
	}
	if err := send(hostAccount, "SendToPartner"); err != nil {
		log.Fatal(err)
	}
	// Output:
	// POST https://partner.example/orders as orders (password of 4 bytes)
}

// Back up the master secret with a password (ssoconfig -backupSecret) and
// restore it on another node (ssoconfig -restoreSecret), which can then
// open the SSO database and be promoted.
func ExampleStore_BackupSecret() {
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	s, err := g.SSO(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	admin := sso.WithIdentity(ctx, sso.Identity{User: `CORP\admin`, Groups: []string{"SSO Administrators"}})
	pw := sso.NewSecret("correct horse battery staple")
	backup, err := s.BackupSecret(admin, pw, &sso.BackupOptions{Reminder: "the staple one"})
	if err != nil {
		log.Fatal(err)
	}
	reminder, _ := sso.BackupReminder(backup)
	fmt.Println("reminder:", reminder)

	// Another node's master secret server: empty until restored.
	kek := []byte("a 32-byte key-encryption key!!!!")
	other := sso.NewKeyFile(vfs.NewMem(), "node2.sso-key", sso.StaticKEK(kek))
	fmt.Println("before:", errors.Is(g.CheckSSOSecret(ctx, other), sso.ErrNoSecret))
	if err := g.RestoreSSOSecret(admin, backup, pw, other); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after:", g.CheckSSOSecret(ctx, other))
	// Output:
	// reminder: the staple one
	// before: true
	// after: <nil>
}
