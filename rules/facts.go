package rules

import (
	"context"
	"fmt"
	"io"
	"maps"
	"reflect"
	"sync"

	"github.com/antchfx/xmlquery"
)

// Registry binds the fact types a policy names to Go: .NET class names to
// registered Go types, and database tables to table sources. XML documents
// need no registration: a binding's document type is matched against
// [XMLDocument.Type]. A Registry is safe for concurrent use; a policy
// translated with it keeps what it resolved, so later registrations affect
// only later translations.
type Registry struct {
	// mu guards types and tables.
	mu     sync.RWMutex
	types  map[string]reflect.Type
	tables map[string]TableSource
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{types: map[string]reflect.Type{}, tables: map[string]TableSource{}}
}

// RegisterType binds the class name that policies use (such as
// "SolidsoftReply.Esb.Libraries.Facts.Interchange", or just "Interchange")
// to the dynamic type of sample, which should be a pointer to a struct so
// that setters can write to it. A class binding in a policy is looked up by
// its namespace and class, then by its class alone. Members are found by
// name when the policy is translated: "get_X" reads method X, GetX or field
// X; "set_X" calls SetX or writes field X; any other member calls the
// method of that name, or reads or writes the field of that name. It fails
// with ErrInvalid for an empty name, a nil sample or a type whose values
// cannot identify a fact (not comparable).
func (r *Registry) RegisterType(name string, sample any) error {
	if name == "" || sample == nil {
		return fmt.Errorf("%w: RegisterType needs a name and a sample value", ErrInvalid)
	}
	t := reflect.TypeOf(sample)
	if !t.Comparable() {
		return fmt.Errorf("%w: type %s is not comparable; register a pointer", ErrInvalid, t)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.types[name] = t
	return nil
}

// TableSource supplies the rows of one database table to the policies that
// bind it (BRL <datarow> bindings). Rows is called once per execution.
type TableSource interface {
	Rows(ctx context.Context) ([]*Row, error)
}

// RegisterTable binds the dataset and table that policies name to src.
// src may be nil: the rows are then asserted by the caller. Either way a
// policy that binds a table not registered fails to translate.
func (r *Registry) RegisterTable(dataset, table string, src TableSource) error {
	if table == "" {
		return fmt.Errorf("%w: RegisterTable needs a table name", ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tables[dataset+"."+table] = src
	return nil
}

func (r *Registry) lookupType(names ...string) (reflect.Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, n := range names {
		if t, ok := r.types[n]; ok {
			return t, true
		}
	}
	return nil, false
}

func (r *Registry) lookupTable(dataset, table string) (TableSource, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	src, ok := r.tables[dataset+"."+table]
	return src, ok
}

// XMLDocument is an XML document asserted as a fact: BizTalk's
// TypedXmlDocument. Type is the document type that policies' XML bindings
// name (their doctype, such as "Lab12.Order"); each binding's selector picks
// the nodes that become facts, and its fields are read and written by XPath
// relative to them. Setters write into Root, so the caller sees the result
// in the same tree. A document is not safe for concurrent use: run one
// execution on it at a time.
type XMLDocument struct {
	Type string
	Root *xmlquery.Node
}

// ParseXMLDocument reads an XML document for a fact of document type typ.
func ParseXMLDocument(typ string, r io.Reader) (*XMLDocument, error) {
	root, err := xmlquery.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%w: parse XML document %s: %w", ErrFact, typ, err)
	}
	return &XMLDocument{Type: typ, Root: root}, nil
}

// String renders the document as XML.
func (d *XMLDocument) String() string { return d.Root.OutputXML(false) }

// Row is one database row asserted as a fact (BRL <datarow> bindings). Its
// columns are read and written by name. A Row is not safe for concurrent
// use.
type Row struct {
	Dataset, Table string
	cols           map[string]any
}

// NewRow returns a row of dataset.table with the given columns (copied).
func NewRow(dataset, table string, cols map[string]any) *Row {
	return &Row{Dataset: dataset, Table: table, cols: maps.Clone(cols)}
}

// Get returns the value of a column.
func (r *Row) Get(col string) (any, bool) {
	v, ok := r.cols[col]
	return v, ok
}

// Set writes a column.
func (r *Row) Set(col string, v any) {
	if r.cols == nil {
		r.cols = map[string]any{}
	}
	r.cols[col] = v
}

// StaticTable is a TableSource over a fixed slice of rows.
type StaticTable []*Row

// Rows implements TableSource.
func (t StaticTable) Rows(context.Context) ([]*Row, error) { return t, nil }

var _ TableSource = StaticTable(nil)
