package sso_test

import (
	"errors"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/internal/clusterhooks"
	"github.com/biztier/biztier/sso"
)

// TestCheckSSOSecret_passive is the check a passive node makes before it
// is promoted (see CheckSecret), on a group opened as cluster opens a
// passive's (OpenReplica, then Replay) holding
// the active's frames, regenerate included. A node without the secret, or
// with another system's, is refused with an error that says so; a node
// with the secret from before the regenerate passes, since the log
// carries the new one sealed under it.
func TestCheckSSOSecret_passive(t *testing.T) {
	e := newEnv(t, nil)
	seedERP(t, e.s)
	// The passive's master secret server got the secret before the
	// regenerate (installed with the pair).
	if err := e.fs.MkdirAll("/passive-keys", 0o755); err != nil {
		t.Fatal(err)
	}
	writeAll(t, e.fs, "/passive-keys/k", readAll(t, e.fs, "/keys/group.sso-key"))
	if err := e.s.Regenerate(as(admin)); err != nil {
		t.Fatal(err)
	}
	sets := biztier.DirShipper(e.fs, "/ship")
	if _, err := e.g.Backup(t.Context(), sets, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := biztier.Restore(t.Context(), sets, "/passive/group", &biztier.RestoreOptions{FS: e.fs}); err != nil {
		t.Fatal(err)
	}
	other := newEnv(t, nil)
	writeAll(t, e.fs, "/passive-keys/other", readAll(t, other.fs, "/keys/group.sso-key"))

	opened, err := clusterhooks.OpenReplica("/passive/group", &biztier.Options{FS: e.fs, Durability: biztier.NoSync,
		MemTableSize: 4 << 20, CheckpointInterval: -1, DisableTracking: true})
	if err != nil {
		t.Fatal(err)
	}
	p := opened.(*biztier.Group)
	defer p.Close()
	if err := clusterhooks.Of(p).Replay(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		keys sso.KeyProvider
		want error
	}{
		{"no secret", keyFile(e.fs, "/passive-keys/none"), sso.ErrNoSecret},
		{"another system's secret", keyFile(e.fs, "/passive-keys/other"), sso.ErrWrongSecret},
		{"unreadable key file", sso.NewKeyFile(e.fs, "/passive-keys/k", sso.StaticKEK(make([]byte, 32))), sso.ErrKeyFile},
		{"secret from before the regenerate", keyFile(e.fs, "/passive-keys/k"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := p.CheckSSOSecret(t.Context(), tc.keys); !errors.Is(err, tc.want) {
				t.Fatalf("check: %v, want %v", err, tc.want)
			}
		})
	}
}
