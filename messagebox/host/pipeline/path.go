package pipeline

import (
	"fmt"
	"strings"
)

// Path is a compiled location of a promoted value in a document: the
// element (or, last, attribute) names from the root down.
type Path struct {
	steps []step
}

// step is one name of a path. anyNS matches the local name in any
// namespace.
type step struct {
	local, ns string
	anyNS     bool
	attr      bool
}

// String renders the path in the {namespace}name form.
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p.steps {
		b.WriteByte('/')
		if s.attr {
			b.WriteByte('@')
		}
		if !s.anyNS {
			b.WriteString("{" + s.ns + "}")
		}
		b.WriteString(s.local)
	}
	return b.String()
}

// ParsePath reads an absolute path to an element or attribute in the forms
// BizTalk schemas and people write:
//
//	/Order/Id                                   local names, any namespace
//	/{urn:shop}Order/{urn:shop}Id               names in a namespace ({} is none)
//	/*[local-name()='Order' and namespace-uri()='urn:shop']/*[local-name()='Id' and namespace-uri()='']
//	/Order/@currency                            an attribute, last
//
// Errors wrap ErrInvalidPath.
func ParsePath(s string) (Path, error) {
	if !strings.HasPrefix(s, "/") {
		return Path{}, fmt.Errorf("%w: %q is not absolute", ErrInvalidPath, s)
	}
	parts, err := splitSteps(s[1:])
	if err != nil {
		return Path{}, fmt.Errorf("%w: %q: %w", ErrInvalidPath, s, err)
	}
	p := Path{steps: make([]step, 0, len(parts))}
	for i, part := range parts {
		st, err := parseStep(part)
		if err != nil {
			return Path{}, fmt.Errorf("%w: %q: step %d: %w", ErrInvalidPath, s, i+1, err)
		}
		if st.attr && (i != len(parts)-1 || i == 0) {
			return Path{}, fmt.Errorf("%w: %q: an attribute must be the last step, below an element", ErrInvalidPath, s)
		}
		p.steps = append(p.steps, st)
	}
	return p, nil
}

// splitSteps splits at the slashes outside brackets and quotes.
func splitSteps(s string) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced ]")
			}
			depth--
		case c == '/' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quote != 0 || depth != 0 {
		return nil, fmt.Errorf("unterminated quote or bracket")
	}
	parts = append(parts, s[start:])
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("empty step")
		}
	}
	return parts, nil
}

// parseStep reads one step.
func parseStep(s string) (step, error) {
	var st step
	if strings.HasPrefix(s, "@") {
		st.attr = true
		s = s[1:]
	}
	switch {
	case strings.HasPrefix(s, "*["):
		if !strings.HasSuffix(s, "]") {
			return st, fmt.Errorf("predicate not closed")
		}
		return parsePredicate(st, s[2:len(s)-1])
	case strings.HasPrefix(s, "{"):
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return st, fmt.Errorf("namespace not closed")
		}
		st.ns, st.local = s[1:end], s[end+1:]
	default:
		st.local, st.anyNS = s, true
	}
	if !validName(st.local) {
		return st, fmt.Errorf("bad name %q", st.local)
	}
	return st, nil
}

// parsePredicate reads "local-name()='x' [and namespace-uri()='y']", in
// either order.
func parsePredicate(st step, s string) (step, error) {
	st.anyNS = true
	seenLocal := false
	for _, cond := range strings.Split(s, " and ") {
		fn, val, ok := strings.Cut(strings.TrimSpace(cond), "=")
		if !ok {
			return st, fmt.Errorf("condition %q is not a comparison", cond)
		}
		fn, val = strings.TrimSpace(fn), strings.TrimSpace(val)
		if len(val) < 2 || (val[0] != '\'' && val[0] != '"') || val[len(val)-1] != val[0] {
			return st, fmt.Errorf("value %q is not quoted", val)
		}
		val = val[1 : len(val)-1]
		switch fn {
		case "local-name()":
			st.local, seenLocal = val, true
		case "namespace-uri()":
			st.ns, st.anyNS = val, false
		default:
			return st, fmt.Errorf("unknown function %q", fn)
		}
	}
	if !seenLocal || !validName(st.local) {
		return st, fmt.Errorf("no usable local-name()")
	}
	return st, nil
}

// validName reports whether s can be an XML local name: not empty, no
// characters that end or split a name.
func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, "/[]{}'\"@ =:\t\r\n<>&")
}

// matches reports whether element name (ns, local) is step i.
func (p Path) matches(i int, ns, local string, attr bool) bool {
	st := p.steps[i]
	return st.attr == attr && st.local == local && (st.anyNS || st.ns == ns)
}
