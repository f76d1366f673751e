package cluster

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// copyFile copies name from one filesystem to another, synced.
func copyFile(t *testing.T, from, to vfs.FS, name string) {
	t.Helper()
	src, err := from.Open(name)
	require.NoError(t, err)
	data, err := io.ReadAll(src)
	require.NoError(t, err)
	require.NoError(t, src.Close())
	dst, err := to.Create(name, vfs.WriteCategoryUnspecified)
	require.NoError(t, err)
	_, err = dst.Write(data)
	require.NoError(t, err)
	require.NoError(t, dst.Sync())
	require.NoError(t, dst.Close())
}

// TestNode_PassiveWithoutSSOSecretNotPromoted: the active is the SSO
// master secret server. A passive whose key provider lacks the group's
// secret wins the election when the active dies but refuses to be
// promoted, saying why; once the secret is restored on it (here, the key
// files copied from the old active's disk) it promotes and opens the SSO
// database.
func TestNode_PassiveWithoutSSOSecretNotPromoted(t *testing.T) {
	ctx := context.Background()
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	s, err := a.Group().SSO(ctx, nil)
	require.NoError(t, err)
	admin := sso.WithIdentity(ctx, sso.Identity{User: "ops", Groups: []string{"SSO Administrators"}})
	require.NoError(t, s.CreateApplication(admin, sso.Application{Name: "Partners", Type: sso.ConfigStore}))
	require.NoError(t, s.SetConfigInfo(admin, "Partners", "acme", sso.ConfigInfo{"Password": sso.NewSecret("pw")}))
	_, err = write(ctx, a.Node, "k", 1) // the SSO writes reach b through the log
	require.NoError(t, err)
	waitInSync(t, a)

	afs := a.crash(w)
	waitFor(t, 10*time.Second, "b to win and refuse", func() bool { return b.Status().Alarm != nil })
	require.ErrorIs(t, b.Status().Alarm, errNotPromotable)
	require.ErrorIs(t, b.Status().Alarm, sso.ErrNoSecret)
	require.NotEqual(t, Active, b.Role())

	// Restore the secret on b: it becomes promotable.
	for _, name := range []string{"node.sso-key", "node.sso-kek"} {
		copyFile(t, afs, b.fs, name)
	}
	waitActive(t, 10*time.Second, b)
	s, err = b.Group().SSO(ctx, nil)
	require.NoError(t, err)
	info, err := s.GetConfigInfo(admin, "Partners", "acme")
	require.NoError(t, err)
	require.Equal(t, "pw", info.Get("Password"))
}
