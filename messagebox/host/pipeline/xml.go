package pipeline

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/predicate"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// PropMessageType is the property the XML disassembler promotes the
// document type into.
const PropMessageType = "BTS.MessageType"

// XMLDisassembler returns the XML disassembler stage of XMLReceive: it
// reads the body part once with a streaming decoder, promotes
// BTS.MessageType ("namespace#root", or "root" without a namespace) and
// every property the schema of that type promotes, converted to its type.
// With strict set, a message type that has no schema in schemas fails,
// as BizTalk's XMLReceive does when it finds no document specification;
// otherwise only BTS.MessageType is promoted for it. Failures wrap
// ErrDisassembly.
func XMLDisassembler(schemas *Schemas, strict bool) Stage {
	return func(_ context.Context, m *messagebox.Message) ([]*messagebox.Message, error) {
		bp := m.BodyPart()
		if bp == nil {
			return nil, fmt.Errorf("%w: the message has no body part", ErrDisassembly)
		}
		props, err := disassemble(bp.Body, schemas, strict)
		if err != nil {
			return nil, err
		}
		for _, p := range props {
			setProperty(m, p)
		}
		return []*messagebox.Message{m}, nil
	}
}

// WellFormed is XMLTransmit's stage: it passes a body that is one
// well-formed XML document and fails (ErrDisassembly) any other.
func WellFormed(_ context.Context, m *messagebox.Message) ([]*messagebox.Message, error) {
	bp := m.BodyPart()
	if bp == nil {
		return nil, fmt.Errorf("%w: the message has no body part", ErrDisassembly)
	}
	if _, err := disassemble(bp.Body, nil, false); err != nil {
		return nil, err
	}
	return []*messagebox.Message{m}, nil
}

// setProperty promotes p in m's context, replacing a property of the same
// canonical name.
func setProperty(m *messagebox.Message, p messagebox.Property) {
	name := messagebox.CanonicalName(p.Name)
	for i := range m.Context {
		if messagebox.CanonicalName(m.Context[i].Name) == name {
			m.Context[i] = p
			return
		}
	}
	m.Context = append(m.Context, p)
}

// capture collects the text of one promoted element while the decoder is
// inside it.
type capture struct {
	idx   int
	depth int
	text  strings.Builder
}

// disassemble reads body and returns the properties to promote.
func disassemble(body []byte, schemas *Schemas, strict bool) ([]messagebox.Property, error) {
	d := xml.NewDecoder(bodyReader(body))
	d.CharsetReader = charsetReader
	var (
		proms    []promotion
		alive    [][]int // alive[k]: promotions whose first k steps match the open elements
		found    []int   // occurrences of each promotion
		captures []*capture
		values   []string
		props    []messagebox.Property
		depth    int
		rootSeen bool
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDisassembly, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if rootSeen {
					return nil, fmt.Errorf("%w: more than one root element", ErrDisassembly)
				}
				rootSeen = true
				mt := t.Name.Local
				if t.Name.Space != "" {
					mt = t.Name.Space + "#" + t.Name.Local
				}
				props = append(props, messagebox.Promoted(PropMessageType, messagebox.String(mt)))
				var ok bool
				proms, ok = schemas.lookup(mt)
				if !ok && strict {
					return nil, fmt.Errorf("%w: no schema for message type %q", ErrDisassembly, mt)
				}
				found = make([]int, len(proms))
				values = make([]string, len(proms))
				all := make([]int, len(proms))
				for i := range all {
					all[i] = i
				}
				alive = append(alive[:0], all)
			}
			var here []int
			for _, i := range alive[depth] {
				p := proms[i].path
				if depth >= len(p.steps) || !p.matches(depth, t.Name.Space, t.Name.Local, false) {
					continue
				}
				switch {
				case depth == len(p.steps)-1:
					captures = append(captures, &capture{idx: i, depth: depth})
				case depth == len(p.steps)-2 && p.steps[depth+1].attr:
					for _, a := range t.Attr {
						if p.matches(depth+1, a.Name.Space, a.Name.Local, true) {
							if err := record(proms, found, values, i, a.Value); err != nil {
								return nil, err
							}
						}
					}
				default:
					here = append(here, i)
				}
			}
			depth++
			alive = append(alive[:depth], here)
		case xml.CharData:
			for _, c := range captures {
				c.text.Write(t)
			}
		case xml.EndElement:
			depth--
			kept := captures[:0]
			for _, c := range captures {
				if c.depth == depth {
					if err := record(proms, found, values, c.idx, c.text.String()); err != nil {
						return nil, err
					}
					continue
				}
				kept = append(kept, c)
			}
			captures = kept
		}
	}
	if !rootSeen {
		return nil, fmt.Errorf("%w: no root element", ErrDisassembly)
	}
	for i, p := range proms {
		if found[i] == 0 {
			continue // an optional field that is absent is not promoted
		}
		v, ok := predicate.Coerce(values[i], p.typ)
		if !ok {
			return nil, fmt.Errorf("%w: %s: %q is not a %v", ErrDisassembly, p.property, values[i], p.typ)
		}
		props = append(props, messagebox.Promoted(p.property, v))
	}
	return props, nil
}

// record notes one occurrence of promotion i with its text. BizTalk
// promotes only fields that occur once.
func record(proms []promotion, found []int, values []string, i int, text string) error {
	found[i]++
	if found[i] > 1 {
		return fmt.Errorf("%w: %s: path %s occurs more than once", ErrDisassembly, proms[i].property, proms[i].path)
	}
	values[i] = text
	return nil
}

// bodyReader decodes a UTF-16 body (recognised by its byte order mark) to
// UTF-8; other bodies are read as they are, their declaration naming the
// encoding.
func bodyReader(body []byte) io.Reader {
	if bytes.HasPrefix(body, []byte{0xFF, 0xFE}) || bytes.HasPrefix(body, []byte{0xFE, 0xFF}) {
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		return transform.NewReader(bytes.NewReader(body), unicode.BOMOverride(dec))
	}
	return bytes.NewReader(body)
}

// charsetReader serves the XML declaration's encoding. A UTF-16 document
// was already decoded by bodyReader, so a declaration saying utf-16 is
// read as it is.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-16", "utf-16le", "utf-16be", "unicode":
		return in, nil
	}
	enc, err := ianaindex.IANA.Encoding(label)
	if err != nil || enc == nil {
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	return enc.NewDecoder().Reader(in), nil
}
