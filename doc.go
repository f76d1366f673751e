// Package biztier gives a Go program the persistence tier of a BizTalk
// Server group, in process: the MessageBox and the Tracking, Management,
// SSO, BAM and Business Rules databases, each a Pebble store, all on one
// transaction log.
//
// # The group
//
// A [Group] is one BizTalk group. [Open] opens (or creates) it in a
// directory, recovering whatever a crash left; [OpenInMemory] opens the same
// code on an in-memory filesystem with [NoSync] durability, as a test
// double. Each database may live on its own disk ([Dirs]), as BizTalk's do.
//
// # Transactions
//
// [Group.Update] gives a [Tx]: one atomic change across every database of
// the group. The database packages' methods that end in Tx add their
// writes to it (messagebox.Store.PublishTx and SubscribeTx,
// tracking.Store.Record, sso.Store.SetConfigInfoTx, ...), and the
// application adds its own keys with Tx.Set, so an application's state
// change and the message that announces it commit together or not at all
// (the transactional outbox; see the Update example).
//
// # Package map
//
//	biztier            the Group: Open, Close, the databases (MessageBox,
//	                   Tracking, Management, SSO, BAM, Rules), Update and
//	                   Tx, Mark, Backup, Restore, log shipping, Stats;
//	                   ErrClosed and ErrCorruption, which every package's
//	                   errors wrap
//	wal                the group's transaction log: frames, LSNs, group
//	                   commit, segments, marks, readers that tail it, pins,
//	                   replication (gate, follower append)
//	messagebox         messages, subscriptions, host queues, leases,
//	                   retries, suspend/resume, explain, service instances
//	messagebox/predicate the one filter vocabulary: typed values, canonical
//	                   property names, conditions and their evaluation
//	                   (messagebox.Predicate and mgmt.Filter are its type)
//	tracking           the DTA: the decoder of the MessageBox's tracking
//	                   records, queries, message flow, purge and archive
//	mgmt               the Management database and binding files
//	sso                the SSO database and its master secret
//	bam                BAM Primary Import: activities, event streams,
//	                   aggregations, tracking profiles
//	rules              the Business Rules database and its engine
//	cluster            the active/passive pair: replication, witness,
//	                   fencing, failover
//	internal/store     one Pebble DB per database on the log; multi-store
//	                   transactions, replay, checkpoints
//	internal/event     the MessageBox's tracking records, which the
//	                   tracking decoder takes in
//	internal/clusterhooks what cluster needs of a Group that applications
//	                   must not call (the raw log, replica open, reseed)
//	internal/backup    backup sets, manifests, restore, the DR standby
//	internal/keys      order-preserving tuple keys and table prefixes
//	internal/codec     versioned binary values
//	internal/sentinel  the module-wide closed and corruption roots
//	internal/crashtest, internal/mutants  what the crash tests share; the
//	                   on-demand mutation check of the pair's tests
//	bench              benchmark scenarios and peers
//	examples           pipeline, dr, failover
//
// Dependencies point one way: examples, bench and cluster → biztier → the
// database packages (messagebox, tracking, mgmt, sso, bam, rules) →
// internal/store → wal. No database package imports another or wal: each
// declares, in its db.go, what it needs of the group (a Database to read
// its committed state and begin transactions, and a Tx whose methods are
// the same in every package), and the Group provides it. What two of them
// share is a leaf: messagebox/predicate (filters), internal/event
// (tracking records). The Group wires the rest in a few adapters:
// Management's Subscriptions are the MessageBox's (mgmt_wiring.go),
// tracking's Source is the MessageBox (tracking_wiring.go). cluster reaches
// the log through internal/clusterhooks.
//
// # Durability
//
// Every write, in every database, is part of a transaction that the log
// writes as one frame: {LSN, epoch, commit time, one Pebble batch per
// database touched, CRC32C, the previous frame's CRC}. One committer
// goroutine writes every frame waiting, fdatasyncs once, and only then are
// the batches applied to the Pebble stores (whose own WAL is off: a message
// body is synced once, not twice) and the commits acknowledged. So nothing
// is visible before it is durable, a transaction across databases is all or
// nothing, and each store, which records its applied LSN in the same batch,
// is always an exact prefix of the log. On Open each store replays the log
// from its applied LSN. A checkpointer flushes the stores and deletes log
// segments that every store holds and that no pin (a replica, shipper or
// backup) still needs.
//
// A torn final frame (a crash mid-write) is cut off at Open. A damaged frame
// anywhere else fails Open with an error wrapping [ErrCorruption] that names
// the segment file and offset; biztier never skips damage silently.
//
// If a write or fdatasync of the log fails, the waiting commits fail and the
// group refuses further commits (wal.ErrFailed) until it is closed and
// reopened: whether the failed group reached the disk is unknown, and only
// recovery can decide it. Fsyncs are never retried.
package biztier
