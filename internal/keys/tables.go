package keys

import "fmt"

// Table is the first byte of every key: it names the table the key belongs
// to. Each store is its own Pebble database, but prefixes are still unique
// across all of them so that [Format] can name any key from its first byte
// and a key written to the wrong store is recognisable.
type Table byte

// Table prefixes, grouped per database. Each database owns a range of 16
// prefixes; unassigned values in a range are reserved for that database.
//
// Rules for this block:
//   - Add new tables in their database's range and give them a name in
//     tableNames below (a duplicate value there fails to compile).
//   - Never reuse a prefix. To retire one, replace its line with a comment
//     such as "// 0x15 retired: was Suspended", because data written by an
//     older version may still carry it.
//   - 0x00 and 0xFF are never tables. Keeping 0xFF free guarantees that every
//     table's one-byte prefix has a one-byte successor (see PrefixSuccessor).
const (
	// System tables, 0x01..0x0F, belong to internal/store and exist in every
	// store's database.

	// TableSystem holds per-database bookkeeping kept by internal/store: the
	// applied log position and the format-version key.
	TableSystem Table = 0x01

	// MessageBox, 0x10..0x1F.

	// TableMessages holds one record per message: its ID, context and parts.
	TableMessages Table = 0x10
	// TableBodies holds message body headers, shared by every subscriber
	// that references the body.
	TableBodies Table = 0x11
	// TableBodyFragments holds the fragments of large bodies, in order.
	TableBodyFragments Table = 0x12
	// TableSubscriptions holds subscriptions and their predicates.
	TableSubscriptions Table = 0x13
	// TableQueueEntries holds host-queue entries: one per message per
	// matching subscription.
	TableQueueEntries Table = 0x14
	// TableSuspended holds suspended queue entries and their reasons.
	TableSuspended Table = 0x15
	// TableInstances holds service instances (orchestrations) and their
	// persisted state.
	TableInstances Table = 0x16
	// TableRefCounts holds body reference counts, so a body is deleted when
	// its last reference goes.
	TableRefCounts Table = 0x17
	// TableMessageBoxMeta holds MessageBox-wide settings and counters. It is
	// qualified with the database because other databases will want a meta
	// table of their own.
	TableMessageBoxMeta Table = 0x18
	// TableConvoySets holds convoy sets: the correlation values of a
	// convoy and the service instance they route to.
	TableConvoySets Table = 0x19
	// TableDedup holds the keys of recently published messages, per
	// publisher, for duplicate detection.
	TableDedup Table = 0x1A
	// TableTrackingData holds the tracking records the MessageBox stages
	// in its commits until the tracking database takes them in (BizTalk's
	// TrackingData tables), by sequence number.
	TableTrackingData Table = 0x1B
	// 0x1C..0x1F reserved for MessageBox.

	// Tracking (DTA), 0x20..0x2F.

	// TableServiceInstances holds tracked service instances.
	TableServiceInstances Table = 0x20
	// TableMessageEvents holds tracked message events (sent, received,
	// routed, suspended).
	TableMessageEvents Table = 0x21
	// TableTrackedBodies holds copies of tracked message bodies.
	TableTrackedBodies Table = 0x22
	// TableInstancesByService indexes tracked service instances by service
	// name and start time, newest first.
	TableInstancesByService Table = 0x23
	// TableInstancesByState indexes tracked service instances by current
	// state and start time, newest first.
	TableInstancesByState Table = 0x24
	// TableInstancesByTime indexes tracked service instances by start time,
	// newest first.
	TableInstancesByTime Table = 0x25
	// TableEventsByMessage indexes tracked message events by message ID and
	// time, newest first.
	TableEventsByMessage Table = 0x26
	// TableEventsByPort indexes tracked message events by port and time,
	// newest first.
	TableEventsByPort Table = 0x27
	// TableEventsByTime indexes tracked message events by time, newest
	// first.
	TableEventsByTime Table = 0x28
	// TableEventsByProperty indexes tracked message events by tracked
	// property name and value, then time, newest first.
	TableEventsByProperty Table = 0x29
	// TableInstancesFinished lists finished (completed or terminated)
	// service instances by end time, oldest first: the purge queue.
	TableInstancesFinished Table = 0x2B
	// TableTrackingMeta holds the tracking database's format version and
	// purge progress.
	TableTrackingMeta Table = 0x2C
	// 0x2A is left unassigned on purpose: the keys tests use it as their
	// example of an unassigned prefix.
	// 0x2D..0x2F reserved for Tracking.

	// Management (configuration), 0x30..0x3F. Keys are the table byte and
	// the artifact's name (host instances: host and server); values are
	// written by package mgmt.

	// TableMgmtApplications holds applications and their references.
	TableMgmtApplications Table = 0x30
	// TableMgmtHosts holds hosts.
	TableMgmtHosts Table = 0x31
	// TableMgmtHostInstances holds host instances, keyed by host and server.
	TableMgmtHostInstances Table = 0x32
	// TableMgmtAdapters holds adapters (transport types).
	TableMgmtAdapters Table = 0x33
	// TableMgmtAssemblies holds deployed assemblies (binding-file module
	// references) and their tracked schemas.
	TableMgmtAssemblies Table = 0x34
	// TableMgmtReceivePorts holds receive ports with their receive locations.
	TableMgmtReceivePorts Table = 0x35
	// TableMgmtSendPorts holds send ports.
	TableMgmtSendPorts Table = 0x36
	// TableMgmtSendPortGroups holds send port groups.
	TableMgmtSendPortGroups Table = 0x37
	// TableMgmtOrchestrations holds orchestrations and their port bindings.
	TableMgmtOrchestrations Table = 0x38
	// TableMgmtParties holds parties.
	TableMgmtParties Table = 0x39
	// TableMgmtSubscriptions holds the MessageBox subscriptions each
	// artifact owns, keyed by owner kind, owner name and subscription ID.
	TableMgmtSubscriptions Table = 0x3A
	// 0x3B..0x3F reserved for Management.

	// SSO (SSODB), 0x40..0x4F. Keys are the table byte and names; every
	// secret a value holds is sealed by package sso with the master secret,
	// which is never stored here.

	// TableSSOMeta holds the SSO database's format version, system settings
	// and master-secret state: key-check values and, during and after a
	// regenerate, the new secret sealed under the old one.
	TableSSOMeta Table = 0x40
	// TableSSOApplications holds affiliate applications by name.
	TableSSOApplications Table = 0x41
	// TableSSOMappings holds credential mappings, keyed by application and
	// the mapped identity (Windows user, group or, for host group
	// applications, external user).
	TableSSOMappings Table = 0x42
	// TableSSOConfig holds config store property bags, keyed by application
	// and identifier.
	TableSSOConfig Table = 0x43
	// TableSSOAudit holds the audit trail, keyed by sequence number.
	TableSSOAudit Table = 0x44
	// TableSSOTickets holds redeemed tickets until they expire, so a ticket
	// is redeemed once.
	TableSSOTickets Table = 0x45
	// 0x46..0x4F reserved for SSO.
	// BAM (BAMPrimaryImport), 0x50..0x5F. Values are written by package
	// bam.

	// TableBAMMeta holds the BAM database's format version, the buffered
	// event decoder's applied position and the cube watermarks.
	TableBAMMeta Table = 0x50
	// TableBAMDefinitions holds deployed activities, views and cubes by
	// kind and name, each with its version.
	TableBAMDefinitions Table = 0x51
	// TableBAMDeployments holds the deploy, update and remove history,
	// keyed by sequence number, oldest first.
	TableBAMDeployments Table = 0x52
	// TableBAMActive holds active activity instances, keyed by activity
	// and activity ID: one record per instance.
	TableBAMActive Table = 0x53
	// TableBAMCompleted holds completed activity instances, keyed by
	// activity, completion partition, completion time and activity ID.
	TableBAMCompleted Table = 0x54
	// TableBAMCompletedByID indexes completed instances by activity and
	// activity ID.
	TableBAMCompletedByID Table = 0x55
	// TableBAMContinuations holds continuation tokens, keyed by activity
	// and token: the instance each continues.
	TableBAMContinuations Table = 0x56
	// TableBAMSpool holds buffered events written in other commits, keyed
	// by sequence number, until the decoder moves them into the tables.
	TableBAMSpool Table = 0x57
	// TableBAMAggregations holds real-time aggregation cells, keyed by
	// aggregation, time slice and dimension values.
	TableBAMAggregations Table = 0x58
	// TableBAMFailed holds buffered events the decoder could not apply
	// (their activity was removed meanwhile), keyed by sequence number.
	TableBAMFailed Table = 0x59
	// TableBAMProfiles holds tracking profiles and their bindings, keyed
	// by profile name.
	TableBAMProfiles Table = 0x5A
	// 0x5B..0x5F reserved for BAM.
	// Business Rules, 0x60..0x6F. Values are written by package rules.

	// TableRulesPolicies holds policy versions (rulesets), keyed by policy
	// name, major and minor version: state, deployment and the BRL.
	TableRulesPolicies Table = 0x60
	// TableRulesVocabularies holds vocabulary versions, keyed by name,
	// major and minor version: state and the BRL.
	TableRulesVocabularies Table = 0x61
	// TableRulesDeployments holds the deploy and undeploy history, keyed
	// by time and sequence, oldest first: the history purge walks it.
	TableRulesDeployments Table = 0x62
	// TableRulesAudit holds the audit trail of rule store changes (save,
	// publish, deploy, undeploy, delete), keyed by time and sequence.
	TableRulesAudit Table = 0x63
	// TableRulesMeta holds the rule store's format version.
	TableRulesMeta Table = 0x64
	// 0x65..0x6F reserved for Business Rules.
	// 0x70..0xEF unassigned.

	// TableUser holds user and extension data that no typed store owns.
	// 0xF1..0xFE are reserved for further extension tables.
	TableUser Table = 0xF0
)

// tableNames maps each assigned prefix to the name Format and Table.String
// print. It is an array rather than a map so that two tables given the same
// prefix are a compile error ("duplicate index in array literal").
var tableNames = [256]string{
	TableSystem: "System",

	TableMessages:       "Messages",
	TableBodies:         "Bodies",
	TableBodyFragments:  "BodyFragments",
	TableSubscriptions:  "Subscriptions",
	TableQueueEntries:   "QueueEntries",
	TableSuspended:      "Suspended",
	TableInstances:      "Instances",
	TableRefCounts:      "RefCounts",
	TableMessageBoxMeta: "MessageBoxMeta",
	TableConvoySets:     "ConvoySets",
	TableDedup:          "Dedup",

	TableServiceInstances: "ServiceInstances",
	TableMessageEvents:    "MessageEvents",
	TableTrackedBodies:    "TrackedBodies",

	TableInstancesByService: "InstancesByService",
	TableInstancesByState:   "InstancesByState",
	TableInstancesByTime:    "InstancesByTime",
	TableEventsByMessage:    "EventsByMessage",
	TableEventsByPort:       "EventsByPort",
	TableEventsByTime:       "EventsByTime",
	TableEventsByProperty:   "EventsByProperty",
	TableInstancesFinished:  "InstancesFinished",
	TableTrackingMeta:       "TrackingMeta",

	TableMgmtApplications:   "MgmtApplications",
	TableMgmtHosts:          "MgmtHosts",
	TableMgmtHostInstances:  "MgmtHostInstances",
	TableMgmtAdapters:       "MgmtAdapters",
	TableMgmtAssemblies:     "MgmtAssemblies",
	TableMgmtReceivePorts:   "MgmtReceivePorts",
	TableMgmtSendPorts:      "MgmtSendPorts",
	TableMgmtSendPortGroups: "MgmtSendPortGroups",
	TableMgmtOrchestrations: "MgmtOrchestrations",
	TableMgmtParties:        "MgmtParties",
	TableMgmtSubscriptions:  "MgmtSubscriptions",

	TableRulesPolicies:     "RulesPolicies",
	TableRulesVocabularies: "RulesVocabularies",
	TableRulesDeployments:  "RulesDeployments",
	TableRulesAudit:        "RulesAudit",
	TableRulesMeta:         "RulesMeta",

	TableSSOMeta:         "SSOMeta",
	TableSSOApplications: "SSOApplications",
	TableSSOMappings:     "SSOMappings",
	TableSSOConfig:       "SSOConfig",
	TableSSOAudit:        "SSOAudit",
	TableSSOTickets:      "SSOTickets",

	TableBAMMeta:          "BAMMeta",
	TableBAMDefinitions:   "BAMDefinitions",
	TableBAMDeployments:   "BAMDeployments",
	TableBAMActive:        "BAMActive",
	TableBAMCompleted:     "BAMCompleted",
	TableBAMCompletedByID: "BAMCompletedByID",
	TableBAMContinuations: "BAMContinuations",
	TableBAMSpool:         "BAMSpool",
	TableBAMAggregations:  "BAMAggregations",
	TableBAMFailed:        "BAMFailed",
	TableBAMProfiles:      "BAMProfiles",

	TableUser: "User",
}

// String returns the table's name, such as "Messages", or "Table(0x2a)" for
// a prefix that is not assigned.
func (t Table) String() string {
	if name := tableNames[t]; name != "" {
		return name
	}
	return fmt.Sprintf("Table(0x%02x)", byte(t))
}
