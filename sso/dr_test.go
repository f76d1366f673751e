package sso_test

import (
	"errors"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
)

// TestDR_standbyAfterRegenerate: a DR standby fed by log shipping
// receives a regenerate as ciphertext. Activated, it cannot open SSO
// until the secret is restored; a secret backup taken before the
// regenerate is enough, because the shipped log carries the new secret
// sealed under the old one.
func TestDR_standbyAfterRegenerate(t *testing.T) {
	e := newEnv(t, nil)
	want := seedMany(t, e.s, 4)
	pw := sso.NewSecret("dr-password")
	oldBackup, err := e.s.BackupSecret(as(admin), pw, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	sets := biztier.DirShipper(e.fs, "/backups")
	dr := biztier.DirShipper(e.fs, "/dr-site/sets")
	if _, err := e.g.Backup(t.Context(), sets, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Ship(t.Context(), sets, dr); err != nil {
		t.Fatal(err)
	}
	sb, err := biztier.OpenStandby(t.Context(), dr, "/dr-site/group", &biztier.RestoreOptions{FS: e.fs})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	// The regenerate happens after the full backup and reaches the DR
	// site through a log backup.
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.BackupLog(t.Context(), sets, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Ship(t.Context(), sets, dr); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Activate(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := openGroup(t, e.fs, "/dr-site/group")
	defer g.Close()
	if _, err := g.SSO(t.Context(), nil); !errors.Is(err, sso.ErrNoSecret) {
		t.Fatalf("open before the secret is restored: %v", err)
	}
	if err := g.RestoreSSOSecret(as(admin), oldBackup, pw, nil); err != nil {
		t.Fatal(err)
	}
	s, err := g.SSO(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.Generation != 2 {
		t.Fatalf("DR status %+v", st)
	}
	checkAll(t, s, want)
}
