// Package messagebox is the MessageBox of a biztier group: BizTalk's
// publish/subscribe hot path, stored in the group's MessageBox Pebble
// database and committed through the group log.
//
// # Model
//
// A [Message] has parts (one of them the body part) and a context of typed
// properties, each promoted (routable) or written. A [Subscription] belongs
// to a host and holds a [Predicate]: an OR of AND-groups of `property op
// value` conditions with BizTalk's operators (==, <, <=, >, >=, !=,
// exists). Comparisons are typed; a property missing from the promoted
// context fails every condition, exists included.
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
// [Store.Suspend] suspends it. Suspended entries are listed, counted,
// resumed and terminated by ID or by [SuspendedQuery].
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
// # Other stores
//
// A [Tracker] in the options adds its writes (the tracking database) to
// the same transaction as the MessageBox change it records.
package messagebox
