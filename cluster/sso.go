package cluster

import (
	"context"
	"fmt"
)

// checkSSO refuses a term this node could not serve as the SSO master
// secret server: its key provider must hold the secret the group's SSO
// database was sealed with (a group without an SSO database passes). The
// check reads only; a refused node campaigns again, so restoring the
// secret on it (sso.RestoreSecret, or copying the key file) makes it
// promotable.
func (n *Node) checkSSO(ctx context.Context) error {
	g := n.group()
	if g == nil {
		return nil
	}
	if err := g.CheckSSOSecret(ctx, n.opts.SSOKeys); err != nil {
		return fmt.Errorf("%w: it cannot be the SSO master secret server: %w", errNotPromotable, err)
	}
	return nil
}
