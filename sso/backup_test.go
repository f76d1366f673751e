package sso_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/crashtest"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// fastKDF keeps argon2id cheap in tests; the defaults are tested once.
var fastKDF = &sso.BackupOptions{Reminder: "the usual, with the year", Time: 1, MemoryKiB: 64, Threads: 1}

func TestStore_BackupSecret(t *testing.T) {
	e := newEnv(t, nil)
	seedERP(t, e.s)
	pw := sso.NewSecret("correct horse battery staple")
	if _, err := e.s.BackupSecret(as(affiliate), pw, fastKDF); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("affiliate admin backs up the secret: %v", err)
	}
	if _, err := e.s.BackupSecret(as(admin), sso.Secret{}, fastKDF); !errors.Is(err, sso.ErrInvalid) {
		t.Fatalf("empty password: %v", err)
	}
	b, err := e.s.BackupSecret(as(admin), pw, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := sso.BackupReminder(b); err != nil || r != fastKDF.Reminder {
		t.Fatalf("reminder %q %v", r, err)
	}
	other := newEnv(t, nil)
	otherBackup, err := other.s.BackupSecret(as(admin), pw, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	e.close(t)
	// The node lost its key file.
	if err := e.fs.Remove("/keys/group.sso-key"); err != nil {
		t.Fatal(err)
	}
	g := openGroup(t, e.fs, e.dir)
	defer g.Close()
	keys := keyFile(e.fs, "/keys/group.sso-key")
	if _, err := g.SSO(t.Context(), &sso.Options{Keys: keys}); !errors.Is(err, sso.ErrNoSecret) {
		t.Fatalf("open without the secret: %v", err)
	}
	tampered := bytes.Clone(b)
	tampered[len(tampered)-3] ^= 1
	for _, tc := range []struct {
		name   string
		ctx    func() any
		id     sso.Identity
		backup []byte
		pw     sso.Secret
		want   error
	}{
		{"not an SSO admin", nil, affiliate, b, pw, sso.ErrAccessDenied},
		{"wrong password", nil, admin, b, sso.NewSecret("Tr0ub4dor&3"), sso.ErrWrongPassword},
		{"tampered", nil, admin, tampered, pw, sso.ErrWrongPassword},
		{"truncated", nil, admin, b[:20], pw, sso.ErrCorruption},
		{"another system's secret", nil, admin, otherBackup, pw, sso.ErrWrongSecret},
		{"right", nil, admin, b, pw, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := g.RestoreSSOSecret(as(tc.id), tc.backup, tc.pw, keys); !errors.Is(err, tc.want) {
				t.Fatalf("restore: %v, want %v", err, tc.want)
			}
		})
	}
	s, err := g.SSO(t.Context(), &sso.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.GetCredentials(as(alice), "ERP")
	if err != nil || reveal(c)[0] != "a-pass" {
		t.Fatalf("after restore: %v", err)
	}
	// A backup taken before a regenerate still restores: it leads to the
	// current secret through the store's link.
	if err := s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	if err := g.CheckSSOSecret(t.Context(), keyFile(e.fs, "/keys/none")); !errors.Is(err, sso.ErrNoSecret) {
		t.Fatalf("check with no key file: %v", err)
	}
	if err := g.RestoreSSOSecret(as(admin), b, pw, keyFile(e.fs, "/keys/fresh")); err != nil {
		t.Fatalf("restore an old backup after a regenerate: %v", err)
	}
	if err := g.CheckSSOSecret(t.Context(), keyFile(e.fs, "/keys/fresh")); err != nil {
		t.Fatal(err)
	}
}

func TestStore_BackupSecret_defaultKDF(t *testing.T) {
	if testing.Short() || crashtest.RaceEnabled {
		t.Skip("argon2id with 64 MiB")
	}
	e := newEnv(t, nil)
	b, err := e.s.BackupSecret(as(admin), sso.NewSecret("pw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.RestoreSSOSecret(as(admin), b, sso.NewSecret("pw"), keyFile(e.fs, "/keys/k2")); err != nil {
		t.Fatal(err)
	}
}

// TestDR_restoredGroupNeedsSecret: a group restored from its backups (or
// a DR copy from shipped logs) holds SSO data it cannot read until the
// master secret is restored beside it.
func TestDR_restoredGroupNeedsSecret(t *testing.T) {
	e := newEnv(t, nil)
	seedERP(t, e.s)
	secretBackup, err := e.s.BackupSecret(as(admin), sso.NewSecret("pw"), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	sets := biztier.DirShipper(e.fs, "/backups")
	if _, err := e.g.Backup(t.Context(), sets, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := biztier.Restore(t.Context(), sets, "/dr/group", &biztier.RestoreOptions{FS: e.fs}); err != nil {
		t.Fatal(err)
	}
	dr := openGroup(t, e.fs, "/dr/group")
	defer dr.Close()
	// The DR site's default key file, beside the restored group, is empty.
	if err := dr.CheckSSOSecret(t.Context(), nil); !errors.Is(err, sso.ErrNoSecret) {
		t.Fatalf("check before restoring the secret: %v", err)
	}
	if _, err := dr.SSO(t.Context(), nil); !errors.Is(err, sso.ErrNoSecret) {
		t.Fatalf("open before restoring the secret: %v", err)
	}
	if err := dr.RestoreSSOSecret(as(admin), secretBackup, sso.NewSecret("pw"), nil); err != nil {
		t.Fatal(err)
	}
	s, err := dr.SSO(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.GetCredentials(as(alice), "ERP"); err != nil || reveal(c)[0] != "a-pass" {
		t.Fatalf("DR lookup: %v", err)
	}
}

// TestPlaintextScan writes credentials and config with recognisable
// values on a real disk, then backs up, ships, regenerates and closes, and
// reads every file under the group directory (stores, log segments),
// the backup sets, the shipped copies, the secret backup and the key
// files' directory: no credential or field value appears in any of them.
func TestPlaintextScan(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "group")
	g := openGroupDurability(t, vfs.Default, dir, biztier.Sync)
	s, err := g.SSO(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	values := []string{"Pl4intextPassw0rd-ALICE", "EXTERNAL-ACCOUNT-ALICE-77", "DOMAIN-VALUE-XYZZY",
		"HttpSendPortSecret-QWERTY", "ConfigUserName-PLUGH"}
	mustCreate(t, s, erpApp())
	if err := s.SetMapping(as(alice), "ERP", sso.Mapping{WindowsAccount: alice.User, ExternalUser: values[1]}, secrets(values[0], values[2])); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, sso.Application{Name: "HTTP.Config", Type: sso.ConfigStore})
	if err := s.SetConfigInfo(as(admin), "HTTP.Config", "SendPort1", sso.ConfigInfo{"Password": sso.NewSecret(values[3]), "User": sso.NewSecret(values[4])}); err != nil {
		t.Fatal(err)
	}
	pw := "backup-password-FROBOZZ"
	sb, err := s.BackupSecret(as(admin), sso.NewSecret(pw), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sso-secret.bak"), sb, 0o600); err != nil {
		t.Fatal(err)
	}
	sets := biztier.DirShipper(vfs.Default, filepath.Join(dir, "backup-sets"))
	if _, err := g.Backup(t.Context(), sets, nil); err != nil {
		t.Fatal(err)
	}
	// More log after the full backup, then a log backup and shipping.
	if err := s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCredentials(as(alice), "ERP"); err != nil {
		t.Fatal(err)
	}
	if _, err := g.BackupLog(t.Context(), sets, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Ship(t.Context(), sets, biztier.DirShipper(vfs.Default, filepath.Join(dir, "shipped"))); err != nil {
		t.Fatal(err)
	}
	// Pebble compresses its tables and the backup sets are compressed, so
	// a byte scan of them could miss a leak: scan the SSO database's
	// logical contents too.
	err = sso.RawScan(s, func(k, v []byte) {
		for _, val := range append(values, pw) {
			if bytes.Contains(k, []byte(val)) || bytes.Contains(v, []byte(val)) {
				t.Errorf("SSO database key %q holds %q in plaintext", k, val)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	var files, bytesRead int
	kinds := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		bytesRead += len(b)
		rel, _ := filepath.Rel(root, path)
		kinds[strings.SplitN(filepath.ToSlash(rel), "/", 3)[min(1, strings.Count(rel, string(filepath.Separator)))]] = true
		for _, v := range append(values, pw) {
			for _, enc := range [][]byte{[]byte(v), utf16le(v)} {
				if bytes.Contains(b, enc) {
					t.Errorf("%s holds %q in plaintext", rel, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"wal", "sso", "backup-sets", "shipped", "group.sso-key", "group.sso-kek", "sso-secret.bak"} {
		if !kinds[want] {
			t.Errorf("scan did not cover %s (saw %v)", want, kinds)
		}
	}
	t.Logf("scanned %d files, %d bytes", files, bytesRead)
}

func utf16le(s string) []byte {
	out := make([]byte, 0, 2*len(s))
	for _, r := range s {
		out = append(out, byte(r), byte(r>>8))
	}
	return out
}

// TestRestoreSecret_auditFailsClosed: a restore whose audit record cannot
// be committed (a full disk, or a passive whose log refuses commits)
// writes nothing to the key provider.
func TestRestoreSecret_auditFailsClosed(t *testing.T) {
	e := newEnv(t, nil)
	pw := sso.NewSecret("pw")
	b, err := e.s.BackupSecret(as(admin), pw, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	fresh := keyFile(e.fs, "/keys/fresh")
	err = sso.RestoreSecret(as(admin), failingDB{sso.DatabaseOf(e.s)}, fresh, b, pw)
	if !errors.Is(err, sso.ErrAudit) {
		t.Fatalf("restore with a failing audit: %v", err)
	}
	if _, err := fresh.Load(t.Context()); !errors.Is(err, sso.ErrNoSecret) {
		t.Fatalf("the key provider was written: %v", err)
	}
	if err := sso.RestoreSecret(as(admin), sso.DatabaseOf(e.s), fresh, b, pw); err != nil {
		t.Fatal(err)
	}
}
