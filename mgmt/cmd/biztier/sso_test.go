package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
)

// TestSSOSecret: a group restored elsewhere has its SSO database but not the
// master secret (it is kept beside the group, never in it); the secret's
// backup, restored with the password, opens it again. A wrong password or no
// password is refused.
func TestSSOSecret(t *testing.T) {
	dir, _ := newGroup(t, 0)
	tmp := t.TempDir()
	secret := filepath.Join(tmp, "secret.bak")
	t.Setenv(passwordEnv, "correct horse")
	mustCmd(t, "-dir", dir, "sso", "backup-secret", "-o", secret, "-reminder", "a horse")
	mustCmd(t, "-dir", dir, "backup", "now", "-to", filepath.Join(tmp, "backup"))
	restored := filepath.Join(tmp, "restored")
	mustCmd(t, "restore", "mark", "-from", filepath.Join(tmp, "backup"), "-to", restored)

	open := func() error {
		g, err := biztier.Open(restored, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		_, err = g.SSO(sso.WithIdentity(context.Background(), biztier.ManagementIdentity), nil)
		return err
	}
	if err := open(); !errors.Is(err, sso.ErrNoSecret) {
		t.Fatalf("SSO of the restored group before the secret: %v, want ErrNoSecret", err)
	}
	for _, tc := range []struct {
		name, password string
		code           int
		want           string
	}{
		{"no password", "", 2, passwordEnv},
		{"wrong password", "battery staple", 1, "password"},
		{"right password", "correct horse", 0, "restored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(passwordEnv, tc.password)
			code, out, errs := cmd(t, "-dir", restored, "sso", "restore-secret", secret)
			if code != tc.code || !strings.Contains(out+errs, tc.want) {
				t.Fatalf("exit %d, want %d; output lacks %q?\n%s%s", code, tc.code, tc.want, out, errs)
			}
		})
	}
	if err := open(); err != nil {
		t.Fatalf("SSO after the secret's restore: %v", err)
	}
}
