package biztier

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/sso"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// secretBindings is a send port whose FILE transport writes to a share as
// a given user, with its password in clear, as a hand-edited binding file
// holds it.
const secretBindings = `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo Version="3.5.1.0">
  <SendPortCollection>
    <SendPort Name="ToShare" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>\\share\out\%MessageID%.xml</Address>
        <TransportType Name="FILE" />
        <TransportTypeData>&lt;CustomProps&gt;&lt;Username vt="8"&gt;CORP\writer&lt;/Username&gt;&lt;Password vt="8"&gt;s3cr&amp;amp;t!&lt;/Password&gt;&lt;FileName vt="8"&gt;%MessageID%.xml&lt;/FileName&gt;&lt;/CustomProps&gt;</TransportTypeData>
        <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler>
      </PrimaryTransport>
    </SendPort>
  </SendPortCollection>
</BindingInfo>`

// TestAdapterSecrets_KeptInSSONotManagement imports a binding file that
// holds an adapter password: Management keeps and exports the transport
// masked, the password is sealed in the SSO database in the same commit,
// and the adapter's account reads it back; a named importer without SSO
// rights imports nothing.
func TestAdapterSecrets_KeptInSSONotManagement(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, err := Open("/g", &Options{FS: fs, Durability: NoSync, Logger: store.PanicLogger{}, MemTableSize: 4 << 20, CheckpointInterval: -1})
	require.NoError(t, err)
	defer g.Close()
	mg, err := g.Management()
	require.NoError(t, err)

	// A caller without SSO rights: refused, so nothing of the file is
	// imported.
	clerk := sso.WithIdentity(ctx, sso.Identity{User: `CORP\clerk`})
	_, err = mg.Import(clerk, strings.NewReader(secretBindings), &mgmt.ImportOptions{Application: "Share"})
	require.ErrorIs(t, err, sso.ErrAccessDenied)
	_, err = mg.SendPort("ToShare")
	require.ErrorIs(t, err, mgmt.ErrNotFound)

	// No caller named: Management writes as BizTalk's service account.
	_, err = mg.Import(ctx, strings.NewReader(secretBindings), &mgmt.ImportOptions{Application: "Share"})
	require.NoError(t, err)
	admin := sso.WithIdentity(ctx, sso.Identity{User: `CORP\deployer`, Groups: []string{"SSO Administrators"}})
	p, err := mg.SendPort("ToShare")
	require.NoError(t, err)
	require.Contains(t, p.Primary.TransportData, `<Password vt="1" />`)
	require.Contains(t, p.Primary.TransportData, `CORP\writer`, "only passwords leave Management")
	require.NotContains(t, p.Primary.TransportData, "s3cr")
	var out bytes.Buffer
	require.NoError(t, mg.Export(ctx, &out, "Share"))
	require.NotContains(t, out.String(), "s3cr")
	require.Contains(t, out.String(), `&lt;Password vt="1" /&gt;`, "exported masked, as BizTalk does")

	info, err := g.AdapterSecrets(admin, mgmt.Ref{Kind: mgmt.KindSendPort, Name: "ToShare"}, "primary")
	require.NoError(t, err)
	require.Equal(t, "s3cr&t!", info.Get("Password"))

	// Re-importing the export changes nothing and keeps the secret.
	_, err = mg.Import(admin, bytes.NewReader(out.Bytes()), &mgmt.ImportOptions{Application: "Share"})
	require.NoError(t, err)
	info, err = g.AdapterSecrets(admin, mgmt.Ref{Kind: mgmt.KindSendPort, Name: "ToShare"}, "primary")
	require.NoError(t, err)
	require.Equal(t, "s3cr&t!", info.Get("Password"))
}
