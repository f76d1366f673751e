package bam

import (
	"bytes"
	"fmt"
	"io"
)

// TrackingProfile is a tracking profile (.btt), as the Tracking Profile
// Editor saves it: for one activity (Name), where each checkpoint's value
// comes from at run time. Parse it with ParseProfile; bind it with
// Store.BindProfile.
type TrackingProfile struct {
	// Name is the activity the profile feeds.
	Name        string
	VersionGuid string
	Dimensions  []ProfileDimension
}

// ProfileDimension is one item of the profile's activity tree: a checkpoint
// (DataType DATETIME, NVARCHAR, INT, FLOAT, DECIMAL) or one of the special
// items: "TraceID" (the ActivityID), "ContinuationID" (this part of the
// process continues the activity through the token Name+value),
// "Continuation" (this part hands the activity on under the token
// Name+value). Levels are where its value comes from; none means it is not
// mapped (and, for TraceID, that the orchestration instance's ID is the
// activity ID).
type ProfileDimension struct {
	Name, DataType string
	Levels         []DataLevel
}

// DataLevel is one mapping of a profile item to a source.
type DataLevel struct {
	Name string
	// SourceTypeSelected is the source kind: "Orchestration Shape" (a
	// milestone: the time the shape ran), "Orchestration Payload" (XPath
	// into a message part), "Orchestration Context Property" (a message's
	// context property), "Messaging Payload" and "Messaging Property" (the
	// same, on a port's message).
	SourceTypeSelected     string
	TargetAssemblyName     string
	OrchestrationReference string
	ShapeID                string
	MessageName            string
	MessagePart            string
	SchemaName             string
	MessageDirection       string
	SomXPath               string
	XPath                  string
	// PortName is the port of a messaging source.
	PortName string
	// Extra are attributes this package does not interpret, kept as
	// written for export.
	Extra []ProfileAttr
}

// ProfileAttr is an attribute kept as written.
type ProfileAttr struct{ Name, Value string }

// The source kinds of DataLevel.SourceTypeSelected.
const (
	SourceShape            = "Orchestration Shape"
	SourcePayload          = "Orchestration Payload"
	SourceContextProperty  = "Orchestration Context Property"
	SourceMessagingPayload = "Messaging Payload"
	SourceMessagingProp    = "Messaging Property"
)

// The special profile item types.
const (
	ItemTraceID        = "TraceID"
	ItemContinuationID = "ContinuationID"
	ItemContinuation   = "Continuation"
)

// ParseProfile reads a tracking profile, UTF-16 or UTF-8. A failure is a
// *DefinitionError wrapping ErrMalformed.
func ParseProfile(r io.Reader) (*TrackingProfile, error) {
	root, err := parseXML(r, "TrackingProfile")
	if err != nil {
		return nil, err
	}
	a := root.at("")
	if root.local() != "TrackingProfile" {
		return nil, a.errf(ErrMalformed, "the root element is <%s>, not <TrackingProfile>", root.name)
	}
	p := &TrackingProfile{}
	if p.Name, err = root.required(a, "Name"); err != nil {
		return nil, err
	}
	p.VersionGuid, _ = root.attr("VersionGuid")
	names := map[string]bool{}
	for _, n := range root.kids("Dimension") {
		da := n.at(a.path)
		var d ProfileDimension
		if d.Name, err = n.required(da, "Name"); err != nil {
			return nil, err
		}
		if d.DataType, err = n.required(da, "DataType"); err != nil {
			return nil, err
		}
		switch d.DataType {
		case string(DateTime), string(NVarChar), string(Int), string(Float), string(Decimal),
			ItemTraceID, ItemContinuationID, ItemContinuation:
		default:
			return nil, da.errf(ErrMalformed, "DataType %q", d.DataType)
		}
		if names[d.Name] {
			return nil, da.errf(ErrReference, "item %s mapped twice", d.Name)
		}
		names[d.Name] = true
		for _, l := range n.kids("DataLevel") {
			lv, err := dataLevel(l, l.at(da.path))
			if err != nil {
				return nil, err
			}
			d.Levels = append(d.Levels, lv)
		}
		if err := n.leftover(da); err != nil {
			return nil, err
		}
		p.Dimensions = append(p.Dimensions, d)
	}
	if err := root.leftover(a); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseProfileBytes is ParseProfile of a byte slice.
func ParseProfileBytes(b []byte) (*TrackingProfile, error) { return ParseProfile(bytes.NewReader(b)) }

func dataLevel(n *xnode, a at) (DataLevel, error) {
	var lv DataLevel
	fields := []struct {
		name string
		dst  *string
	}{
		{"Name", &lv.Name}, {"SourceTypeSelected", &lv.SourceTypeSelected},
		{"TargetAssemblyName", &lv.TargetAssemblyName}, {"OrchestrationReference", &lv.OrchestrationReference},
		{"ShapeID", &lv.ShapeID}, {"MessageName", &lv.MessageName}, {"MessagePart", &lv.MessagePart},
		{"SchemaName", &lv.SchemaName}, {"MessageDirection", &lv.MessageDirection},
		{"SomXPath", &lv.SomXPath}, {"XPath", &lv.XPath}, {"PortName", &lv.PortName},
	}
	for _, f := range fields {
		*f.dst, _ = n.attr(f.name)
	}
	switch lv.SourceTypeSelected {
	case SourceShape, SourcePayload, SourceContextProperty, SourceMessagingPayload, SourceMessagingProp:
	default:
		return lv, a.errf(ErrMalformed, "SourceTypeSelected %q", lv.SourceTypeSelected)
	}
	n.init()
	for i, x := range n.attrs {
		if !n.usedAttr[i] {
			n.usedAttr[i] = true
			lv.Extra = append(lv.Extra, ProfileAttr{x.name, x.value})
		}
	}
	return lv, n.leftover(a)
}

// Export writes p as a tracking profile in UTF-8; ParseProfile of the
// output equals p.
func (p *TrackingProfile) Export(w io.Writer) error { return p.export(w, false) }

// ExportUTF16 is Export in UTF-16 with a byte-order mark, as the Tracking
// Profile Editor saves.
func (p *TrackingProfile) ExportUTF16(w io.Writer) error { return p.export(w, true) }

func (p *TrackingProfile) export(out io.Writer, utf16 bool) error {
	var w xw
	w.open("TrackingProfile", false, "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance",
		"xmlns:xsd", "http://www.w3.org/2001/XMLSchema", "VersionGuid", p.VersionGuid, "Name", p.Name)
	for _, d := range p.Dimensions {
		w.open("Dimension", len(d.Levels) == 0, "Name", d.Name, "DataType", d.DataType)
		if len(d.Levels) == 0 {
			continue
		}
		for _, l := range d.Levels {
			attrs := []string{"Name", l.Name, "SourceTypeSelected", l.SourceTypeSelected,
				"TargetAssemblyName", l.TargetAssemblyName, "OrchestrationReference", l.OrchestrationReference,
				"ShapeID", l.ShapeID, "MessageName", l.MessageName, "MessagePart", l.MessagePart,
				"SchemaName", l.SchemaName, "MessageDirection", l.MessageDirection,
				"SomXPath", l.SomXPath, "XPath", l.XPath, "PortName", l.PortName}
			for _, x := range l.Extra {
				attrs = append(attrs, x.Name+"!", x.Value)
			}
			w.open("DataLevel", true, attrs...)
		}
		w.close("Dimension")
	}
	w.close("TrackingProfile")
	if err := w.finish(out, utf16); err != nil {
		return fmt.Errorf("bam: export profile: %w", err)
	}
	return nil
}
