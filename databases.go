package biztier

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/sso"
	"github.com/biztier/biztier/tracking"
	"github.com/cockroachdb/pebble/v2"
)

// Database names one database of the group.
type Database uint8

// The group's databases, named as BizTalk names them. The values are
// written into every commit of the log: they never change.
const (
	MessageBox = Database(store.MessageBox) // BizTalkMsgBoxDb
	Tracking   = Database(store.Tracking)   // BizTalkDTADb
	Management = Database(store.Management) // BizTalkMgmtDb
	SSO        = Database(store.SSO)        // SSODB
	BAM        = Database(store.BAM)        // BAMPrimaryImport
	Rules      = Database(store.Rules)      // BizTalkRuleEngineDb
)

// String is the database's directory name in the group.
func (d Database) String() string { return store.ID(d).String() }

// valid reports whether d names one of the group's databases.
func (d Database) valid() bool { return store.ID(d).Valid() }

// appliedOf converts the store set's applied LSNs.
func appliedOf(m map[store.ID]uint64) map[Database]uint64 {
	out := make(map[Database]uint64, len(m))
	for id, lsn := range m {
		out[Database(id)] = lsn
	}
	return out
}

// Tx is one atomic change to the group: whatever is added to it, in any of
// the group's databases, commits as one frame of the log or not at all.
// Get one from Group.Update. The database packages' methods that end in Tx
// (messagebox.Store.SubscribeTx, tracking.Store.Record,
// sso.Store.SetConfigInfoTx, ...) take it to add their writes, and the
// application adds its own keys with Set and Delete: an application's
// state change and the message it publishes commit together (the outbox).
// A Tx is not safe for concurrent use and must not be kept past Update.
type Tx struct {
	tx *store.Txn
}

// Set writes key = value in db's application keyspace. Application keys
// live apart from the database's own tables, so they can never collide
// with BizTalk data; Group.Get reads them back.
func (t *Tx) Set(db Database, key, value []byte) error {
	b, err := t.userBatch(db)
	if err != nil {
		return err
	}
	return b.Set(userKey(key), value, nil)
}

// Delete removes key from db's application keyspace.
func (t *Tx) Delete(db Database, key []byte) error {
	b, err := t.userBatch(db)
	if err != nil {
		return err
	}
	return b.Delete(userKey(key), nil)
}

func (t *Tx) userBatch(db Database) (*pebble.Batch, error) {
	if !db.valid() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownDatabase, db)
	}
	return t.Batch(t.tx.Reader(store.ID(db)))
}

// Batch is for the database packages: the transaction's writes to the
// database r reads, where r is the reader the group gave that package. It
// fails for a reader of another group and once Update has returned.
func (t *Tx) Batch(r pebble.Reader) (*pebble.Batch, error) {
	b, err := t.tx.Batch(r)
	if err != nil {
		return nil, fmt.Errorf("biztier: %w", err)
	}
	return b, nil
}

// IndexedBatch is Batch with a batch that can also be read; it must be
// the transaction's first use of that database.
func (t *Tx) IndexedBatch(r pebble.Reader) (*pebble.Batch, error) {
	b, err := t.tx.IndexedBatch(r)
	if err != nil {
		return nil, fmt.Errorf("biztier: %w", err)
	}
	return b, nil
}

// OnCommit registers fn to run once the transaction has committed, before
// Update returns: the database packages apply their in-memory changes
// (a subscription routing, a message queued) there.
func (t *Tx) OnCommit(fn func()) { t.tx.OnCommit(fn) }

// OnAbort registers fn to run if the transaction ends without committing.
func (t *Tx) OnAbort(fn func()) { t.tx.OnAbort(fn) }

// Txn is the old name of Tx.
//
// Deprecated: use Tx.
type Txn = Tx

// Update runs fn and commits what it added to tx as one transaction across
// databases, returning its LSN once it is durable and visible. If fn
// returns an error nothing is written and Update returns it. fn must not
// call back into the Group or commit anything else of its own.
func (g *Group) Update(ctx context.Context, fn func(tx *Tx) error) (uint64, error) {
	ctx = store.Context(ctx)
	if g.closed.Load() {
		return 0, ErrClosed
	}
	tx := g.set.NewTxn()
	if err := fn(&Tx{tx: tx}); err != nil {
		tx.Abort()
		return 0, err
	}
	return tx.Commit(ctx)
}

// database is one of the group's databases as a database package's Open
// takes it; the types below add Begin, whose result type each package
// names for itself.
type database struct {
	set *store.Set
	id  store.ID
}

func (d database) Reader() pebble.Reader         { return d.set.DB(d.id).Reader() }
func (d database) NewSnapshot() *pebble.Snapshot { return d.set.DB(d.id).NewSnapshot() }
func (d database) Metrics() *pebble.Metrics      { return d.set.DB(d.id).Metrics() }

type messageBoxDatabase struct{ database }

func (d messageBoxDatabase) Begin() messagebox.Txn { return d.set.NewTxn() }

type trackingDatabase struct{ database }

func (d trackingDatabase) Begin() tracking.Txn { return d.set.NewTxn() }

type managementDatabase struct{ database }

func (d managementDatabase) Begin() mgmt.GroupTxn { return d.set.NewTxn() }

type ssoDatabase struct{ database }

func (d ssoDatabase) Begin() sso.Txn { return d.set.NewTxn() }

type rulesDatabase struct{ database }

func (d rulesDatabase) Begin() rules.Txn { return d.set.NewTxn() }

var (
	_ rules.Database      = rulesDatabase{}
	_ messagebox.Database = messageBoxDatabase{}
	_ tracking.Database   = trackingDatabase{}
	_ mgmt.Database       = managementDatabase{}
	_ sso.Database        = ssoDatabase{}
)
