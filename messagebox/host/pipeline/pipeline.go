package pipeline

import (
	"context"

	"github.com/biztier/biztier/messagebox"
)

// Stage is one step of a pipeline. It gets one message and returns the
// messages that go on to the next stage: usually one (the message itself,
// changed or not), several for a disassembler that splits an interchange,
// none to drop it. The message is the stage's to change or replace.
type Stage func(ctx context.Context, m *messagebox.Message) ([]*messagebox.Message, error)

// Pipeline is an ordered list of stages. It is safe for concurrent use if
// its stages are.
type Pipeline struct {
	// Name is the name it is registered and reported under.
	Name string
	// Stages run in order; each runs on every message the one before it
	// returned.
	Stages []Stage
}

// New returns a pipeline of the stages.
func New(name string, stages ...Stage) *Pipeline {
	return &Pipeline{Name: name, Stages: stages}
}

// Run runs m through every stage and returns what comes out. A stage's
// error stops it and is returned as a *StageError.
func (p *Pipeline) Run(ctx context.Context, m *messagebox.Message) ([]*messagebox.Message, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	msgs := []*messagebox.Message{m}
	for i, st := range p.Stages {
		var next []*messagebox.Message
		for _, in := range msgs {
			out, err := st(ctx, in)
			if err != nil {
				return nil, &StageError{Pipeline: p.Name, Stage: i, Err: err}
			}
			next = append(next, out...)
		}
		msgs = next
	}
	return msgs, nil
}
