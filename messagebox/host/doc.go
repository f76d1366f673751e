// Package host runs a BizTalk application on a biztier group: host
// instances, the adapters they run, and how they settle what they dequeue.
// It sits above the root package (it imports biztier, messagebox and mgmt;
// nothing below imports it), as BizTalk's host processes are clients of the
// MessageBox and of the Management database.
//
// # Host instances
//
// Start runs a host instance: one host of the group on one server, recorded
// as running in Management (which releases the host's queue) until it stops.
// It runs everything bound to its host:
//
//   - the receive locations whose receive handler is the host, while they
//     accept messages (enabled, within their dates and service window):
//     each runs its adapter's ReceiveAdapter, which hands what arrives to
//     Endpoint.Submit; Submit runs the location's receive pipeline, promotes
//     the engine's properties (BTS.ReceivePortName, ...) and publishes in one
//     commit;
//   - the host's queue: send ports whose send handler is the host, and
//     orchestration services (Options.Services) whose host it is.
//
// The queue is read in batches with CompleteAndDequeue, so that one commit
// completes the entries finished since the last batch and leases the next
// (up to Options.BatchSize, once a worker is idle); Options.Concurrency
// workers run them, and the MessageBox's throttling holds publishing and
// dequeuing back. Each entry is settled by its port's retry policy, as
// a BizTalk send adapter's batch is: complete on success; on failure
// messagebox.Store.Fail, which retries after the port's interval, moves the
// entry to the backup transport once the retries are used up, and suspends
// it (resumable) after the backup's; an error wrapping ErrPermanent
// suspends it at once. A handler that runs long has its lease extended
// before it runs out.
//
// An orchestration step that reaches an instance that has already completed
// gets messagebox.ErrZombie: the MessageBox has suspended the message, and
// the host instance reports it (Options.OnError) and carries on. Delivery is
// at least once: after a crash, what was sent but not yet completed is sent
// again.
//
// # Stopping
//
// When Start's context is done or Stop is called, the instance stops
// receiving (receive locations end first), dequeues nothing more, abandons
// at once the entries it leased but had not started, lets running handlers
// finish within Options.ShutdownTimeout, then cancels their contexts and
// abandons their entries, commits the completions it holds, and records
// itself as stopped in Management. An abandon counts an attempt against the
// entry's retry policy, as in the MessageBox. Nothing is lost or completed
// twice: an entry is completed once, with the lease it was delivered with;
// one whose completion a stop left uncertain is completed again only if
// its lease still holds.
//
// # Adapters
//
// A Registry maps transport type names, as binding files write them in
// TransportType, to ReceiveAdapter and SendAdapter implementations; the
// transport's TransportTypeData reaches them as Endpoint.Data and
// Transport.Data (ParseTransportData reads BizTalk's <CustomProps> form).
// Packages below this one provide FILE (host/file), HTTP (host/httpadapter)
// and an in-memory pair for tests (host/memory); pipelines are in
// host/pipeline.
//
// # Orchestrations
//
// An orchestration is a Service: a Go function run for each message
// delivered to one of its instances, returning the persistence point that
// ends the step (correlation sets, messages published, the new state,
// completion). Through addresses a message to the send port an
// orchestration's logical port is bound to. The MessageBox keeps the
// instances: a crash resumes each from its last persistence point.
package host
