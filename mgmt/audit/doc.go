// Package audit keeps the operators' audit trail of a group: who resumed,
// terminated, imported, started, stopped, backed up or restored what, when, and
// with what outcome. The console and the biztier command write it.
//
// Management has no audit table of its own, so the trail lives in the
// Management database's application keyspace (biztier.Tx.Set on
// biztier.Management), under keys that start with "biztier.audit/". It commits
// on the group log like everything else, so it rides backups, log shipping and
// the passive node. A write that the MessageBox or Management commits by itself
// (Resume, Terminate and Import take no Tx) cannot share its commit with its
// audit record; the trail therefore records a "begin" before acting and an "end"
// with the outcome after, so a crash in between still leaves the begin.
package audit
