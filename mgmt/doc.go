// Package mgmt is the Management database of a biztier group (BizTalk's
// BizTalkMgmtDb): the group's configuration, its artifacts' states, and
// BizTalk binding files in and out.
//
// # Model
//
// Artifacts belong to an [Application] (applications may reference each
// other) and are named uniquely in the group per kind:
//
//   - [Host] (in-process or isolated) and [HostInstance] (a host on a
//     server, started or stopped);
//   - [Adapter] (transport types) and [Assembly] (a binding file's module
//     references, with their tracked schemas kept as they came);
//   - [ReceivePort] with its [ReceiveLocation]s (address, adapter and its
//     opaque TransportData, pipeline, service window, enabled or not);
//   - [SendPort], static or dynamic, with primary and backup [Transport]
//     (retry count and interval, service window, ordered delivery), a
//     [Filter], maps and pipelines by name, priority, stop-on-failure;
//   - [SendPortGroup] with its members and filter;
//   - [Orchestration] with its host and [PortBinding]s;
//   - [Party], kept by name with its binding-file element.
//
// A [Filter] is BizTalk's predicate: an OR of AND groups of [Statement]s
// (property, operator, value), with the operator codes binding files use:
// 0 ==, 1 <, 2 <=, 3 >, 4 >=, 5 !=, 6 exists. It is the MessageBox's own
// predicate type (messagebox.Predicate), so a filter becomes a
// subscription without translation; values read from binding files are
// [Text], typed by the property they meet.
//
// Everything a binding says applies at run time: each send port's
// subscriptions carry its [Delivery] (retries, backup transport and its
// retries, ordered delivery, service window); orchestrations activate only
// on their [Orchestration].ActivatingPorts and carry their service; a host
// none of whose instances runs is held ([HostGate]); receive ports route
// failed messages; [ReceiveLocation.Accepting] says when a location takes
// messages. Adapters' passwords go to [Secrets] (the SSO database), and
// Management keeps and exports them masked.
//
// # States and subscriptions
//
// Send ports and groups are Bound, Stopped (enlisted) or Started;
// orchestrations Unenlisted, Enlisted or Started; receive locations
// enabled or disabled; host instances running or stopped. [Tx.Enlist],
// [Tx.Start], [Tx.Stop] and [Tx.Unenlist] apply BizTalk's rules (start
// implies enlist; an orchestration must be bound to enlist; a group needs
// an enlisted member to start, and its last enlisted member cannot be
// unenlisted; unenlisting is refused with a [*QueuedError] while messages
// are queued, unless forced).
//
// Enlisted artifacts own MessageBox subscriptions, derived from the
// configuration and the state: a send port has one on its own
// [TransportID] (BTS.SPTransportID) and one for its filter; a group gives
// each enlisted member one on the group's transport ID and one for the
// group's filter; an orchestration has an activation subscription per
// bound receive port (BTS.ReceivePortName ANDed with its
// [Orchestration.Activation] filter). A subscription is Active only while
// what it delivers to is started (for a group member: group and port both
// started); an inactive one still matches, and the MessageBox suspends
// what it matches (resumable). Subscription IDs are deterministic
// ([SubscriptionID]), so enlisting twice changes nothing.
//
// mgmt does not import the MessageBox. It declares what it needs,
// [Subscriptions], and every configuration change and the subscription
// changes it causes are written into one group transaction and committed as one
// group-log frame by [Store.Update]: after a crash both are there or
// neither is. mgmt also records each owner's subscriptions in its own
// store, so unenlisting removes exactly what enlisting created.
//
// # Binding files
//
// [Store.Import] reads a BindingInfo document and creates or updates
// artifacts in one commit; [Store.Export] writes one in the layout
// BizTalk's own exports use, and importing it gives the same
// configuration back. The inner <Filter> document is read whether it is
// escaped text (as BizTalk writes it, however it is indented) or child
// elements; adapter configuration (TransportTypeData) is kept as opaque
// text. Elements mgmt does not interpret are kept on their artifact
// ([Raw]) and exported where they were; what cannot be kept is listed in
// [ImportResult.Ignored], or refused with [ImportOptions.Strict]. A file
// that is not well-formed or breaks a rule is refused whole, changing
// nothing, with a [*BindingError] giving the element path and line.
// Orchestration states in a file are applied only on request
// ([ImportOptions.ApplyStates]).
//
// # Storage
//
// Each kind of artifact has its own table (internal/keys, 0x30..0x3A),
// keyed by name, with versioned values (internal/codec). The Store loads
// the whole configuration into memory at [Open] and serves reads from it.
//
// # Concurrency
//
// A [Store] is safe for concurrent use. Reads never wait for writers;
// writers ([Store.Update] and everything built on it) are serialised, so a
// rule checked inside a transaction still holds when it commits.
package mgmt
