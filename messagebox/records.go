package messagebox

import (
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/google/uuid"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Format versions of the stored values.
const (
	messageVersion      = 1
	subscriptionVersion = 5 // 2 added Service, Correlation, Ordered, Window; 3 Paused; 4 BackupRetry; 5 Port
	entryVersion        = 2 // 2 added the service instance
	suspendedVersion    = 2 // 2 added the service instance
	fragmentVersion     = 1
	hostVersion         = 2 // 2 added Held
)

// Part codecs, stored per part.
const (
	codecNone = 0
	codecS2   = 1
	codecZstd = 2
)

// zstdEnc and zstdDec are shared: EncodeAll and DecodeAll are safe for
// concurrent use.
var (
	zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	zstdDec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
)

// compress returns the stored form of body under codec c.
func compress(c Compression, body []byte) ([]byte, byte) {
	if c == CompressZstd {
		return zstdEnc.EncodeAll(body, nil), codecZstd
	}
	return s2.Encode(nil, body), codecS2
}

// encodeValue appends v's stored form to e: its type, then its payload.
func encodeValue(e *codec.Encoder, v Value) {
	e.Uvarint(uint64(v.Type()))
	switch v.Type() {
	case TypeString, TypeDecimal, TypeText:
		e.String(v.Str())
	case TypeBytes:
		e.Bytes(v.Bytes())
	case TypeInt64:
		e.Varint(v.Int64())
	case TypeBool:
		var n int64
		if v.Bool() {
			n = 1
		}
		e.Varint(n)
	case TypeTime:
		e.Varint(v.Time().UnixNano())
	case TypeFloat64:
		e.Float64(v.Float64())
	}
}

// decodeValue reads a value written by encodeValue. An unknown type sets
// d's sticky error (a corruption) and returns the zero Value.
func decodeValue(d *codec.Decoder) Value {
	code := d.Uvarint()
	if code > 255 {
		code = 255 // no such type: refused below
	}
	switch t := Type(code); t {
	case 0:
		return Value{}
	case TypeString:
		return String(d.Text())
	case TypeDecimal:
		return Decimal(d.Text())
	case TypeText:
		return Text(d.Text())
	case TypeBytes:
		return Bytes(d.Bytes())
	case TypeInt64:
		return Int64(d.Varint())
	case TypeTime:
		return Time(time.Unix(0, d.Varint()))
	case TypeBool:
		return Bool(d.Varint() == 1)
	case TypeFloat64:
		return Float64(d.Float64())
	}
	if d.Err() == nil {
		// Force the sticky error with a read past the end.
		d.Reset(nil)
		d.Uvarint()
	}
	return Value{}
}

// fragment is a fragment write produced by encodeMessage.
type fragment struct {
	part, idx int
	data      []byte
}

// encodeMessage encodes m's record into dst. Parts whose stored size
// exceeds fragSize are split into fragments, returned for the caller to
// write; fragmented reports whether there were any.
func encodeMessage(dst []byte, m *Message, fragSize, compressAbove int, comp Compression) (rec []byte, frags []fragment) {
	e := codec.NewEncoder(dst)
	e.Version(messageVersion)
	e.Varint(m.PublishedAt.UnixNano())
	e.Uvarint(uint64(len(m.Context)))
	for _, p := range m.Context {
		e.String(p.Name)
		e.Bool(p.Promoted)
		encodeValue(e, p.Value)
	}
	e.Uvarint(uint64(len(m.Parts)))
	for pi, p := range m.Parts {
		e.String(p.Name)
		e.String(p.ContentType)
		e.Bool(p.IsBody)
		stored, c := p.Body, byte(codecNone)
		if compressAbove >= 0 && len(p.Body) > compressAbove {
			if z, zc := compress(comp, p.Body); len(z) <= len(p.Body)-len(p.Body)/8 {
				stored, c = z, zc
			}
		}
		e.Uvarint(uint64(c))
		e.Uvarint(uint64(len(p.Body)))
		if len(stored) <= fragSize {
			e.Uvarint(0)
			e.Bytes(stored)
			continue
		}
		n := (len(stored) + fragSize - 1) / fragSize
		e.Uvarint(uint64(n))
		for i := 0; i < n; i++ {
			chunk := stored[i*fragSize : min((i+1)*fragSize, len(stored))]
			fe := codec.NewEncoder(make([]byte, 0, len(chunk)+8))
			fe.Version(fragmentVersion)
			fe.Bytes(chunk)
			frags = append(frags, fragment{part: pi, idx: i, data: fe.Encoded()})
		}
	}
	return e.Encoded(), frags
}

// storedPart is a decoded part header; body is nil for a fragmented part.
type storedPart struct {
	codec  byte
	rawLen int
	nfrag  int
}

// decodeMessage decodes a message record. Inline bodies are copied (and
// decompressed); fragmented parts are left with a nil Body and described in
// the returned headers for the caller to read.
func decodeMessage(id uuid.UUID, b []byte) (*Message, []storedPart, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(messageVersion); err != nil {
		return nil, nil, corruption("message record", err)
	}
	m := &Message{ID: id}
	if n := d.Varint(); d.Err() == nil {
		m.PublishedAt = time.Unix(0, n).UTC()
	}
	np := d.Uvarint()
	if np > uint64(d.Remaining()) {
		return nil, nil, corruption("message record", fmt.Errorf("%d properties in %d bytes", np, d.Remaining()))
	}
	if np > 0 {
		m.Context = make([]Property, 0, codec.Prealloc(np))
	}
	for i := uint64(0); i < np && d.Err() == nil; i++ {
		var p Property
		// Records written before names were canonical may hold the short
		// form; Canonical leaves a canonical name as it is, unallocated.
		p.Name = CanonicalName(d.Text())
		p.Promoted = d.Bool()
		p.Value = decodeValue(d)
		m.Context = append(m.Context, p)
	}
	nparts := d.Uvarint()
	if nparts > uint64(d.Remaining()) {
		return nil, nil, corruption("message record", fmt.Errorf("%d parts in %d bytes", nparts, d.Remaining()))
	}
	hdrs := make([]storedPart, 0, codec.Prealloc(nparts))
	m.Parts = make([]Part, 0, codec.Prealloc(nparts))
	for i := uint64(0); i < nparts && d.Err() == nil; i++ {
		var p Part
		p.Name = d.Text()
		p.ContentType = d.Text()
		p.IsBody = d.Bool()
		var h storedPart
		h.codec = byte(d.Uvarint())
		h.rawLen = int(d.Uvarint())
		h.nfrag = int(d.Uvarint())
		if h.nfrag == 0 && d.Err() == nil {
			body, err := decodeBody(d.Bytes(), h.codec, h.rawLen)
			if err != nil {
				return nil, nil, err
			}
			p.Body = body
		}
		hdrs = append(hdrs, h)
		m.Parts = append(m.Parts, p)
	}
	if err := d.Finish(); err != nil {
		return nil, nil, corruption("message record", err)
	}
	return m, hdrs, nil
}

// decodeBody returns a copy of the raw bytes of a stored body.
func decodeBody(stored []byte, c byte, rawLen int) ([]byte, error) {
	switch c {
	case codecNone:
		if len(stored) != rawLen {
			return nil, corruption("body", fmt.Errorf("%d bytes, header says %d", len(stored), rawLen))
		}
		return append(make([]byte, 0, rawLen), stored...), nil
	case codecS2:
		n, err := s2.DecodedLen(stored)
		if err != nil || n != rawLen {
			return nil, corruption("body", fmt.Errorf("s2 length %d (%v), header says %d", n, err, rawLen))
		}
		out, err := s2.Decode(make([]byte, rawLen), stored)
		if err != nil {
			return nil, corruption("body", err)
		}
		return out, nil
	case codecZstd:
		out, err := zstdDec.DecodeAll(stored, make([]byte, 0, rawLen))
		if err != nil {
			return nil, corruption("body", err)
		}
		if len(out) != rawLen {
			return nil, corruption("body", fmt.Errorf("zstd gave %d bytes, header says %d", len(out), rawLen))
		}
		return out, nil
	}
	return nil, corruption("body", fmt.Errorf("unknown codec %d", c))
}

func encodeSubscription(s *Subscription) []byte {
	e := codec.NewEncoder(nil)
	e.Version(subscriptionVersion)
	e.String(s.Name)
	e.String(s.Host)
	e.Uvarint(uint64(s.Kind))
	e.UUID(s.InstanceID)
	e.Uvarint(uint64(s.Priority))
	e.Uvarint(uint64(s.Retry.Count))
	e.Varint(int64(s.Retry.Interval))
	e.String(s.BackupHost)
	e.Uvarint(uint64(len(s.Predicate)))
	for _, g := range s.Predicate {
		e.Uvarint(uint64(len(g)))
		for _, c := range g {
			e.String(c.Property)
			e.Uvarint(uint64(c.Op))
			encodeValue(e, c.Value)
		}
	}
	e.String(s.Service)
	e.Uvarint(uint64(len(s.Correlation)))
	for _, p := range s.Correlation {
		e.String(p)
	}
	e.Uvarint(uint64(s.Ordered))
	var start, stop time.Duration
	if s.Window != nil {
		start, stop = s.Window.Start, s.Window.Stop
	}
	e.Varint(int64(start))
	e.Varint(int64(stop))
	e.Bool(s.Paused)
	e.Bool(s.BackupRetry != nil)
	if s.BackupRetry != nil {
		e.Uvarint(uint64(s.BackupRetry.Count))
		e.Varint(int64(s.BackupRetry.Interval))
	}
	e.String(s.Port)
	return e.Encoded()
}

func decodeSubscription(id uuid.UUID, b []byte) (*Subscription, error) {
	d := codec.NewDecoder(b)
	ver, err := d.ExpectVersion(subscriptionVersion)
	if err != nil {
		return nil, corruption("subscription record", err)
	}
	s := &Subscription{ID: id}
	s.Name = d.Text()
	s.Host = d.Text()
	s.Kind = Kind(d.Uvarint())
	s.InstanceID = d.UUID()
	s.Priority = int(d.Uvarint())
	s.Retry = &RetryPolicy{Count: int(d.Uvarint()), Interval: time.Duration(d.Varint())}
	s.BackupHost = d.Text()
	ng := d.Uvarint()
	if ng > uint64(d.Remaining()) {
		return nil, corruption("subscription record", fmt.Errorf("%d groups in %d bytes", ng, d.Remaining()))
	}
	for i := uint64(0); i < ng && d.Err() == nil; i++ {
		nc := d.Uvarint()
		if nc > uint64(d.Remaining()) {
			return nil, corruption("subscription record", fmt.Errorf("%d conditions in %d bytes", nc, d.Remaining()))
		}
		g := make(Group, 0, codec.Prealloc(nc))
		for j := uint64(0); j < nc && d.Err() == nil; j++ {
			var c Condition
			c.Property = d.Text()
			c.Op = Op(d.Uvarint())
			c.Value = decodeValue(d)
			g = append(g, c)
		}
		s.Predicate = append(s.Predicate, g)
	}
	if ver >= 2 {
		s.Service = d.Text()
		n := d.Uvarint()
		if n > uint64(d.Remaining()) {
			return nil, corruption("subscription record", fmt.Errorf("%d correlation properties in %d bytes", n, d.Remaining()))
		}
		for i := uint64(0); i < n && d.Err() == nil; i++ {
			s.Correlation = append(s.Correlation, d.Text())
		}
		s.Ordered = Ordering(d.Uvarint())
		start, stop := time.Duration(d.Varint()), time.Duration(d.Varint())
		if start != 0 || stop != 0 {
			s.Window = &ServiceWindow{Start: start, Stop: stop}
		}
	}
	if ver >= 3 {
		s.Paused = d.Bool()
	}
	if ver >= 4 && d.Bool() {
		s.BackupRetry = &RetryPolicy{Count: int(d.Uvarint()), Interval: time.Duration(d.Varint())}
	}
	if ver >= 5 {
		s.Port = d.Text()
	}
	if err := d.Finish(); err != nil {
		return nil, corruption("subscription record", err)
	}
	return s, nil
}

// Entry flags.
const (
	flagBackup     = 1 << 0 // the entry is on its subscription's backup host
	flagFragmented = 1 << 1 // its message has fragments to delete with it
	flagResumable  = 1 << 2 // (suspended) can be resumed
)

// entryRec is the stored part of a queue or suspended entry.
type entryRec struct {
	msg        uuid.UUID
	sub        uuid.UUID
	flags      uint8
	attempts   uint32
	deliveries uint32
	at         int64 // queue: visible at (UnixNano, 0 = now); suspended: suspended at
	reason     string
	inst       uuid.UUID // the service instance it is routed to, if any

	// Suspended entries only.
	host string
	prio uint8
	kind uint8 // subscription kind, 0 for a routing failure
	near []Near
}

func encodeEntry(dst []byte, r *entryRec) []byte {
	e := codec.NewEncoder(dst)
	e.Version(entryVersion)
	e.UUID(r.msg)
	e.UUID(r.sub)
	e.Uvarint(uint64(r.flags))
	e.Uvarint(uint64(r.attempts))
	e.Uvarint(uint64(r.deliveries))
	e.Varint(r.at)
	e.String(r.reason)
	e.UUID(r.inst)
	return e.Encoded()
}

func decodeEntry(b []byte) (entryRec, error) {
	var r entryRec
	d := codec.NewDecoder(b)
	ver, err := d.ExpectVersion(entryVersion)
	if err != nil {
		return r, corruption("queue entry", err)
	}
	r.msg = d.UUID()
	r.sub = d.UUID()
	r.flags = uint8(d.Uvarint())
	r.attempts = uint32(d.Uvarint())
	r.deliveries = uint32(d.Uvarint())
	r.at = d.Varint()
	r.reason = d.Text()
	if ver >= 2 {
		r.inst = d.UUID()
	}
	if err := d.Finish(); err != nil {
		return r, corruption("queue entry", err)
	}
	return r, nil
}

func encodeSuspended(r *entryRec) []byte {
	e := codec.NewEncoder(nil)
	e.Version(suspendedVersion)
	e.UUID(r.msg)
	e.UUID(r.sub)
	e.Uvarint(uint64(r.flags))
	e.Uvarint(uint64(r.attempts))
	e.Uvarint(uint64(r.deliveries))
	e.Varint(r.at)
	e.String(r.reason)
	e.String(r.host)
	e.Uvarint(uint64(r.prio))
	e.Uvarint(uint64(r.kind))
	e.Uvarint(uint64(len(r.near)))
	for _, n := range r.near {
		e.UUID(n.Subscription)
		e.String(n.Name)
		e.String(n.Host)
		e.Uvarint(uint64(n.Holding))
		e.Uvarint(uint64(n.Of))
		e.String(n.Failed)
	}
	e.UUID(r.inst)
	return e.Encoded()
}

func decodeSuspended(b []byte) (entryRec, error) {
	var r entryRec
	d := codec.NewDecoder(b)
	ver, err := d.ExpectVersion(suspendedVersion)
	if err != nil {
		return r, corruption("suspended entry", err)
	}
	r.msg = d.UUID()
	r.sub = d.UUID()
	r.flags = uint8(d.Uvarint())
	r.attempts = uint32(d.Uvarint())
	r.deliveries = uint32(d.Uvarint())
	r.at = d.Varint()
	r.reason = d.Text()
	r.host = d.Text()
	r.prio = uint8(d.Uvarint())
	r.kind = uint8(d.Uvarint())
	n := d.Uvarint()
	if n > uint64(d.Remaining()) {
		return r, corruption("suspended entry", fmt.Errorf("%d near misses in %d bytes", n, d.Remaining()))
	}
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		var x Near
		x.Subscription = d.UUID()
		x.Name = d.Text()
		x.Host = d.Text()
		x.Holding = int(d.Uvarint())
		x.Of = int(d.Uvarint())
		x.Failed = d.Text()
		r.near = append(r.near, x)
	}
	if ver >= 2 {
		r.inst = d.UUID()
	}
	if err := d.Finish(); err != nil {
		return r, corruption("suspended entry", err)
	}
	return r, nil
}

func encodeHost(name string, held bool) []byte {
	e := codec.NewEncoder(nil)
	e.Version(hostVersion)
	e.String(name)
	e.Bool(held)
	return e.Encoded()
}

// decodeHostHeld reads whether a host record says its queue is held.
func decodeHostHeld(b []byte) (bool, error) {
	d := codec.NewDecoder(b)
	ver, err := d.ExpectVersion(hostVersion)
	if err != nil {
		return false, corruption("host record", err)
	}
	_ = d.Text()
	held := ver >= 2 && d.Bool()
	if err := d.Finish(); err != nil {
		return false, corruption("host record", err)
	}
	return held, nil
}

func decodeFragment(b []byte) ([]byte, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(fragmentVersion); err != nil {
		return nil, corruption("fragment", err)
	}
	v := d.Bytes()
	if err := d.Finish(); err != nil {
		return nil, corruption("fragment", err)
	}
	return v, nil
}
