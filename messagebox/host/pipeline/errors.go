package pipeline

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownPipeline is returned by Registry.Get for a name no
	// pipeline is registered under.
	ErrUnknownPipeline = errors.New("pipeline: unknown pipeline")
	// ErrDisassembly is wrapped by the errors of XMLDisassembler and
	// XMLTransmit's check: a body that is not well-formed XML, a promoted
	// value that does not convert to its property's type, a promoted path
	// that occurs more than once, or (strict) a message type with no
	// schema.
	ErrDisassembly = errors.New("pipeline: disassembly failed")
	// ErrInvalidSchema is returned by Schemas.Add for a schema without a
	// message type, or with a property or path that cannot be used.
	ErrInvalidSchema = errors.New("pipeline: invalid schema")
	// ErrInvalidPath is wrapped by ParsePath's errors.
	ErrInvalidPath = errors.New("pipeline: invalid path")
)

// StageError reports the stage that failed a pipeline.
type StageError struct {
	// Pipeline is the pipeline's name; Stage the failing stage's index.
	Pipeline string
	Stage    int
	Err      error
}

// Error names the pipeline and the stage.
func (e *StageError) Error() string {
	return fmt.Sprintf("pipeline %s: stage %d: %v", e.Pipeline, e.Stage, e.Err)
}

// Unwrap returns the stage's error.
func (e *StageError) Unwrap() error { return e.Err }
