// Package messagebox is the MessageBox of a biztier group: BizTalk's
// publish/subscribe hot path, stored in the group's MessageBox Pebble
// database and committed through the group log.
//
// # Model
//
// A [Message] has parts (one of them the body part) and a context of typed
// properties, each promoted (routable) or written, named "namespace#name";
// the short names of BizTalk's property schemas ("BTS.MessageType") are the
// same properties ([CanonicalName]). A [Subscription] belongs to a host and
// holds a [Predicate] (the same type as Management's filters): an OR of
// AND-groups of `property op value` conditions with BizTalk's operators
// (==, <, <=, >, >=, !=, exists). Comparisons are typed; a filter's [Text]
// value takes the type of the property it meets ([PropertySchema] types it
// up front); a property missing from the promoted context fails every
// condition, exists included.
//
// [Store.Publish] matches a message against the subscriptions and, in one
// commit, stores it once together with one queue entry per matching
// subscription. A message nothing matches is stored as a non-resumable
// suspended entry with a routing failure report, and Publish returns a
// [*RoutingError] matching [ErrNoSubscribers]: nothing is dropped.
//
// Each host has a queue. [Store.Dequeue] leases entries in priority, then
// publish, order; [Store.Complete] deletes them (and the message with its
// last entry); [Store.Abandon] and [Store.Fail] count an attempt and make
// the entry visible again later, moving it to the subscription's backup
// host or to the suspended queue once its [RetryPolicy] is used up;
// [Store.Suspend] suspends it. [Store.CompleteAndDequeue] settles a batch
// and takes the next in one commit, and [Store.PublishCompleteAndDequeue]
// also publishes what a messaging step made of the batch, as BizTalk's
// messaging engine settles a batch. Suspended entries are listed, counted,
// resumed and terminated by ID or by [SuspendedQuery]. Removing a
// subscription suspends what waits for it ([UnsubscribedReason]); a held
// host (no host instance running) keeps its queue and delivers nothing;
// with [Options.RouteFailed], a message nothing subscribes to may go out as
// an [ErrorMessage] instead. [Store.Err] says whether the store still works.
//
// # Routing index
//
// Subscriptions are indexed in memory: each AND-group that has an equality
// condition is filed under that condition's (property, value), so a
// publish only evaluates the groups filed under one of its own promoted
// (property, value) pairs plus the groups without any equality. The index
// is rebuilt from the store by [Open].
//
// # Durability and leases
//
// Every change is one transaction on the group log, acknowledged only once
// durable; the in-memory state (index, ready queues) changes after the
// commit succeeds. Leases live in memory only: a crash or a reopen makes
// every leased entry deliverable again (at-least-once delivery), while the
// delivery count, written by each Dequeue, survives. Reference counts are
// the number of entries naming a message, kept in memory and rebuilt on
// open; the commit that removes a message's last entry deletes the
// message, so no body outlives its last reference.
//
// Bodies larger than [Options.FragmentSize] are stored as fragments;
// parts above [Options.CompressThreshold] are compressed ([Options.Compression],
// S2 by default) when that saves at least an eighth.
//
// Keys and values: see keys.go for the layout and [FormatKey] to print a
// key. Values start with a format-version byte; the MessageBox as a whole
// has a format version that Open refuses if newer than it knows
// ([ErrFormatTooNew]).
//
// # Time
//
// Leases, delays and retry intervals run on [Options.Clock]; tests use a
// [ManualClock]. Expired leases and elapsed delays are applied lazily by
// the next Dequeue of the host; [Store.DequeueWait] waits on a
// notification or a clock timer, never polling.
//
// # Orchestrations
//
// An Activation subscription with a Service starts a [ServiceInstance] per
// matching message, in the publish's commit; the instance's first
// delivery carries that message and [Delivery.Instance]. An instance moves
// on by persistence points ([Store.Persist]): one commit completes the
// messages it consumed, stores its opaque state, publishes its messages,
// initializes or releases its correlation sets (Instance subscriptions of
// up to three properties) and carries other stores' writes. A crash
// resumes it from its last persistence point: the messages consumed since
// are delivered again. A dehydrated instance is woken, its state handed
// back, by the next message routed to it.
//
// A convoy is an activation subscription with Correlation properties: the
// first message with a set of values starts the instance and records the
// convoy set in the same commit, under the store's lock, so a second
// "first" message always joins it; activation subscriptions of one
// Service sharing the properties form a parallel convoy. An instance that
// completes with messages still routed to it ends "completed with
// discarded messages", those messages suspended, not resumable (zombies).
// Publishes that would route to an instance whose end is committing wait
// for that commit, so they are ordered after it.
//
// Instances are listed by [InstanceQuery], suspended, resumed and
// terminated singly or in bulk.
//
// # Delivery
//
// An Ordered subscription has one entry in flight at a time, in publish
// order, stopping or skipping on a failure as configured. [Store.PublishAt]
// and a subscription's [ServiceWindow] schedule entries for later. When the
// entries reach [Options.MessageCountLimit] (or the spool its multiple),
// Publish waits instead of failing; leased entries beyond
// [Options.InFlightLimit] are not handed out; [Stats] shows both states
// with BizTalk's codes. [Options.Dedup] rejects repeated messages within a
// window.
//
// # Other databases
//
// Methods ending in Tx (such as [Store.PublishTx] and [Store.SubscribeTx])
// add their writes to a transaction of the group ([Tx], a *biztier.Tx from
// Group.Update) that the caller commits with writes of other databases or
// of the application itself. With [Options.Tracking] set, every operation
// stages a tracking record in its own commit (BizTalk's TrackingData);
// the tracking database takes the records in, in order, with
// [Store.TakeTracking] (BizTalk's TDDS).
package messagebox
