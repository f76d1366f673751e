package pipeline

import (
	"fmt"
	"sync"

	"github.com/biztier/biztier/messagebox"
)

// Promotion maps a property to a path in a document, as a BizTalk schema's
// property promotions do.
type Promotion struct {
	// Property is the promoted property, "namespace#name" or with a
	// built-in short prefix.
	Property string
	// Path locates the value (see ParsePath).
	Path string
	// Type is the property's type, as its property schema declares it.
	// Defaults to messagebox.TypeString.
	Type messagebox.Type
}

// Schema is what the XML disassembler knows of one document type.
type Schema struct {
	// MessageType is the document's type, "namespace#root" (just "root"
	// for a document with no namespace).
	MessageType string
	// Promote lists the properties promoted from the document.
	Promote []Promotion
}

// Schemas holds the deployed document schemas the XML disassembler
// promotes by. It is safe for concurrent use.
type Schemas struct {
	// mu guards byType.
	mu     sync.RWMutex
	byType map[string][]promotion
}

// promotion is a compiled Promotion.
type promotion struct {
	property string
	path     Path
	typ      messagebox.Type
}

// NewSchemas returns the schemas given (see Add).
func NewSchemas(schemas ...Schema) (*Schemas, error) {
	s := &Schemas{byType: map[string][]promotion{}}
	for _, sc := range schemas {
		if err := s.Add(sc); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add deploys sc, replacing the schema of the same message type. Errors
// wrap ErrInvalidSchema.
func (s *Schemas) Add(sc Schema) error {
	if sc.MessageType == "" {
		return fmt.Errorf("%w: no message type", ErrInvalidSchema)
	}
	ps := make([]promotion, 0, len(sc.Promote))
	for _, p := range sc.Promote {
		if p.Property == "" {
			return fmt.Errorf("%w: %s: a promotion without a property", ErrInvalidSchema, sc.MessageType)
		}
		path, err := ParsePath(p.Path)
		if err != nil {
			return fmt.Errorf("%w: %s: %s: %w", ErrInvalidSchema, sc.MessageType, p.Property, err)
		}
		typ := p.Type
		if typ == 0 {
			typ = messagebox.TypeString
		}
		if typ == messagebox.TypeText {
			return fmt.Errorf("%w: %s: %s: text is not a property type", ErrInvalidSchema, sc.MessageType, p.Property)
		}
		ps = append(ps, promotion{property: messagebox.CanonicalName(p.Property), path: path, typ: typ})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byType[sc.MessageType] = ps
	return nil
}

// lookup returns the promotions of a message type.
func (s *Schemas) lookup(messageType string) ([]promotion, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps, ok := s.byType[messageType]
	return ps, ok
}
