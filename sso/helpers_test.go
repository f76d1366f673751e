package sso_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Identities used across the tests.
var (
	admin     = sso.Identity{User: `CORP\ssoadmin`, Groups: []string{"SSO Administrators"}}
	affiliate = sso.Identity{User: `CORP\affadmin`, Groups: []string{"SSO Affiliate Administrators"}}
	appAdmin  = sso.Identity{User: `CORP\appadmin`, Groups: []string{"ERP Admins"}}
	alice     = sso.Identity{User: `CORP\alice`, Groups: []string{"ERP Users", "Sales"}}
	bob       = sso.Identity{User: `CORP\bob`, Groups: []string{"ERP Users", "Buyers"}}
	host      = sso.Identity{User: `CORP\svc-biztalk`, Groups: []string{"BizTalk Application Users"}}
)

func as(id sso.Identity) context.Context { return sso.WithIdentity(context.Background(), id) }

// testKEK is the key-encryption key of the tests' key files.
var testKEK = []byte("0123456789abcdef0123456789abcdef")

// env is a group on a file system with its SSO key file.
type env struct {
	fs   vfs.FS
	dir  string
	keys *sso.KeyFile
	g    *biztier.Group
	s    *sso.Store
}

func keyFile(fs vfs.FS, path string) *sso.KeyFile {
	return sso.NewKeyFile(fs, path, sso.StaticKEK(testKEK))
}

// openGroup opens the group in dir on fs.
func openGroup(tb testing.TB, fs vfs.FS, dir string) *biztier.Group {
	tb.Helper()
	return openGroupDurability(tb, fs, dir, biztier.NoSync)
}

// openGroupDurability is openGroup with the given durability: crash tests
// need Sync, so that what was acknowledged survives.
func openGroupDurability(tb testing.TB, fs vfs.FS, dir string, d biztier.Durability) *biztier.Group {
	tb.Helper()
	g, err := biztier.Open(dir, &biztier.Options{FS: fs, Durability: d, MemTableSize: 4 << 20,
		CheckpointInterval: -1, DisableTracking: true})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// newEnv opens a fresh group on an in-memory file system and its SSO
// store, with opts (Keys is filled in).
func newEnv(tb testing.TB, opts *sso.Options) *env {
	tb.Helper()
	fs := vfs.NewMem()
	return openEnv(tb, fs, "/g/group", keyFile(fs, "/keys/group.sso-key"), opts)
}

func openEnv(tb testing.TB, fs vfs.FS, dir string, keys *sso.KeyFile, opts *sso.Options) *env {
	tb.Helper()
	e := &env{fs: fs, dir: dir, keys: keys, g: openGroup(tb, fs, dir)}
	var o sso.Options
	if opts != nil {
		o = *opts
	}
	o.Keys = keys
	s, err := e.g.SSO(context.Background(), &o)
	if err != nil {
		e.g.Close()
		tb.Fatal(err)
	}
	e.s = s
	tb.Cleanup(func() { e.close(tb) })
	return e
}

func (e *env) close(tb testing.TB) {
	if e.g != nil {
		if err := e.g.Close(); err != nil {
			tb.Error(err)
		}
		e.g, e.s = nil, nil
	}
}

// erp is an individual application whose users are "ERP Users".
func erpApp() sso.Application {
	return sso.Application{
		Name: "ERP", Type: sso.Individual, Description: "the ERP system",
		AdminAccounts: []string{"ERP Admins"}, UserAccounts: []string{"ERP Users"},
		Fields: []sso.Field{{Name: "Password", Masked: true}, {Name: "Domain"}},
	}
}

func mustCreate(tb testing.TB, s *sso.Store, app sso.Application) {
	tb.Helper()
	if err := s.CreateApplication(as(admin), app); err != nil {
		tb.Fatal(err)
	}
}

func secrets(vals ...string) []sso.Secret {
	out := make([]sso.Secret, len(vals))
	for i, v := range vals {
		out[i] = sso.NewSecret(v)
	}
	return out
}

func reveal(c sso.Credentials) []string {
	out := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		out[i] = f.Reveal()
	}
	return out
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
