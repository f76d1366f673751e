package mgmt

import (
	"context"
	"fmt"
	"html"
	"regexp"
)

// Secrets keeps the sensitive settings of adapters (the passwords in a
// transport's TransportTypeData) out of the Management database, as
// BizTalk keeps them in the SSO database. When Options.Secrets is set, a
// send port or receive location put or imported with a password has it
// taken out and handed to Keep, in the same transaction as the
// configuration, and Management stores and exports the property masked
// (`<Password vt="1" />`, as BizTalk exports it). The Group wires it to an
// SSO config store application; without one, transport data is kept as
// given.
type Secrets interface {
	// Keep stores values (property name → value) for one transport of
	// owner: "primary" or "backup" for a send port, the receive location's
	// name for a receive port. ctx carries the caller (its identity, for
	// the SSO access check).
	Keep(ctx context.Context, tx GroupTx, owner Ref, transport string, values map[string]string) error
}

// passwordProp matches a CustomProps property whose name says it holds a
// password and which has a string value (vt 8, BSTR).
var passwordProp = regexp.MustCompile(`<([\w.-]*[Pp]assword[\w.-]*)\s+vt="8"\s*>([^<]*)</([A-Za-z_][\w.-]*)\s*>`)

// protectTransportData returns data with every password property that has
// a value replaced by its masked form, and the values it took out.
func protectTransportData(data string) (string, map[string]string) {
	var values map[string]string
	masked := passwordProp.ReplaceAllStringFunc(data, func(m string) string {
		g := passwordProp.FindStringSubmatch(m)
		if g[1] != g[3] || g[2] == "" {
			return m
		}
		if values == nil {
			values = map[string]string{}
		}
		values[g[1]] = html.UnescapeString(g[2])
		return "<" + g[1] + ` vt="1" />`
	})
	return masked, values
}

// protect hands the passwords in *data to the Secrets keeper and leaves
// *data masked.
func (tx *Tx) protect(owner Ref, transport string, data *string) error {
	if tx.s.opts.Secrets == nil {
		return nil
	}
	masked, values := protectTransportData(*data)
	if len(values) == 0 {
		return nil
	}
	if err := tx.s.opts.Secrets.Keep(tx.ctx, tx.txn, owner, transport, values); err != nil {
		return fmt.Errorf("mgmt: %s %s transport: keep its passwords: %w", owner, transport, err)
	}
	*data = masked
	return nil
}
