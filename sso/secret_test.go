package sso_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// seedERP creates the ERP application with Alice's mapping.
func seedERP(tb testing.TB, s *sso.Store) {
	tb.Helper()
	mustCreate(tb, s, erpApp())
	if err := s.SetMapping(as(alice), "ERP", sso.Mapping{WindowsAccount: alice.User, ExternalUser: "ALICE01"}, secrets("a-pass", "EU")); err != nil {
		tb.Fatal(err)
	}
}

func readAll(tb testing.TB, fs vfs.FS, path string) []byte {
	tb.Helper()
	f, err := fs.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func writeAll(tb testing.TB, fs vfs.FS, path string, b []byte) {
	tb.Helper()
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestOpen_failsClosed damages the master secret in every way the issue
// names and checks that the store refuses to open with a typed error.
func TestOpen_failsClosed(t *testing.T) {
	const keyPath = "/keys/group.sso-key"
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, fs vfs.FS) sso.KeyProvider
		want   error
	}{
		{"missing key file", func(t *testing.T, fs vfs.FS) sso.KeyProvider {
			if err := fs.Remove(keyPath); err != nil {
				t.Fatal(err)
			}
			return keyFile(fs, keyPath)
		}, sso.ErrNoSecret},
		{"truncated key file", func(t *testing.T, fs vfs.FS) sso.KeyProvider {
			b := readAll(t, fs, keyPath)
			writeAll(t, fs, keyPath, b[:len(b)/2])
			return keyFile(fs, keyPath)
		}, sso.ErrKeyFile},
		{"empty key file", func(t *testing.T, fs vfs.FS) sso.KeyProvider {
			writeAll(t, fs, keyPath, nil)
			return keyFile(fs, keyPath)
		}, sso.ErrKeyFile},
		{"tampered key file", func(t *testing.T, fs vfs.FS) sso.KeyProvider {
			b := readAll(t, fs, keyPath)
			b[len(b)-5] ^= 1
			writeAll(t, fs, keyPath, b)
			return keyFile(fs, keyPath)
		}, sso.ErrKeyFile},
		{"wrong KEK", func(t *testing.T, fs vfs.FS) sso.KeyProvider {
			return sso.NewKeyFile(fs, keyPath, sso.StaticKEK([]byte("another-kek-of-thirty-two-bytes!")))
		}, sso.ErrKeyFile},
		{"another system's secret", func(t *testing.T, fs vfs.FS) sso.KeyProvider {
			// Another group's key file: a valid secret, not this one.
			other := newEnv(t, nil)
			writeAll(t, fs, "/keys/other.sso-key", readAll(t, other.fs, "/keys/group.sso-key"))
			return keyFile(fs, "/keys/other.sso-key")
		}, sso.ErrWrongSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			seedERP(t, e.s)
			e.close(t)
			keys := tc.damage(t, e.fs)
			g := openGroup(t, e.fs, e.dir)
			defer g.Close()
			s, err := g.SSO(t.Context(), &sso.Options{Keys: keys})
			if !errors.Is(err, tc.want) || s != nil {
				t.Fatalf("open: %v, want %v", err, tc.want)
			}
			if err := g.CheckSSOSecret(t.Context(), keys); !errors.Is(err, tc.want) {
				t.Fatalf("check: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestStore_tamperedRecord checks that a record changed in the store, or
// copied under another key, is corruption and returns nothing.
func TestStore_tamperedRecord(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, s *sso.Store)
	}{
		{"flipped ciphertext bit", func(t *testing.T, s *sso.Store) {
			key := sso.MappingKey("ERP", alice.User)
			v, err := sso.RawGet(s, key)
			if err != nil {
				t.Fatal(err)
			}
			v[len(v)-20] ^= 0x10
			if err := sso.RawSet(s, key, v); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated record", func(t *testing.T, s *sso.Store) {
			key := sso.MappingKey("ERP", alice.User)
			v, _ := sso.RawGet(s, key)
			if err := sso.RawSet(s, key, v[:10]); err != nil {
				t.Fatal(err)
			}
		}},
		{"record copied under another key", func(t *testing.T, s *sso.Store) {
			// Bob's record moved under Alice's key: the ciphertext is
			// genuine, but it was sealed for Bob's key.
			v, err := sso.RawGet(s, sso.MappingKey("ERP", bob.User))
			if err != nil {
				t.Fatal(err)
			}
			if err := sso.RawSet(s, sso.MappingKey("ERP", alice.User), v); err != nil {
				t.Fatal(err)
			}
		}},
		{"generation relabelled", func(t *testing.T, s *sso.Store) {
			key := sso.MappingKey("ERP", alice.User)
			v, _ := sso.RawGet(s, key)
			v[8]++ // the generation's low byte
			if err := sso.RawSet(s, key, v); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			seedERP(t, e.s)
			if err := e.s.SetMapping(as(bob), "ERP", sso.Mapping{WindowsAccount: bob.User, ExternalUser: "BOB01"}, secrets("b-pass", "US")); err != nil {
				t.Fatal(err)
			}
			tc.tamper(t, e.s)
			c, err := e.s.GetCredentials(as(alice), "ERP")
			if !sso.IsCorruption(err) || !biztier.IsCorruption(err) {
				t.Fatalf("err = %v, want corruption", err)
			}
			if len(c.Fields) != 0 || c.ExternalUser != "" {
				t.Fatal("a record that does not authenticate returned credentials")
			}
			if strings.Contains(err.Error(), "b-pass") || strings.Contains(err.Error(), "a-pass") {
				t.Fatal("error holds a secret")
			}
		})
	}
}

// TestSecret_redacted checks that no fmt verb or encoder reveals a secret.
func TestSecret_redacted(t *testing.T) {
	const pw = "hunter2-very-secret"
	creds := sso.Credentials{ExternalUser: "X", WindowsAccount: "W", Fields: secrets(pw)}
	info := sso.ConfigInfo{"Password": sso.NewSecret(pw)}
	for _, v := range []any{sso.NewSecret(pw), creds, &creds, info, []sso.Secret{sso.NewSecret(pw)},
		struct{ P sso.Secret }{sso.NewSecret(pw)}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, pw) || strings.Contains(out, fmt.Sprintf("%x", pw)) {
				t.Errorf("%s of %T reveals the secret: %s", verb, v, out)
			}
		}
		b, err := json.Marshal(v)
		if err != nil || strings.Contains(string(b), pw) {
			t.Errorf("json of %T: %s %v", v, b, err)
		}
	}
	if sso.NewSecret(pw).Reveal() != pw {
		t.Fatal("Reveal")
	}
}

// failingDB makes every commit fail, as a full disk or a fenced node would.
type failingDB struct{ sso.Database }

type failingTxn struct{ sso.Txn }

func (d failingDB) Begin() sso.Txn { return failingTxn{d.Database.Begin()} }

func (failingTxn) Commit(context.Context) (uint64, error) { return 0, errors.New("disk full") }

// TestStore_auditFailsClosed checks that an access whose audit record
// cannot be written is refused and returns nothing.
func TestStore_auditFailsClosed(t *testing.T) {
	e := newEnv(t, nil)
	seedERP(t, e.s)
	sso.WrapDB(e.s, func(db sso.Database) sso.Database { return failingDB{db} })
	c, err := e.s.GetCredentials(as(alice), "ERP")
	if !errors.Is(err, sso.ErrAudit) || len(c.Fields) != 0 {
		t.Fatalf("lookup with a failing audit: %v, %d fields", err, len(c.Fields))
	}
	if _, err := e.s.GetCredentials(as(bob), "ERP"); !errors.Is(err, sso.ErrAccessDenied) || !errors.Is(err, sso.ErrAudit) {
		t.Fatalf("refusal with a failing audit: %v", err)
	}
}

// TestStore_auditTrail checks that grants and refusals are recorded, with
// no secret in them.
func TestStore_auditTrail(t *testing.T) {
	e := newEnv(t, nil)
	seedERP(t, e.s)
	if _, err := e.s.GetCredentials(as(alice), "ERP"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetCredentials(as(bob), "ERP"); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatal(err)
	}
	if _, err := e.s.Audit(as(alice), 0, 100); !errors.Is(err, sso.ErrAccessDenied) {
		t.Fatalf("non-admin reads the audit: %v", err)
	}
	recs, err := e.s.Audit(as(admin), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var granted, refused bool
	for _, r := range recs {
		if r.Op == "GetCredentials" && r.User == alice.User && r.Granted {
			granted = true
		}
		if r.Op == "GetCredentials" && r.User == bob.User && !r.Granted {
			refused = true
		}
		if s := fmt.Sprintf("%+v", r); strings.Contains(s, "a-pass") {
			t.Fatalf("audit record holds a secret: %s", s)
		}
	}
	if !granted || !refused {
		t.Fatalf("audit trail lacks the lookups: %+v", recs)
	}
}

// downKeys is a key provider that can be made unreachable.
type downKeys struct {
	sso.KeyProvider
	down bool
}

func (k *downKeys) Load(ctx context.Context) ([]byte, error) {
	if k.down {
		return nil, fmt.Errorf("%w: host unreachable", sso.ErrSecretServerUnavailable)
	}
	return k.KeyProvider.Load(ctx)
}

// TestStore_secretServerDown checks that lookups keep working from the
// cached secret while writes of new secrets fail with a clear error.
func TestStore_secretServerDown(t *testing.T) {
	fs := vfs.NewMem()
	clk := newClock()
	keys := &downKeys{KeyProvider: keyFile(fs, "/keys/k")}
	g := openGroup(t, fs, "/g")
	defer g.Close()
	s, err := g.SSO(t.Context(), &sso.Options{Keys: keys, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	seedERP(t, s)
	keys.down = true
	clk.Add(31 * time.Second) // past the poll interval
	c, err := s.GetCredentials(as(alice), "ERP")
	if err != nil || reveal(c)[0] != "a-pass" {
		t.Fatalf("lookup while the server is down: %v", err)
	}
	if s.Status().ServerErr == nil {
		t.Fatal("status does not report the server down")
	}
	err = s.SetMapping(as(bob), "ERP", sso.Mapping{WindowsAccount: bob.User, ExternalUser: "B"}, secrets("p", "d"))
	if !errors.Is(err, sso.ErrSecretServerUnavailable) {
		t.Fatalf("write while the server is down: %v", err)
	}
	if err := s.Regenerate(as(admin)); !errors.Is(err, sso.ErrSecretServerUnavailable) {
		t.Fatalf("regenerate while the server is down: %v", err)
	}
	keys.down = false
	clk.Add(31 * time.Second)
	if err := s.SetMapping(as(bob), "ERP", sso.Mapping{WindowsAccount: bob.User, ExternalUser: "B"}, secrets("p", "d")); err != nil {
		t.Fatal(err)
	}
	if s.Status().ServerErr != nil {
		t.Fatal("status still reports the server down")
	}
}

// TestKeyFile_mode checks the key file's and KEK file's mode on disk.
func TestKeyFile_mode(t *testing.T) {
	dir := t.TempDir()
	g := openGroup(t, vfs.Default, filepath.Join(dir, "group"))
	defer g.Close()
	if _, err := g.SSO(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"group.sso-key", "group.sso-kek"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v", name, fi.Mode().Perm())
		}
	}
	// Beside the group directory, not inside it.
	if _, err := os.Stat(filepath.Join(dir, "group", "group.sso-key")); !os.IsNotExist(err) {
		t.Fatal("key file inside the group directory")
	}
}

var _ = pebble.ErrNotFound
