package bam

import (
	"slices"
	"time"

	"github.com/biztier/biztier/internal/codec"
)

// Value formats. Every value starts with its format-version byte; decoders
// accept every version ever written, encoders write the current one.
const (
	instanceVersion = 1
	eventVersion    = 1
	contVersion     = 1
	cellVersion     = 1
	catalogVersion  = 1
	historyVersion  = 1
	profileVersion  = 1
	// maxItems bounds every count a decoder reads, so a corrupt count
	// cannot become a huge allocation.
	maxItems = 1 << 20
)

// field is one checkpoint value of an instance, by checkpoint name: names,
// not positions, so an update that adds checkpoints leaves every stored
// instance readable.
type field struct {
	name string
	v    Value
}

// Reference is a link from an activity instance to something else: a
// related activity instance (Type "Activity", Name the activity, Data its
// ID), a document, a URL, or any type the caller names. LongData holds
// what does not fit Data (BizTalk keeps up to 1,024 characters in Data).
type Reference struct {
	Type, Name, Data, LongData string
}

// instance is an activity instance record: one per instance, in the Active
// table until it completes, then in the Completed table.
type instance struct {
	id           string
	begun, ended bool
	fields       []field // sorted by name
	// tokens are every continuation token enabled for the instance;
	// pending are those whose segment has not ended.
	tokens, pending []string
	refs            []Reference
	created         time.Time // first event
	modified        time.Time // last event
	completed       time.Time // zero while active
}

func (in *instance) get(name string) Value {
	i, ok := slices.BinarySearchFunc(in.fields, name, func(f field, n string) int { return cmpString(f.name, n) })
	if !ok {
		return Value{}
	}
	return in.fields[i].v
}

func (in *instance) set(name string, v Value) {
	i, ok := slices.BinarySearchFunc(in.fields, name, func(f field, n string) int { return cmpString(f.name, n) })
	if ok {
		in.fields[i].v = v
		return
	}
	in.fields = slices.Insert(in.fields, i, field{name, v})
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func encodeValue(e *codec.Encoder, v Value) {
	e.String(string(v.typ))
	switch v.typ {
	case DateTime:
		e.Varint(v.t.Unix())
		e.Uvarint(uint64(v.t.Nanosecond()))
	case NVarChar, Decimal:
		e.String(v.s)
	case Int:
		e.Varint(v.i)
	case Float:
		e.Float64(v.f)
	}
}

func decodeValue(d *codec.Decoder) Value {
	v := Value{typ: DataType(d.Text())}
	switch v.typ {
	case DateTime:
		sec := d.Varint()
		ns := d.Uvarint()
		if ns >= 1e9 {
			return Value{typ: "?"}
		}
		v.t = time.Unix(sec, int64(ns)).UTC()
	case NVarChar, Decimal:
		v.s = d.Text()
	case Int:
		v.i = d.Varint()
	case Float:
		v.f = d.Float64()
	case "":
	default:
		return Value{typ: "?"}
	}
	return v
}

func encodeStrings(e *codec.Encoder, ss []string) {
	e.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

func decodeStrings(d *codec.Decoder) []string {
	n := d.Uvarint()
	if n > maxItems {
		return nil
	}
	var out []string
	for range n {
		if d.Err() != nil {
			return nil
		}
		out = append(out, d.Text())
	}
	return out
}

func encodeRef(e *codec.Encoder, r Reference) {
	e.String(r.Type)
	e.String(r.Name)
	e.String(r.Data)
	e.String(r.LongData)
}

func decodeRef(d *codec.Decoder) Reference {
	return Reference{Type: d.Text(), Name: d.Text(), Data: d.Text(), LongData: d.Text()}
}

func encodeInstance(dst []byte, in *instance) []byte {
	e := codec.NewEncoder(dst)
	e.Version(instanceVersion)
	e.String(in.id)
	e.Bool(in.begun)
	e.Bool(in.ended)
	e.Uvarint(uint64(len(in.fields)))
	for _, f := range in.fields {
		e.String(f.name)
		encodeValue(e, f.v)
	}
	encodeStrings(e, in.tokens)
	encodeStrings(e, in.pending)
	e.Uvarint(uint64(len(in.refs)))
	for _, r := range in.refs {
		encodeRef(e, r)
	}
	e.Time(in.created)
	e.Time(in.modified)
	e.Time(in.completed)
	return e.Encoded()
}

func decodeInstance(b []byte) (*instance, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(instanceVersion); err != nil {
		return nil, corruptf("instance: %v", err)
	}
	in := &instance{id: d.Text(), begun: d.Bool(), ended: d.Bool()}
	n := d.Uvarint()
	if n > maxItems {
		return nil, corruptf("instance: %d fields", n)
	}
	for range n {
		if d.Err() != nil {
			break
		}
		f := field{name: d.Text(), v: decodeValue(d)}
		if f.v.typ == "?" {
			return nil, corruptf("instance %q: field %q of unknown type", in.id, f.name)
		}
		if len(in.fields) > 0 && in.fields[len(in.fields)-1].name >= f.name {
			return nil, corruptf("instance %q: fields out of order", in.id)
		}
		in.fields = append(in.fields, f)
	}
	in.tokens = decodeStrings(d)
	in.pending = decodeStrings(d)
	n = d.Uvarint()
	if n > maxItems {
		return nil, corruptf("instance: %d references", n)
	}
	for range n {
		if d.Err() != nil {
			break
		}
		in.refs = append(in.refs, decodeRef(d))
	}
	in.created = utc(d.Time())
	in.modified = utc(d.Time())
	in.completed = utc(d.Time())
	if err := d.Finish(); err != nil {
		return nil, corruptf("instance: %v", err)
	}
	return in, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// eventKind is what an event does.
type eventKind uint8

const (
	evBegin eventKind = iota + 1
	evUpdate
	evEnableContinuation
	evReference
	evEnd
	// evComplete completes an instance by hand, whatever its segments
	// say (after a restore, BizTalk's bam_<A>_PrimaryImport @IsComplete=1).
	evComplete
	evMax = evComplete
)

// event is one BAM event: how streams hand events to the folding code, and
// what the spool keeps for the decoder.
type event struct {
	kind     eventKind
	activity string
	id       string
	at       time.Time
	fields   []field   // evUpdate
	token    string    // evEnableContinuation
	ref      Reference // evReference
}

func encodeEvent(dst []byte, ev *event) []byte {
	e := codec.NewEncoder(dst)
	e.Version(eventVersion)
	e.Uvarint(uint64(ev.kind))
	e.String(ev.activity)
	e.String(ev.id)
	e.Time(ev.at)
	switch ev.kind {
	case evUpdate:
		e.Uvarint(uint64(len(ev.fields)))
		for _, f := range ev.fields {
			e.String(f.name)
			encodeValue(e, f.v)
		}
	case evEnableContinuation:
		e.String(ev.token)
	case evReference:
		encodeRef(e, ev.ref)
	}
	return e.Encoded()
}

func decodeEvent(b []byte) (*event, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(eventVersion); err != nil {
		return nil, corruptf("event: %v", err)
	}
	k := d.Uvarint()
	if k == 0 || k > uint64(evMax) {
		return nil, corruptf("event kind %d", k)
	}
	ev := &event{kind: eventKind(k), activity: d.Text(), id: d.Text(), at: utc(d.Time())}
	switch ev.kind {
	case evUpdate:
		n := d.Uvarint()
		if n > maxItems {
			return nil, corruptf("event: %d fields", n)
		}
		for range n {
			if d.Err() != nil {
				break
			}
			f := field{name: d.Text(), v: decodeValue(d)}
			if f.v.typ == "?" || f.v.typ == "" {
				return nil, corruptf("event field %q of unknown type", f.name)
			}
			ev.fields = append(ev.fields, f)
		}
	case evEnableContinuation:
		ev.token = d.Text()
	case evReference:
		ev.ref = decodeRef(d)
	}
	if err := d.Finish(); err != nil {
		return nil, corruptf("event: %v", err)
	}
	return ev, nil
}

// contRec is a continuation token's record: the instance it continues and
// whether its segment has ended.
type contRec struct {
	parent string
	ended  bool
}

func encodeCont(dst []byte, c contRec) []byte {
	e := codec.NewEncoder(dst)
	e.Version(contVersion)
	e.String(c.parent)
	e.Bool(c.ended)
	return e.Encoded()
}

func decodeCont(b []byte) (contRec, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(contVersion); err != nil {
		return contRec{}, corruptf("continuation: %v", err)
	}
	c := contRec{parent: d.Text(), ended: d.Bool()}
	if err := d.Finish(); err != nil {
		return contRec{}, corruptf("continuation: %v", err)
	}
	return c, nil
}

// cell is one real-time aggregation cell: how many instances are in it and,
// per measure, how many have a value and their sum.
type cell struct {
	count int64
	n     []int64
	sum   []float64
}

func (c *cell) add(o *cell, sign int64) {
	c.count += sign * o.count
	for len(c.n) < len(o.n) {
		c.n = append(c.n, 0)
		c.sum = append(c.sum, 0)
	}
	for i := range o.n {
		c.n[i] += sign * o.n[i]
		c.sum[i] += float64(sign) * o.sum[i]
	}
}

// zero reports whether adding c changes nothing (a delta to skip).
func (c *cell) zero() bool {
	if !c.empty() {
		return false
	}
	for _, x := range c.sum {
		if x != 0 {
			return false
		}
	}
	return true
}

// empty reports whether the cell counts nothing: no instance, no value
// (its sums are then zero, up to rounding).
func (c *cell) empty() bool {
	if c.count != 0 {
		return false
	}
	for i := range c.n {
		if c.n[i] != 0 {
			return false
		}
	}
	return true
}

func encodeCell(dst []byte, c *cell) []byte {
	e := codec.NewEncoder(dst)
	e.Version(cellVersion)
	e.Varint(c.count)
	e.Uvarint(uint64(len(c.n)))
	for i := range c.n {
		e.Varint(c.n[i])
		e.Float64(c.sum[i])
	}
	return e.Encoded()
}

func decodeCell(b []byte) (*cell, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(cellVersion); err != nil {
		return nil, corruptf("aggregation cell: %v", err)
	}
	c := &cell{count: d.Varint()}
	n := d.Uvarint()
	if n > maxItems {
		return nil, corruptf("aggregation cell: %d measures", n)
	}
	for range n {
		if d.Err() != nil {
			break
		}
		c.n = append(c.n, d.Varint())
		c.sum = append(c.sum, d.Float64())
	}
	if err := d.Finish(); err != nil {
		return nil, corruptf("aggregation cell: %v", err)
	}
	return c, nil
}

// catalogRec is the deployed definitions: every activity, view and cube in
// force, as one definition document, and the version of each.
type catalogRec struct {
	xml      []byte
	versions map[string]uint32 // by artifact key ("Activity/Order")
	seq      uint64            // last deployment history sequence
}

func encodeCatalog(dst []byte, c *catalogRec) []byte {
	e := codec.NewEncoder(dst)
	e.Version(catalogVersion)
	e.Bytes(c.xml)
	keys := make([]string, 0, len(c.versions))
	for k := range c.versions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.Uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.String(k)
		e.Uvarint(uint64(c.versions[k]))
	}
	e.Uvarint(c.seq)
	return e.Encoded()
}

func decodeCatalog(b []byte) (*catalogRec, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(catalogVersion); err != nil {
		return nil, corruptf("catalog: %v", err)
	}
	c := &catalogRec{xml: d.BytesCopy(), versions: map[string]uint32{}}
	n := d.Uvarint()
	if n > maxItems {
		return nil, corruptf("catalog: %d versions", n)
	}
	for range n {
		if d.Err() != nil {
			break
		}
		k := d.Text()
		c.versions[k] = uint32(d.Uvarint())
	}
	c.seq = d.Uvarint()
	if err := d.Finish(); err != nil {
		return nil, corruptf("catalog: %v", err)
	}
	return c, nil
}

// Deployment is one entry of the deployment history: what was deployed,
// updated or removed, when, and the document as given.
type Deployment struct {
	Seq  uint64
	Op   string // "deploy", "update" or "remove"
	At   time.Time
	By   string
	Text []byte // the definition, exported in UTF-8
	// Versions are the versions of the artifacts the operation touched
	// after it, by "Activity/<name>", "View/<name>" or "Cube/<name>";
	// 0 for a removed one.
	Versions map[string]uint32
}

func encodeHistory(dst []byte, h *Deployment) []byte {
	e := codec.NewEncoder(dst)
	e.Version(historyVersion)
	e.String(h.Op)
	e.Time(h.At)
	e.String(h.By)
	e.Bytes(h.Text)
	keys := make([]string, 0, len(h.Versions))
	for k := range h.Versions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.Uvarint(uint64(len(keys)))
	for _, k := range keys {
		e.String(k)
		e.Uvarint(uint64(h.Versions[k]))
	}
	return e.Encoded()
}

func decodeHistory(seq uint64, b []byte) (*Deployment, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(historyVersion); err != nil {
		return nil, corruptf("deployment: %v", err)
	}
	h := &Deployment{Seq: seq, Op: d.Text(), At: utc(d.Time()), By: d.Text(), Text: d.BytesCopy(), Versions: map[string]uint32{}}
	n := d.Uvarint()
	if n > maxItems {
		return nil, corruptf("deployment: %d versions", n)
	}
	for range n {
		if d.Err() != nil {
			break
		}
		k := d.Text()
		h.Versions[k] = uint32(d.Uvarint())
	}
	if err := d.Finish(); err != nil {
		return nil, corruptf("deployment: %v", err)
	}
	return h, nil
}
