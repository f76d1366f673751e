// Package tracking is the group's tracking database, BizTalk's
// BizTalkDTADb: service instances and their lifecycle, message events,
// chosen promoted property values and (optionally) message bodies and
// contexts, with queries, message flow, and a purge that archives before
// it deletes.
//
// # Recording
//
// As in BizTalk, the MessageBox stages a tracking record in the commit of
// every operation (its TrackingData), so a tracked change commits with the
// change or not at all and costs the operation one write; the store's
// decoder (BizTalk's TDDS) takes the records in from its [Source], in
// order, a batch per commit that also removes them from the MessageBox, so
// a crash loses none and takes none in twice. The decoder runs in the
// background as records commit, and every query first takes in what is
// staged, so a query sees every operation that returned before it
// ([Store.WaitCaughtUp] waits for the same). Instances of a batch are
// written once however many of their events it holds.
//
// [Store.Record] adds tracking writes to a transaction directly, for events
// of the application's own (a Tx, such as a *biztier.Tx). Record never
// commits; its only reads are of an instance's row, for lifecycle events
// after InstanceStarted.
//
// What is recorded is chosen by a [Profile]: [Settings] per subscription,
// port and orchestration, and a default. Lifecycle and message events are
// on by default; promoted properties are kept only when named; bodies and
// contexts are off by default, as in BizTalk.
//
// # Layout
//
// Every record carries a stamp, the time it was recorded in Unix
// nanoseconds, unique and increasing within the store. Primary rows are
// clustered by owner: an instance's row, its lifecycle events and its
// message events sit under its ID, bodies under the message ID, so purge
// removes an instance with a few range deletes. The row itself keeps the
// instance's start and completion, the two lifecycle events every
// delivery has, so they take no rows of their own. Secondary indexes
// (instances by service, state and start time; events by message, port,
// time and tracked property value) end with a descending stamp, so every
// query is one bounded range scan, newest first, and a page's [Cursor] is
// the key it stopped at. See keys.go for the key schema.
//
// # Queries
//
// [Querier] is the query API, served by the live [Store] (each call reads
// one snapshot) and by an [Archive]: instances by service, state and time
// range; message events by instance, message, port, tracked property
// value and time range; the message flow of a message or an instance
// (upstream to the instances that produced its inputs, downstream to the
// ones that consumed its outputs); a tracked body and context.
//
// # Purge and archive
//
// BizTalk's DTA Purge and Archive job ships disabled, and tracking
// databases grow until they hurt. Here purge runs by default every
// [Options.PurgeInterval]: finished instances go [Options.LiveWindow]
// after they finished (soft purge), any instance goes
// [Options.HardDeleteAge] after it started (hard purge), and message
// events outside any instance go after the live window. Each batch of
// about [Options.PurgeBatchRows] rows is first written to a zstd archive
// file in [Options.ArchiveDir] and synced, then deleted in one
// transaction that also records the purge's progress. A crash between the
// two leaves the rows in the database and the next pass rewrites the same
// file; nothing is deleted that is not archived. [OpenArchive] loads the
// archive files and answers the same queries.
//
// # Concurrency
//
// A [Store] and an [Archive] are safe for concurrent use. Record must be
// given a Txn that no other goroutine uses at the same time.
package tracking
