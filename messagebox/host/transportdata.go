package host

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseTransportData reads an adapter's configuration as binding files
// carry it (TransportTypeData, already unescaped once by the binding
// import): a <CustomProps> document whose children are the properties,
// such as <FileMask vt="8">*.xml</FileMask>. It returns each property's
// text by element name; a property that holds escaped XML (a WCF binding
// configuration, an AdapterConfig) is returned as that XML text. Empty
// data is an empty map. Malformed data is an error wrapping
// ErrTransportData.
func ParseTransportData(data string) (map[string]string, error) {
	props := map[string]string{}
	if strings.TrimSpace(data) == "" {
		return props, nil
	}
	d := xml.NewDecoder(strings.NewReader(data))
	depth := 0
	var name string
	var text strings.Builder
	sawRoot := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTransportData, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				if sawRoot {
					return nil, fmt.Errorf("%w: more than one root element", ErrTransportData)
				}
				sawRoot = true
			case 2:
				name = t.Name.Local
				text.Reset()
			default:
				return nil, fmt.Errorf("%w: property %s holds elements", ErrTransportData, name)
			}
		case xml.EndElement:
			if depth == 2 {
				props[name] = text.String()
			}
			depth--
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, fmt.Errorf("%w: text outside a property", ErrTransportData)
			}
		}
	}
	if !sawRoot {
		return nil, fmt.Errorf("%w: no root element", ErrTransportData)
	}
	return props, nil
}
