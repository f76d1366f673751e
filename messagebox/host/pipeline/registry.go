package pipeline

import (
	"fmt"
	"strings"
	"sync"
)

// Names of BizTalk's default pipelines, as binding files write them.
const (
	PassThruReceive  = "Microsoft.BizTalk.DefaultPipelines.PassThruReceive"
	PassThruTransmit = "Microsoft.BizTalk.DefaultPipelines.PassThruTransmit"
	XMLReceive       = "Microsoft.BizTalk.DefaultPipelines.XMLReceive"
	XMLTransmit      = "Microsoft.BizTalk.DefaultPipelines.XMLTransmit"
)

// Registry finds pipelines by name. It is safe for concurrent use.
type Registry struct {
	// mu guards byName.
	mu     sync.RWMutex
	byName map[string]*Pipeline
}

// NewRegistry returns a registry holding BizTalk's default pipelines,
// XMLReceive promoting by schemas (nil: BTS.MessageType only).
func NewRegistry(schemas *Schemas) *Registry {
	r := &Registry{byName: map[string]*Pipeline{}}
	r.Register(New(PassThruReceive))
	r.Register(New(PassThruTransmit))
	r.Register(New(XMLReceive, XMLDisassembler(schemas, false)))
	r.Register(New(XMLTransmit, WellFormed))
	return r
}

// Register adds p under p.Name, replacing a pipeline of that name.
func (r *Registry) Register(p *Pipeline) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byName[p.Name] = p
}

// Get returns the pipeline called name. A binding file's fully qualified
// name ("Name, Assembly, Version=...") finds it by its first part; the
// empty name is a pass-through. ErrUnknownPipeline if none is registered.
func (r *Registry) Get(name string) (*Pipeline, error) {
	name = strings.TrimSpace(name)
	if i := strings.IndexByte(name, ','); i >= 0 {
		name = strings.TrimSpace(name[:i])
	}
	if name == "" {
		return passThru, nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.byName[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownPipeline, name)
}

// passThru is the pipeline of a port that names none.
var passThru = New("")
