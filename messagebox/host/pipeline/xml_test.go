package pipeline

import (
	"context"
	"errors"
	"testing"
	"unicode/utf16"

	"github.com/biztier/biztier/messagebox"
)

func testSchemas(t testing.TB) *Schemas {
	t.Helper()
	s, err := NewSchemas(
		Schema{MessageType: "urn:shop#Order", Promote: []Promotion{
			{Property: "Shop.Id", Path: "/*[local-name()='Order' and namespace-uri()='urn:shop']/@id"},
			{Property: "Shop.Total", Path: "/Order/Total", Type: messagebox.TypeInt64},
			{Property: "Shop.Rush", Path: "/{urn:shop}Order/{urn:shop}Rush", Type: messagebox.TypeBool},
			{Property: "Shop.City", Path: "/Order/ShipTo/City"},
		}},
		Schema{MessageType: "Note"},
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func utf16Doc(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func TestXMLDisassembler(t *testing.T) {
	schemas := testSchemas(t)
	order := `<Order xmlns="urn:shop" id="PO-7"><Total>250</Total><Rush>true</Rush><ShipTo><City>Oslo</City></ShipTo></Order>`
	for _, tc := range []struct {
		name   string
		body   []byte
		strict bool
		want   map[string]messagebox.Value
		err    bool
	}{
		{name: "promotes", body: []byte(order), want: map[string]messagebox.Value{
			"BTS.MessageType": messagebox.String("urn:shop#Order"), "Shop.Id": messagebox.String("PO-7"),
			"Shop.Total": messagebox.Int64(250), "Shop.Rush": messagebox.Bool(true), "Shop.City": messagebox.String("Oslo")}},
		{name: "optional absent", body: []byte(`<Order xmlns="urn:shop"><Total>3</Total></Order>`), want: map[string]messagebox.Value{
			"BTS.MessageType": messagebox.String("urn:shop#Order"), "Shop.Total": messagebox.Int64(3)}},
		{name: "declaration and utf-16", body: utf16Doc(`<?xml version="1.0" encoding="utf-16"?>` + order), want: map[string]messagebox.Value{
			"Shop.City": messagebox.String("Oslo")}},
		{name: "latin-1", body: []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Order xmlns=\"urn:shop\"><ShipTo><City>K\xf8ge</City></ShipTo></Order>"),
			want: map[string]messagebox.Value{"Shop.City": messagebox.String("Køge")}},
		{name: "no namespace", body: []byte(`<Note>hi</Note>`), strict: true, want: map[string]messagebox.Value{"BTS.MessageType": messagebox.String("Note")}},
		{name: "other namespace not promoted", body: []byte(`<Order xmlns="urn:shop"><Rush xmlns="urn:other">true</Rush></Order>`),
			want: map[string]messagebox.Value{"Shop.Rush": {}}},
		{name: "unknown type lenient", body: []byte(`<Invoice xmlns="urn:shop"/>`), want: map[string]messagebox.Value{"BTS.MessageType": messagebox.String("urn:shop#Invoice")}},
		{name: "unknown type strict", body: []byte(`<Invoice xmlns="urn:shop"/>`), strict: true, err: true},
		{name: "not xml", body: []byte(`PO-7;250`), err: true},
		{name: "truncated", body: []byte(order[:40]), err: true},
		{name: "two roots", body: []byte(`<Note/><Note/>`), err: true},
		{name: "bad int", body: []byte(`<Order xmlns="urn:shop"><Total>many</Total></Order>`), err: true},
		{name: "repeated field", body: []byte(`<Order xmlns="urn:shop"><Total>1</Total><Total>2</Total></Order>`), err: true},
		{name: "empty", body: []byte{}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := messagebox.NewMessage(tc.body)
			out, err := XMLDisassembler(schemas, tc.strict)(context.Background(), m)
			if tc.err {
				if !errors.Is(err, ErrDisassembly) {
					t.Fatalf("got %v, want ErrDisassembly", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 {
				t.Fatalf("%d messages out", len(out))
			}
			for name, want := range tc.want {
				p, ok := out[0].Property(name)
				if want.IsZero() {
					if ok {
						t.Errorf("%s promoted as %v", name, p.Value)
					}
					continue
				}
				if !ok || !p.Promoted || p.Value != want {
					t.Errorf("%s = %v (promoted %v), want %v", name, p.Value, p.Promoted, want)
				}
			}
		})
	}
}

func TestRegistry_Get(t *testing.T) {
	r := NewRegistry(nil)
	r.Register(New("Custom.Stamp"))
	for _, name := range []string{"", XMLReceive, XMLTransmit, PassThruReceive, PassThruTransmit, "Custom.Stamp",
		"Microsoft.BizTalk.DefaultPipelines.XMLReceive, Microsoft.BizTalk.DefaultPipelines, Version=3.0.1.0"} {
		if _, err := r.Get(name); err != nil {
			t.Errorf("Get(%q): %v", name, err)
		}
	}
	if _, err := r.Get("Acme.FlatFileReceive"); !errors.Is(err, ErrUnknownPipeline) {
		t.Fatalf("unknown pipeline: %v", err)
	}
}

func TestPipeline_stageError(t *testing.T) {
	boom := errors.New("boom")
	split := func(_ context.Context, m *messagebox.Message) ([]*messagebox.Message, error) {
		return []*messagebox.Message{m, messagebox.NewMessage([]byte("b"))}, nil
	}
	fail := func(_ context.Context, m *messagebox.Message) ([]*messagebox.Message, error) {
		if string(m.BodyPart().Body) == "b" {
			return nil, boom
		}
		return []*messagebox.Message{m}, nil
	}
	out, err := New("split", split).Run(context.Background(), messagebox.NewMessage([]byte("a")))
	if err != nil || len(out) != 2 {
		t.Fatalf("split: %d, %v", len(out), err)
	}
	_, err = New("p", split, fail).Run(context.Background(), messagebox.NewMessage([]byte("a")))
	var se *StageError
	if !errors.As(err, &se) || se.Stage != 1 || !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

// FuzzXMLDisassembler checks that any body either fails with
// ErrDisassembly or comes out with its message type promoted.
func FuzzXMLDisassembler(f *testing.F) {
	for _, s := range []string{
		`<Order xmlns="urn:shop" id="1"><Total>5</Total><ShipTo><City>x</City></ShipTo></Order>`,
		`<?xml version="1.0" encoding="utf-16"?><Note/>`, `<a><b></a>`, ``, `<Order xmlns="urn:shop"><Total>1</Total><Total>2</Total></Order>`,
	} {
		f.Add([]byte(s))
	}
	schemas := testSchemas(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := XMLDisassembler(schemas, false)(context.Background(), messagebox.NewMessage(body))
		if err != nil {
			if !errors.Is(err, ErrDisassembly) {
				t.Fatalf("error %v does not wrap ErrDisassembly", err)
			}
			return
		}
		if p, ok := out[0].Property(PropMessageType); !ok || p.Value.Str() == "" {
			t.Fatalf("no message type promoted for %q", body)
		}
	})
}
