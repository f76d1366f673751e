package messagebox

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Message is a BizTalk message: parts, one of them the body part, and a
// context of typed properties. Messages are immutable once published.
type Message struct {
	// ID identifies the message. Publish assigns a new (version 7) UUID
	// when it is zero.
	ID uuid.UUID
	// Parts are the message's parts. Exactly one is the body part (a
	// single part is the body part even if IsBody is not set).
	Parts []Part
	// Context holds the message's context properties; names are unique.
	Context []Property
	// PublishedAt is set by the store when the message is published.
	PublishedAt time.Time
}

// Part is one part of a message.
type Part struct {
	// Name is the part's name, unique in its message.
	Name string
	// ContentType is the MIME type of Body, such as "text/xml".
	ContentType string
	// Body holds the part's bytes. It must not be nil (an empty, non-nil
	// slice is an empty body). Messages returned by the store own their
	// Body slices.
	Body []byte
	// IsBody marks the body part.
	IsBody bool
}

// Promoted returns a promoted (routable) property.
func Promoted(name string, v Value) Property { return Property{Name: name, Value: v, Promoted: true} }

// Written returns a written property: carried in the context but never
// used for routing.
func Written(name string, v Value) Property { return Property{Name: name, Value: v} }

// NewMessage returns a message with a single body part of content type
// "application/octet-stream" and the given context. Its ID is zero, so
// Publish assigns one.
func NewMessage(body []byte, context ...Property) *Message {
	if body == nil {
		body = []byte{}
	}
	return &Message{
		Parts:   []Part{{Name: "body", ContentType: "application/octet-stream", Body: body, IsBody: true}},
		Context: context,
	}
}

// Property returns the context property called name, in either its short
// or its canonical form (see CanonicalName).
func (m *Message) Property(name string) (Property, bool) {
	name = CanonicalName(name)
	for _, p := range m.Context {
		if CanonicalName(p.Name) == name {
			return p, true
		}
	}
	return Property{}, false
}

// BodyPart returns the message's body part, or nil if it has none.
func (m *Message) BodyPart() *Part {
	for i := range m.Parts {
		if m.Parts[i].IsBody {
			return &m.Parts[i]
		}
	}
	if len(m.Parts) == 1 {
		return &m.Parts[0]
	}
	return nil
}

// promoted returns the value of the promoted property name.
func (m *Message) promoted(name string) (Value, bool) {
	for i := range m.Context {
		if p := &m.Context[i]; p.Name == name && p.Promoted {
			return p.Value, true
		}
	}
	return Value{}, false
}

// validate checks m for Publish.
func (m *Message) validate(maxPromoted int) error {
	if m == nil || len(m.Parts) == 0 {
		return fmt.Errorf("%w: no parts", ErrInvalidMessage)
	}
	bodies := 0
	names := make(map[string]struct{}, len(m.Parts))
	for i, p := range m.Parts {
		if p.Body == nil {
			return fmt.Errorf("%w: part %d (%q) has no body", ErrInvalidMessage, i, p.Name)
		}
		if _, dup := names[p.Name]; dup {
			return fmt.Errorf("%w: duplicate part name %q", ErrInvalidMessage, p.Name)
		}
		names[p.Name] = struct{}{}
		if p.IsBody {
			bodies++
		}
	}
	if bodies > 1 || (bodies == 0 && len(m.Parts) > 1) {
		return fmt.Errorf("%w: %d body parts, want exactly one", ErrInvalidMessage, bodies)
	}
	props := make(map[string]struct{}, len(m.Context))
	for _, p := range m.Context {
		if p.Name == "" {
			return fmt.Errorf("%w: property with an empty name", ErrInvalidMessage)
		}
		name := CanonicalName(p.Name)
		if _, dup := props[name]; dup {
			return fmt.Errorf("%w: duplicate property %q", ErrInvalidMessage, name)
		}
		props[name] = struct{}{}
		if err := p.Value.Check(); err != nil {
			return fmt.Errorf("%w: property %q: %w", ErrInvalidMessage, p.Name, err)
		}
		if p.Value.Type() == TypeText {
			return fmt.Errorf("%w: property %q holds text, a filter's value type; use String", ErrInvalidMessage, p.Name)
		}
		if p.Promoted && p.Value.Length() > maxPromoted {
			return fmt.Errorf("%w: promoted property %q is %d long, limit %d", ErrInvalidMessage, p.Name, p.Value.Length(), maxPromoted)
		}
	}
	return nil
}

// clone returns a deep copy of m with fresh slices.
func (m *Message) clone() *Message {
	c := m.frame()
	for i := range c.Parts {
		c.Parts[i].Body = append([]byte{}, c.Parts[i].Body...)
	}
	return c
}

// frame returns a copy of m whose part and context slices are its own but
// whose bodies are m's. A publish works on a frame: it reads the bodies
// only while the caller's call lasts (they are encoded into the commit),
// so copying them, the largest cost of preparing a message, buys nothing.
func (m *Message) frame() *Message {
	c := *m
	c.Parts = append([]Part(nil), m.Parts...)
	c.Context = append([]Property(nil), m.Context...)
	for i := range c.Context {
		c.Context[i].Name = CanonicalName(c.Context[i].Name)
	}
	if len(c.Parts) == 1 {
		c.Parts[0].IsBody = true
	}
	return &c
}
