package biztier

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/sso"
)

// AdapterSecretsApp is the SSO config store application that holds the
// passwords Management takes out of adapters' transport data (see
// mgmt.Secrets). Each entry is named after its transport:
// "SendPort:<port>/primary", "SendPort:<port>/backup" or
// "ReceivePort:<port>/<location>". An import whose context names a caller
// (sso.WithIdentity) writes as that caller, who must be an SSO
// administrator the first time (the application is created then) and an
// administrator of the application afterwards; one that names none writes
// as ManagementIdentity. The host accounts that run the adapters are the
// application's users.
const AdapterSecretsApp = "BizTalk Adapter Settings"

// ManagementIdentity is the caller Management acts as in the SSO database
// when the context of an import or put names none: BizTalk's own service
// account, which its setup makes a member of the SSO Administrators group
// (the default name of Settings.AdminGroup).
var ManagementIdentity = sso.Identity{User: "BizTalk Management", Groups: []string{"SSO Administrators"}}

// adapterSecrets is the mgmt.Secrets the Group gives Management: the SSO
// database, with the default key provider.
type adapterSecrets struct{ g *Group }

var _ mgmt.Secrets = adapterSecrets{}

// Keep implements mgmt.Secrets: the values are sealed into the SSO
// database in the configuration's own transaction.
func (a adapterSecrets) Keep(ctx context.Context, tx mgmt.GroupTx, owner mgmt.Ref, transport string, values map[string]string) error {
	if _, ok := sso.IdentityFrom(ctx); !ok {
		ctx = sso.WithIdentity(ctx, ManagementIdentity)
	}
	s, err := a.g.SSO(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := s.Application(ctx, AdapterSecretsApp); errors.Is(err, sso.ErrNotFound) {
		err = s.CreateApplication(ctx, sso.Application{Name: AdapterSecretsApp, Type: sso.ConfigStore,
			Description: "Adapter passwords taken out of binding files by Management"})
		if err != nil && !errors.Is(err, sso.ErrExists) {
			return fmt.Errorf("create %q: %w", AdapterSecretsApp, err)
		}
	} else if err != nil {
		return err
	}
	info := make(sso.ConfigInfo, len(values))
	for k, v := range values {
		info[k] = sso.NewSecret(v)
	}
	return s.SetConfigInfoTx(ctx, tx, AdapterSecretsApp, transportSecretID(owner, transport), info)
}

func transportSecretID(owner mgmt.Ref, transport string) string {
	return owner.String() + "/" + transport
}

// AdapterSecrets returns the passwords Management took out of a
// transport's data when it was imported or put: what an adapter merges
// back into its configuration at run time. transport is "primary" or
// "backup" for a send port, the location's name for a receive port. The
// caller (in ctx, sso.WithIdentity) must be a user of AdapterSecretsApp;
// sso.ErrNotFound means the transport has none.
func (g *Group) AdapterSecrets(ctx context.Context, owner mgmt.Ref, transport string) (sso.ConfigInfo, error) {
	s, err := g.SSO(ctx, nil)
	if err != nil {
		return nil, err
	}
	return s.GetConfigInfo(ctx, AdapterSecretsApp, transportSecretID(owner, transport))
}
