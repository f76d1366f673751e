package console

import (
	"io"
	"log/slog"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/cluster"
	"github.com/biztier/biztier/sso"
)

// Options configure a Handler. Only Group is required.
type Options struct {
	// Group is the group the console shows. Required. With Node set, it
	// should be the node's group (Node.Group()).
	Group *biztier.Group
	// Node, if set, adds the pair to the overview: role, epoch, sync state
	// and replication lag.
	Node *cluster.Node
	// Shipping, if set, adds the backup job to the overview: last run,
	// backed-up and shipped LSN, lag.
	Shipping *biztier.LogShipping
	// BAM, if set, enables the BAM page. The console never opens BAM
	// itself: opening starts its decoder.
	BAM *bam.Store
	// SSO and SSOIdentity, if set, enable the SSO page, which lists the
	// affiliate applications SSOIdentity may see. The console never opens
	// SSO itself: opening creates an SSO system where there is none.
	SSO         *sso.Store
	SSOIdentity sso.Identity
	// Authorizer decides who may write. Defaults to one that refuses every
	// write.
	Authorizer Authorizer
	// PageSize caps the suspended entries and instances a page lists (the
	// count and bulk actions are not capped). Defaults to 100.
	PageSize int
	// MaxBody caps the bytes of a message part the message page shows.
	// Defaults to 64 KiB.
	MaxBody int
	// Logger receives one line per write at info level (who, what, how
	// many) and refusals and failures at warn; reads are not logged.
	// Defaults to a logger that discards everything.
	Logger *slog.Logger
	// Now is the console's clock for audit records and ages. Defaults to
	// time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Authorizer == nil {
		o.Authorizer = denyAll{}
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}
