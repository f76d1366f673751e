package sso

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
)

// Keys. Names of applications are kept as given; Windows accounts compare
// without case, so mapping keys hold them lower-cased.

func metaKey(name string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableSSOMeta), name)
}

var (
	formatKey   = metaKey("format")
	secretKey   = metaKey("secret")
	settingsKey = metaKey("settings")
)

// formatVersion is the SSO database's layout. Open refuses newer ones.
const formatVersion = 1

func appKey(name string) []byte {
	return keys.AppendString(keys.AppendTable(nil, keys.TableSSOApplications), name)
}

func appPrefix(t keys.Table, app string) []byte {
	return keys.AppendString(keys.AppendTable(nil, t), app)
}

func mappingKey(app, account string) []byte {
	return keys.AppendString(appPrefix(keys.TableSSOMappings, app), strings.ToLower(account))
}

func configKey(app, identifier string) []byte {
	return keys.AppendString(appPrefix(keys.TableSSOConfig, app), identifier)
}

func auditKey(seq uint64) []byte {
	return keys.AppendUint64(keys.AppendTable(nil, keys.TableSSOAudit), seq)
}

func ticketKey(id []byte) []byte {
	return keys.AppendBytes(keys.AppendTable(nil, keys.TableSSOTickets), id)
}

// Sealable tables: every value in them is a sealed record, re-encrypted by
// a regenerate.
var sealedTables = []keys.Table{keys.TableSSOMappings, keys.TableSSOConfig}

// valueVersion is the format of every value below.
const valueVersion = 1

func decodeErr(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrCorruption, what, err)
}

func encodeApp(a *Application) []byte {
	e := codec.NewEncoder(nil)
	e.Version(valueVersion)
	e.String(a.Name)
	e.String(a.Description)
	e.String(a.Contact)
	e.Uvarint(uint64(a.Type))
	e.Uvarint(uint64(a.Flags))
	e.Bool(a.Disabled)
	e.Bool(a.WindowsInitiated)
	e.Bool(a.HostInitiated)
	encodeStrings(e, a.AdminAccounts)
	encodeStrings(e, a.UserAccounts)
	e.Uvarint(uint64(len(a.Fields)))
	for _, f := range a.Fields {
		e.String(f.Name)
		e.Bool(f.Masked)
	}
	e.Varint(int64(a.TicketTimeout))
	return e.Encoded()
}

func decodeApp(b []byte) (*Application, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(valueVersion); err != nil {
		return nil, decodeErr("application", err)
	}
	a := &Application{}
	a.Name = d.Text()
	a.Description = d.Text()
	a.Contact = d.Text()
	a.Type = AppType(d.Uvarint())
	a.Flags = Flags(d.Uvarint())
	a.Disabled = d.Bool()
	a.WindowsInitiated = d.Bool()
	a.HostInitiated = d.Bool()
	a.AdminAccounts = decodeStrings(d)
	a.UserAccounts = decodeStrings(d)
	n := count(d)
	for range n {
		a.Fields = append(a.Fields, Field{Name: d.Text(), Masked: d.Bool()})
	}
	a.TicketTimeout = time.Duration(d.Varint())
	if err := d.Finish(); err != nil {
		return nil, decodeErr("application", err)
	}
	return a, nil
}

func encodeStrings(e *codec.Encoder, ss []string) {
	e.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

// count reads a uvarint element count and bounds it by the bytes left (every
// element takes at least one), so a corrupt count never becomes a huge
// allocation or loop.
func count(d *codec.Decoder) int {
	n := d.Uvarint()
	if n > uint64(d.Remaining()) {
		// Make the decoder fail: read a length that cannot fit.
		d.Reset(nil)
		d.Uvarint()
		return 0
	}
	return int(n)
}

func decodeStrings(d *codec.Decoder) []string {
	n := count(d)
	var out []string
	for range n {
		out = append(out, d.Text())
	}
	return out
}

// mapping is a mapping's plaintext, sealed in the store.
type mapping struct {
	windows  string
	external string
	fields   [][]byte
}

// String keeps the credentials out of any output.
func (m mapping) String() string {
	return fmt.Sprintf("mapping{%s, %d fields %s}", m.windows, len(m.fields), redacted)
}

// GoString returns String.
func (m mapping) GoString() string { return m.String() }

// Format prints String for every verb.
func (m mapping) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }

func encodeMapping(m *mapping) []byte {
	e := codec.NewEncoder(nil)
	e.Version(valueVersion)
	e.String(m.windows)
	e.String(m.external)
	e.Uvarint(uint64(len(m.fields)))
	for _, f := range m.fields {
		e.Bytes(f)
	}
	return e.Encoded()
}

func decodeMapping(b []byte) (*mapping, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(valueVersion); err != nil {
		return nil, decodeErr("mapping", err)
	}
	m := &mapping{windows: d.Text(), external: d.Text()}
	n := count(d)
	for range n {
		m.fields = append(m.fields, d.BytesCopy())
	}
	if err := d.Finish(); err != nil {
		return nil, decodeErr("mapping", err)
	}
	return m, nil
}

func encodeConfig(c ConfigInfo) []byte {
	e := codec.NewEncoder(nil)
	e.Version(valueVersion)
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	slices.Sort(names)
	e.Uvarint(uint64(len(names)))
	for _, n := range names {
		e.String(n)
		e.Bytes(c[n].b)
	}
	return e.Encoded()
}

func decodeConfig(b []byte) (ConfigInfo, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(valueVersion); err != nil {
		return nil, decodeErr("config info", err)
	}
	n := count(d)
	c := make(ConfigInfo, n)
	for range n {
		name := d.Text()
		c[name] = Secret{b: d.BytesCopy()}
	}
	if err := d.Finish(); err != nil {
		return nil, decodeErr("config info", err)
	}
	return c, nil
}

// secretState is the store's view of the master secret: which generation
// seals records, its key-check value and, from a regenerate on, the link:
// the secret of generation linkTo sealed under generation linkFrom, which
// is how a node holding only the older secret (a passive after a failover,
// a DR copy) learns the newer one through the log.
type secretState struct {
	gen  uint64
	kcv  [kcvLen]byte
	next uint64 // non-zero while a regenerate to it is unfinished
	// nextKCV is next's key-check value.
	nextKCV  [kcvLen]byte
	linkFrom uint64
	linkTo   uint64
	link     []byte
	// prevGen and back, after a regenerate: the previous secret sealed
	// under the current one. It only opens records of the previous
	// generation that a transaction sealed before the regenerate finished
	// and committed after (see SetConfigInfoTx); the next regenerate
	// re-encrypts them. It gives a holder of the current secret nothing a
	// holder of the previous one lacks: the link already leads from it.
	prevGen uint64
	back    []byte
}

// writeGen is the generation new records are sealed with: the next one
// during a regenerate, so the pass never has to revisit them.
func (st *secretState) writeGen() uint64 {
	if st.next != 0 {
		return st.next
	}
	return st.gen
}

func encodeSecretState(st *secretState) []byte {
	e := codec.NewEncoder(nil)
	e.Version(valueVersion)
	e.Uvarint(st.gen)
	e.Bytes(st.kcv[:])
	e.Uvarint(st.next)
	e.Bytes(st.nextKCV[:])
	e.Uvarint(st.linkFrom)
	e.Uvarint(st.linkTo)
	e.Bytes(st.link)
	e.Uvarint(st.prevGen)
	e.Bytes(st.back)
	return e.Encoded()
}

func decodeSecretState(b []byte) (*secretState, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(valueVersion); err != nil {
		return nil, decodeErr("secret state", err)
	}
	st := &secretState{gen: d.Uvarint()}
	kcv := d.Bytes()
	st.next = d.Uvarint()
	nextKCV := d.Bytes()
	st.linkFrom = d.Uvarint()
	st.linkTo = d.Uvarint()
	st.link = d.BytesCopy()
	st.prevGen = d.Uvarint()
	st.back = d.BytesCopy()
	if err := d.Finish(); err != nil {
		return nil, decodeErr("secret state", err)
	}
	if len(kcv) != kcvLen || len(nextKCV) != kcvLen || st.gen == 0 || (st.next != 0 && st.next <= st.gen) ||
		(st.prevGen != 0 && st.prevGen >= st.gen) {
		return nil, corruptf("secret state: bad generations or key-check values")
	}
	copy(st.kcv[:], kcv)
	copy(st.nextKCV[:], nextKCV)
	return st, nil
}

func encodeSettings(s *Settings) []byte {
	e := codec.NewEncoder(nil)
	e.Version(valueVersion)
	e.String(s.AdminGroup)
	e.String(s.AffiliateAdminGroup)
	e.Bool(s.TicketsEnabled)
	e.Bool(s.ValidateTickets)
	e.Varint(int64(s.TicketTimeout))
	return e.Encoded()
}

func decodeSettings(b []byte) (*Settings, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(valueVersion); err != nil {
		return nil, decodeErr("settings", err)
	}
	s := &Settings{AdminGroup: d.Text(), AffiliateAdminGroup: d.Text(), TicketsEnabled: d.Bool(),
		ValidateTickets: d.Bool(), TicketTimeout: time.Duration(d.Varint())}
	if err := d.Finish(); err != nil {
		return nil, decodeErr("settings", err)
	}
	return s, nil
}

// AuditRecord is one access to the SSO system, granted or refused. It
// never holds a secret.
type AuditRecord struct {
	// Seq orders the records.
	Seq uint64
	At  time.Time
	// User is the caller; empty if the call carried no identity.
	User string
	// Op is the call, such as "GetCredentials".
	Op string
	// App is the application, empty for system calls.
	App string
	// Subject is what the call was about within the application: a mapped
	// account, a config identifier.
	Subject string
	Granted bool
	// Reason says why an access was refused or failed, without secrets.
	Reason string
}

func encodeAudit(r *AuditRecord) []byte {
	e := codec.NewEncoder(make([]byte, 0, 64))
	e.Version(valueVersion)
	e.Time(r.At)
	e.String(r.User)
	e.String(r.Op)
	e.String(r.App)
	e.String(r.Subject)
	e.Bool(r.Granted)
	e.String(r.Reason)
	return e.Encoded()
}

func decodeAudit(seq uint64, b []byte) (AuditRecord, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(valueVersion); err != nil {
		return AuditRecord{}, decodeErr("audit record", err)
	}
	r := AuditRecord{Seq: seq, At: d.Time(), User: d.Text(), Op: d.Text(), App: d.Text(), Subject: d.Text(),
		Granted: d.Bool(), Reason: d.Text()}
	if err := d.Finish(); err != nil {
		return AuditRecord{}, decodeErr("audit record", err)
	}
	return r, nil
}

// ticket is a ticket's plaintext, sealed into the string a caller holds.
type ticket struct {
	id      [16]byte
	app     string
	user    string
	groups  []string
	expires time.Time
}

func encodeTicket(t *ticket) []byte {
	e := codec.NewEncoder(nil)
	e.Version(valueVersion)
	e.Bytes(t.id[:])
	e.String(t.app)
	e.String(t.user)
	encodeStrings(e, t.groups)
	e.Time(t.expires)
	return e.Encoded()
}

func decodeTicket(b []byte) (*ticket, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(valueVersion); err != nil {
		return nil, decodeErr("ticket", err)
	}
	t := &ticket{}
	id := d.Bytes()
	t.app, t.user = d.Text(), d.Text()
	t.groups = decodeStrings(d)
	t.expires = d.Time()
	if err := d.Finish(); err != nil {
		return nil, decodeErr("ticket", err)
	}
	if len(id) != len(t.id) {
		return nil, corruptf("ticket: id of %d bytes", len(id))
	}
	copy(t.id[:], id)
	return t, nil
}
