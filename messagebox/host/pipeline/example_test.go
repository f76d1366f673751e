package pipeline_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host/pipeline"
)

// Example builds a receive pipeline of the XML disassembler and a custom
// stage, a Go function, that promotes a property of its own.
func Example() {
	schemas, _ := pipeline.NewSchemas(pipeline.Schema{
		MessageType: "urn:shop#Order",
		Promote:     []pipeline.Promotion{{Property: "Shop.Total", Path: "/Order/Total", Type: messagebox.TypeInt64}},
	})
	priority := func(_ context.Context, m *messagebox.Message) ([]*messagebox.Message, error) {
		total, _ := m.Property("Shop.Total")
		level := "normal"
		if total.Value.Int64() > 100 {
			level = "high"
		}
		m.Context = append(m.Context, messagebox.Promoted("Shop.Priority", messagebox.String(level)))
		return []*messagebox.Message{m}, nil
	}
	p := pipeline.New("Shop.OrderReceive", pipeline.XMLDisassembler(schemas, true), priority)

	out, err := p.Run(context.Background(), messagebox.NewMessage([]byte(`<Order xmlns="urn:shop"><Total>250</Total></Order>`)))
	fmt.Println(len(out), err)
	for _, name := range []string{"BTS.MessageType", "Shop.Total", "Shop.Priority"} {
		v, _ := out[0].Property(name)
		fmt.Println(name, v.Value)
	}
	_, err = p.Run(context.Background(), messagebox.NewMessage([]byte(`<Order xmlns="urn:shop"><Total>`)))
	fmt.Println(errors.Is(err, pipeline.ErrDisassembly))
	// Output:
	// 1 <nil>
	// BTS.MessageType "urn:shop#Order"
	// Shop.Total int64(250)
	// Shop.Priority "high"
	// true
}
