// Package console is an operator's console for a biztier group, in the manner
// of BizTalk's Group Hub: an http.Handler that serves server-rendered HTML pages
// and the same views as JSON under /api/.
//
// # Pages
//
//	/               overview: the group, its log, the MessageBox, the pair and
//	                the backup job
//	/hosts          host queues by state, and the host instances Management knows
//	/suspended      suspended entries by query (service: a send port or
//	                orchestration; host, kind, subscription, error text,
//	                context property, time), with bulk resume and terminate
//	/messages/{id}  a message's context and parts
//	/subscriptions  the subscriptions; with ?message={id}, Explain for it
//	/flow/{id}      tracking's message flow around a message
//	/bam            BAM activities, recent instances and real-time aggregations
//	/rules          rule store policies and their versions
//	/sso            SSO affiliate applications (never a secret)
//	/audit          the console's audit trail
//
// Each page has its JSON twin: /api/overview, /api/hosts, /api/suspended, and
// so on.
//
// # Writes
//
// Over a cluster node (Options.Node) the overview shows the pair, and an
// operator can hand the active role to the passive (POST /pair/switchover,
// cluster.Node.Switchover); the MessageBox pages then work on the active node
// only (cluster.ErrNotActive answers 503 elsewhere).
//
// Bulk resume and terminate act on everything the query matches, not on the
// page shown, through messagebox.Store.Resume and Terminate (which work in
// batches, with no cap). The page shows the count first; the form carries it
// and the write is refused with 409 Conflict if the query no longer matches
// that many entries, so an operator never acts on more than they saw.
//
// Every write needs an Authorizer, which the embedding application supplies
// (the default refuses everything), passes http.CrossOriginProtection (the
// browser's Sec-Fetch-Site or Origin must say same origin) and must carry the
// console's anti-forgery token (the form field or the X-CSRF-Token header)
// bound to the session cookie the console sets. Each write is audited in the
// group's trail (package mgmt/audit, kept in the Management database), logged at
// info level to Options.Logger (log/slog), and traced as one OpenTelemetry span
// through the otel API (the application's tracer provider records it; the
// console depends on no SDK).
package console
