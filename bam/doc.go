// Package bam is the group's BAM Primary Import database
// (BAMPrimaryImport): Business Activity Monitoring's activities, their
// instances, continuations and references, real-time aggregations, and the
// online window with its archive. It is a database of the group like the
// others: its own Pebble store on the group's one log, so BAM events are in
// the group commit, the backups, log shipping and the active/passive pair,
// and an acknowledged event is never lost.
//
// # Definitions
//
// [ParseDefinition] reads the BAM definition XML that Excel's BAM add-in
// and bm.exe use (UTF-16 with a byte-order mark or UTF-8): activities with
// DATETIME milestones and NVARCHAR, INT, FLOAT and DECIMAL data; views with
// aliases, milestone groups and durations; cubes with data, time, numeric
// range and progress dimensions, and their real-time aggregations.
// BizTalk's limits apply (1,000 checkpoints per activity, 128 activity
// references per view, name lengths, 4,000 characters of NVARCHAR, 14
// dimension levels per aggregation); every error is a [*DefinitionError]
// naming the element and its line. [Definition.Export] writes a definition
// that reads back equal. [Store.Deploy], [Store.Update] (activities may
// gain checkpoints) and [Store.Remove] change the deployed catalog in one
// commit each, versioning every activity, view and cube and keeping the
// history ([Store.Deployments]).
//
// # Events and streams
//
// An [EventStream] writes BeginActivity, UpdateActivity (checkpoints by
// name, typed as the definition says), EnableContinuation, AddReference,
// AddRelatedActivity and EndActivity. One instance is one record; it moves
// from the Active to the Completed table only when it has begun, its main
// segment has ended and every continuation segment it enabled has ended.
// Events that arrive out of order (an update before its begin, a
// continuation segment before its parent enabled it) are reconciled, never
// dropped: see fold.go.
//
// The spool lives in the BAM database itself, not in the MessageBox's
// tables as BizTalk's does: BizTalk puts it in the MessageBox because that
// is the database the runtime's transaction already writes, while here
// every database of the group commits in the same log frame, so a spool
// record in the BAM database is exactly as atomic with a publish or a
// persistence point, and the decoder never reads another package's tables.
//
// The streams keep BizTalk's transactional meaning. A direct stream folds
// events synchronously in a commit of its own (flush threshold 0, 1 or N).
// A buffered stream commits compact event records to a spool; the
// decoder, one goroutine with its own applied position, moves them into
// the tables in order, in commits that also delete what they moved, so a
// crash loses nothing and folds nothing twice ([Store.WaitCaughtUp] waits
// for it). The orchestration and messaging streams write the same records
// into the caller's transaction (a [Tx]: the persistence point of an
// orchestration, the publish of a message), so the events commit with it
// or not at all.
//
// # Tracking profiles
//
// [ParseProfile] reads a .btt tracking profile; [Store.BindProfile] binds
// it, with a [Binding] from the profile's orchestration and port names to
// the runtime's. The runtime calls [Interceptor.Shape] at each shape it
// runs and [Interceptor.Complete] when an orchestration instance ends
// ([Interceptor.Message] for a port's message), with the persistence
// point's transaction: milestones, payload values by XPath, context
// properties, the ActivityID and continuation tokens become orchestration
// stream events with no code in the orchestration.
//
// # Queries and aggregations
//
// [Store.Instance] finds an instance by ID or continuation token;
// [Store.Instances] queries active, completed and archived instances by
// any checkpoint. Real-time aggregations are kept in the commit that folds
// the events, so [Store.Aggregation] is current the moment that commit
// returns: Count, Sum and Avg by data, time, numeric range and progress
// dimensions, an instance moving between stages moving its contribution.
// [Store.ComputeCube] computes a scheduled aggregation (a cube) on demand
// from one snapshot.
//
// # Online window and archive
//
// Completed instances are partitioned by completion time.
// [Store.Maintain] moves partitions older than the online window (6
// months by default) to an [Archive] ([FileArchive]) or drops them, never
// before every cube over the activity has been computed past them, and
// ages real-time aggregation cells out of their window.
// [Store.CompleteInstance] completes by hand an instance that began before
// a restored backup and ended after it.
//
// # Concurrency
//
// A [Store] is safe for concurrent use; an [EventStream] and a [Run] are
// not. Writers of instance records (direct flushes, the decoder,
// deployments, maintenance) are serialised; writers of the spool are not.
package bam
