package predicate

import (
	"strings"
)

// Property is a context property of a message, named "namespace#name".
// Only promoted properties are seen by subscriptions.
type Property struct {
	Name     string
	Value    Value
	Promoted bool
}

// Namespaces of BizTalk's built-in property schemas, by the short prefix
// binding files, orchestrations and the Administration Console write
// ("BTS.MessageType" is "<system-properties>#MessageType").
var namespaces = map[string]string{
	"BTS":             "http://schemas.microsoft.com/BizTalk/2003/system-properties",
	"ErrorReport":     "http://schemas.microsoft.com/BizTalk/2005/error-report",
	"MessageTracking": "http://schemas.microsoft.com/BizTalk/2003/messagetracking-properties",
	"FILE":            "http://schemas.microsoft.com/BizTalk/2003/file-properties",
	"FTP":             "http://schemas.microsoft.com/BizTalk/2003/ftp-properties",
	"HTTP":            "http://schemas.microsoft.com/BizTalk/2003/http-properties",
	"MSMQ":            "http://schemas.microsoft.com/BizTalk/2003/msmq-properties",
	"POP3":            "http://schemas.microsoft.com/BizTalk/2003/pop3-properties",
	"SMTP":            "http://schemas.microsoft.com/BizTalk/2003/smtp-properties",
	"SOAP":            "http://schemas.microsoft.com/BizTalk/2003/SOAPHeader",
	"SQL":             "http://schemas.microsoft.com/BizTalk/2003/sql-properties",
	"WCF":             "http://schemas.microsoft.com/BizTalk/2006/01/Adapters/WCF-properties",
	"MQSeries":        "http://schemas.microsoft.com/BizTalk/2003/mqs-properties",
	"XMLNORM":         "http://schemas.microsoft.com/BizTalk/2003/xmlnorm-properties",
	"EDI":             "http://schemas.microsoft.com/Edi/PropertySchema",
	"EdiIntAS":        "http://schemas.microsoft.com/BizTalk/2006/as2-properties",
	"LEGACY":          "http://schemas.microsoft.com/BizTalk/2003/legacy-properties",
	"SFTP":            "http://schemas.microsoft.com/BizTalk/2012/Adapter/sftp-properties",
}

// Canonical returns the canonical name of a context property:
// "namespace#name". A name written with the short prefix of a built-in
// property schema ("BTS.MessageType", "FILE.ReceivedFileName",
// "ErrorReport.FailureCode") becomes its full form, so that the two
// spellings are one property everywhere; any other name is returned as it
// is. It does not allocate for a name that is already canonical.
func Canonical(name string) string {
	if strings.IndexByte(name, '#') >= 0 {
		return name
	}
	if c, ok := builtinShort[name]; ok {
		return c // the common names, without building the string each time
	}
	prefix, local, ok := strings.Cut(name, ".")
	if !ok || local == "" {
		return name
	}
	ns, ok := namespaces[prefix]
	if !ok {
		return name
	}
	return ns + "#" + local
}

// Schema is the declared type of a context property, as a property schema
// deployed with an application gives it.
type Schema struct {
	// Name is the property's name, canonical or with a built-in short
	// prefix.
	Name string
	// Type is the property's type; TypeText is not a property type.
	Type Type
}

// builtin types the BizTalk system properties whose type matters for
// comparisons. Properties not listed compare in the type of the value a
// message carries.
var builtin = func() map[string]Type {
	m := map[string]Type{}
	builtinShort = map[string]string{}
	for _, s := range []Schema{
		{"BTS.MessageType", TypeString},
		{"BTS.ReceivePortName", TypeString},
		{"BTS.ReceivePortID", TypeString},
		{"BTS.ReceiveLocationName", TypeString},
		{"BTS.InboundTransportLocation", TypeString},
		{"BTS.InboundTransportType", TypeString},
		{"BTS.OutboundTransportLocation", TypeString},
		{"BTS.OutboundTransportType", TypeString},
		{"BTS.SPName", TypeString},
		{"BTS.SPID", TypeString},
		{"BTS.SPGroupID", TypeString},
		{"BTS.SPTransportID", TypeString},
		{"BTS.SPTransportBackupID", TypeString},
		{"BTS.InterchangeID", TypeString},
		{"BTS.InterchangeSequenceNumber", TypeInt64},
		{"BTS.LastInterchangeMessage", TypeBool},
		{"BTS.RetryCount", TypeInt64},
		{"BTS.RetryInterval", TypeInt64},
		{"BTS.ActualRetryCount", TypeInt64},
		{"BTS.Operation", TypeString},
		{"BTS.CorrelationToken", TypeString},
		{"BTS.EpmRRCorrelationToken", TypeString},
		{"BTS.RouteDirectToTP", TypeBool},
		{"BTS.SuspendAsNonResumable", TypeBool},
		{"BTS.AckRequired", TypeBool},
		{"BTS.IsDynamicSend", TypeBool},
		{"BTS.SourcePartyID", TypeString},
		{"BTS.DestinationPartyName", TypeString},
		{"BTS.SchemaStrongName", TypeString},
		{"BTS.MessageDestination", TypeString},
		{"ErrorReport.ErrorType", TypeString},
		{"ErrorReport.FailureCode", TypeString},
		{"ErrorReport.FailureCategory", TypeInt64},
		{"ErrorReport.MessageType", TypeString},
		{"ErrorReport.ReceivePortName", TypeString},
		{"ErrorReport.InboundTransportLocation", TypeString},
		{"ErrorReport.SendPortName", TypeString},
		{"ErrorReport.OutboundTransportLocation", TypeString},
		{"ErrorReport.FailureTime", TypeTime},
		{"ErrorReport.ProcessingServer", TypeString},
		{"ErrorReport.RoutingFailureReportID", TypeString},
		{"ErrorReport.Description", TypeString},
		{"FILE.ReceivedFileName", TypeString},
		{"FILE.FileCreationTime", TypeTime},
		{"MessageTracking.ActivityIdentity", TypeString},
	} {
		c := Canonical(s.Name)
		m[c] = s.Type
		builtinShort[s.Name] = c
	}
	return m
}()

// builtinShort maps the short names of the built-in properties to their
// canonical names; filled with builtin.
var builtinShort map[string]string

// Schemas is a set of property schemas: BizTalk's built-in ones and those
// registered with it. The zero Schemas knows only the built-in ones. It is
// not safe for concurrent use while Register runs; build it before use.
type Schemas struct {
	user map[string]Type
}

// Register declares properties' types. A property registered twice takes
// the last type.
func (s *Schemas) Register(schemas ...Schema) {
	if s.user == nil {
		s.user = make(map[string]Type, len(schemas))
	}
	for _, sc := range schemas {
		s.user[Canonical(sc.Name)] = sc.Type
	}
}

// Type returns the declared type of the property with canonical name
// name, from a registered schema or a built-in one.
func (s *Schemas) Type(name string) (Type, bool) {
	if s != nil {
		if t, ok := s.user[name]; ok {
			return t, true
		}
	}
	t, ok := builtin[name]
	return t, ok
}
