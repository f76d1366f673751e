package pipeline

import (
	"errors"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"/Order/Id", "/Order/Id"},
		{"/{urn:shop}Order/{}Id", "/{urn:shop}Order/{}Id"},
		{"/*[local-name()='Order' and namespace-uri()='urn:shop']/*[local-name()='Id' and namespace-uri()='']", "/{urn:shop}Order/{}Id"},
		{`/*[namespace-uri()="urn:a/b" and local-name()="Order"]/Id`, "/{urn:a/b}Order/Id"},
		{"/*[local-name()='Order']/@currency", "/Order/@currency"},
		{"/Order/@*[local-name()='id' and namespace-uri()='']", "/Order/@{}id"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePath(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{
		"", "Order/Id", "/", "/Order//Id", "/Order/[", "/*[local-name()='Order'", "/*[name()='Order']",
		"/*[local-name()=Order]", "/@id", "/Order/@id/Name", "/{urn:shop", "/Or der", "/*[namespace-uri()='x']",
	} {
		t.Run("bad "+bad, func(t *testing.T) {
			if _, err := ParsePath(bad); !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("ParsePath(%q) = %v, want ErrInvalidPath", bad, err)
			}
		})
	}
}

// FuzzParsePath checks that any text either fails with ErrInvalidPath or
// compiles to a path whose rendering compiles to itself.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/Order/Id", "/{urn:shop}Order/@id", "/*[local-name()='A' and namespace-uri()='u']/B", "/a[", "/'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v does not wrap ErrInvalidPath", err)
			}
			return
		}
		q, err := ParsePath(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("%q renders as %q, which parses to %v, %v", s, p.String(), q.String(), err)
		}
	})
}
