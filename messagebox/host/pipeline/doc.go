// Package pipeline runs BizTalk's receive and send pipelines on messages
// before they are published and before they are sent: a Pipeline is an
// ordered list of stages, each a Go function, found by name in a Registry
// the way a binding file names a port's pipeline
// ("Microsoft.BizTalk.DefaultPipelines.XMLReceive").
//
// # Default pipelines
//
// NewRegistry registers BizTalk's four default pipelines:
//
//   - PassThruReceive and PassThruTransmit leave the message as it is;
//   - XMLReceive runs XMLDisassembler: it reads the body with a streaming
//     XML decoder (no document tree is built), promotes BTS.MessageType as
//     namespace#root, and promotes every property the document's Schema
//     maps to a path in it;
//   - XMLTransmit checks that the body is one well-formed XML document
//     (it does not wrap envelopes).
//
// A stage's failure stops the pipeline with a *StageError; a disassembly
// failure wraps ErrDisassembly, and the host runtime suspends the message
// with that error, as BizTalk does.
//
// Stages are functions: a custom stage is a closure over whatever it needs
// (a lookup table, a map), registered in a Pipeline of its own.
package pipeline
