package event

import (
	"fmt"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/sentinel"
)

// ErrCorrupt marks a staged record that does not decode.
var ErrCorrupt = sentinel.New("event: corrupt record", sentinel.ErrCorruption)

// version is the record layout. It only moves forward.
const version = 1

const (
	flagActivation = 1 << iota
	flagMessage
	flagBody
)

// Encode appends the record of evs to dst: the events of one commit.
func Encode(dst []byte, evs []Event) []byte {
	e := codec.NewEncoder(dst)
	e.Version(version)
	e.Uvarint(uint64(len(evs)))
	for i := range evs {
		ev := &evs[i]
		var flags uint64
		if ev.Activation {
			flags |= flagActivation
		}
		if ev.Message != nil {
			flags |= flagMessage
			if ev.Message.Body != nil {
				flags |= flagBody
			}
		}
		e.Uvarint(uint64(ev.Kind))
		e.Uvarint(flags)
		e.Varint(ev.At)
		e.UUID(ev.MessageID)
		e.Uvarint(ev.Entry)
		e.UUID(ev.Subscription)
		e.String(ev.Port)
		e.String(ev.Service)
		e.String(ev.Host)
		e.String(ev.Reason)
		e.UUID(ev.Instance)
		if m := ev.Message; m != nil {
			e.Varint(m.Size)
			e.String(m.ReceivePort)
			e.String(m.Adapter)
			e.String(m.URL)
			encodeProps(e, m.Properties)
			if b := m.Body; b != nil {
				encodeProps(e, b.Context)
				e.Uvarint(uint64(len(b.Parts)))
				for _, p := range b.Parts {
					e.String(p.Name)
					e.String(p.ContentType)
					e.Bytes(p.Data)
				}
			}
		}
	}
	return e.Encoded()
}

func encodeProps(e *codec.Encoder, ps []Property) {
	e.Uvarint(uint64(len(ps)))
	for _, p := range ps {
		e.String(p.Name)
		e.String(p.Value)
	}
}

// Decode appends the events of record to dst. Strings and part data are
// copies: the record may be reused once Decode returns.
func Decode(dst []Event, record []byte) ([]Event, error) {
	d := codec.NewDecoder(record)
	if _, err := d.ExpectVersion(version); err != nil {
		return dst, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	n := d.Uvarint()
	dst = growEvents(dst, n)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		var ev Event
		kind := d.Uvarint()
		if kind == 0 || kind > uint64(maxKind) {
			return dst, fmt.Errorf("%w: event kind %d", ErrCorrupt, kind)
		}
		ev.Kind = Kind(kind)
		flags := d.Uvarint()
		ev.Activation = flags&flagActivation != 0
		ev.At = d.Varint()
		ev.MessageID = d.UUID()
		ev.Entry = d.Uvarint()
		ev.Subscription = d.UUID()
		ev.Port = d.Text()
		ev.Service = d.Text()
		ev.Host = d.Text()
		ev.Reason = d.Text()
		ev.Instance = d.UUID()
		if flags&flagMessage != 0 {
			m := &Message{Size: d.Varint(), ReceivePort: d.Text(), Adapter: d.Text(), URL: d.Text()}
			m.Properties = decodeProps(d)
			if flags&flagBody != 0 {
				b := &Body{Context: decodeProps(d)}
				np := d.Uvarint()
				b.Parts = make([]Part, 0, codec.Prealloc(np))
				for j := uint64(0); j < np && d.Err() == nil; j++ {
					b.Parts = append(b.Parts, Part{Name: d.Text(), ContentType: d.Text(), Data: d.BytesCopy()})
				}
				m.Body = b
			}
			ev.Message = m
		}
		dst = append(dst, ev)
	}
	if err := d.Finish(); err != nil {
		return dst, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return dst, nil
}

func growEvents(dst []Event, n uint64) []Event {
	if free := cap(dst) - len(dst); uint64(free) < n {
		out := make([]Event, len(dst), len(dst)+codec.Prealloc(n))
		copy(out, dst)
		return out
	}
	return dst
}

func decodeProps(d *codec.Decoder) []Property {
	n := d.Uvarint()
	if n == 0 {
		return nil
	}
	ps := make([]Property, 0, codec.Prealloc(n))
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		ps = append(ps, Property{Name: d.Text(), Value: d.Text()})
	}
	return ps
}
