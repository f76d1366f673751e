package bam

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// xw writes an indented document: one element per line, tabs, as Excel's
// BAM add-in does.
type xw struct {
	b     strings.Builder
	depth int
}

func (w *xw) indent() {
	for range w.depth {
		w.b.WriteByte('\t')
	}
}

// open writes a start tag with attributes given as name, value pairs; an
// empty value is left out unless the name ends in "!" (kept, without it).
func (w *xw) open(name string, empty bool, attrs ...string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	for i := 0; i+1 < len(attrs); i += 2 {
		k, v := attrs[i], attrs[i+1]
		if strings.HasSuffix(k, "!") {
			k = strings.TrimSuffix(k, "!")
		} else if v == "" {
			continue
		}
		w.b.WriteByte(' ')
		w.b.WriteString(k)
		w.b.WriteString(`="`)
		escapeAttr(&w.b, v)
		w.b.WriteByte('"')
	}
	if empty {
		w.b.WriteString("/>\n")
		return
	}
	w.b.WriteString(">\n")
	w.depth++
}

func (w *xw) close(name string) {
	w.depth--
	w.indent()
	w.b.WriteString("</" + name + ">\n")
}

// leaf writes <name>text</name>.
func (w *xw) leaf(name, text string, attrs ...string) {
	w.indent()
	w.b.WriteString("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] == "" {
			continue
		}
		w.b.WriteString(" " + attrs[i] + `="`)
		escapeAttr(&w.b, attrs[i+1])
		w.b.WriteByte('"')
	}
	w.b.WriteByte('>')
	escapeText(&w.b, text)
	w.b.WriteString("</" + name + ">\n")
}

// raw writes a kept element's canonical text on one line.
func (w *xw) raw(s string) {
	w.indent()
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

// finish writes the document to out, UTF-8 or UTF-16LE with a byte-order
// mark, with a declaration that says which.
func (w *xw) finish(out io.Writer, utf16 bool) error {
	decl := `<?xml version="1.0" encoding="utf-8"?>` + "\n"
	if utf16 {
		decl = `<?xml version="1.0" encoding="utf-16"?>` + "\n"
	}
	text := decl + w.b.String()
	if !utf16 {
		_, err := io.WriteString(out, text)
		return err
	}
	enc := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder()
	b, _, err := transform.Bytes(enc, []byte(text))
	if err != nil {
		return err
	}
	_, err = io.Copy(out, bytes.NewReader(b))
	return err
}
