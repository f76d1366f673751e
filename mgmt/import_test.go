package mgmt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/mgmt"
	"github.com/stretchr/testify/require"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

func TestImport_Fixture(t *testing.T) {
	e := newEnv(t)
	doc := readFixture(t, "orders.xml")
	res, err := importString(t, e.s, doc)
	require.NoError(t, err)
	require.Empty(t, res.Ignored)
	require.Contains(t, res.Created, mgmt.Ref{Kind: mgmt.KindSendPortGroup, Name: "Notifications"})

	arch, err := e.s.SendPort("Orders.Archive")
	require.NoError(t, err)
	require.Equal(t, "Orders", arch.Application)
	require.Equal(t, mgmt.PortBound, arch.State)
	require.Equal(t, mgmt.Filter{
		{{Property: "BTS.ReceivePortName", Op: mgmt.OpEqual, Value: mgmt.Text("OrdersIn")}, {Property: "Orders.Total", Op: mgmt.OpGreaterEqual, Value: mgmt.Text("100")}},
		{{Property: "Orders.Priority", Op: mgmt.OpExists}},
	}, arch.Filter)
	require.Equal(t, "FILE", arch.Backup.Adapter)
	require.Equal(t, `C:\orders\backup\%MessageID%.xml`, arch.Backup.Address)
	require.Equal(t, 1, arch.Backup.RetryCount)
	require.True(t, arch.Primary.ServiceWindow.Enabled)
	require.Equal(t, `<CustomProps><FileName vt="8">%MessageID%.xml</FileName></CustomProps>`, arch.Primary.TransportData)
	require.True(t, arch.OrderedDelivery)
	require.True(t, arch.StopSendingOnFailure)
	require.Equal(t, 2, arch.Priority)
	require.Equal(t, []mgmt.Raw{{After: "ApplicationName", XML: `<CustomSetting Level="3">kept as it is</CustomSetting>`}}, arch.Extra)

	// The filter given as elements rather than escaped text.
	mail, err := e.s.SendPort("Orders.Mail")
	require.NoError(t, err)
	require.Equal(t, mgmt.Filter{{{Property: "Orders.Country", Op: mgmt.OpNotEqual, Value: mgmt.Text("SE")}}}, mail.Filter)
	require.Len(t, mail.OutboundMaps, 1)
	require.Nil(t, mail.Backup)

	dyn, err := e.s.SendPort("Orders.Dynamic")
	require.NoError(t, err)
	require.True(t, dyn.Dynamic)
	require.True(t, dyn.TwoWay)
	require.Nil(t, dyn.Primary)

	g, err := e.s.SendPortGroup("Notifications")
	require.NoError(t, err)
	require.Equal(t, []string{"Orders.Archive", "Orders.Mail"}, g.SendPorts)
	require.Equal(t, "Who hears about cancellations", g.Description)

	o, err := e.s.Orchestration("Orders.Processes.Fulfil")
	require.NoError(t, err)
	require.Equal(t, "OrdersHost", o.Host)
	require.Equal(t, mgmt.OrchestrationUnenlisted, o.State, "import does not apply states")
	require.Equal(t, "Notifications", o.Ports[1].SendPortGroup)

	h, err := e.s.Host("OrdersHost")
	require.NoError(t, err)
	require.Equal(t, mgmt.Host{Name: "OrdersHost", Type: mgmt.HostInProcess, NTGroupName: "Orders Users"}, *h)

	l, port, err := e.s.ReceiveLocation("OrdersIn.File")
	require.NoError(t, err)
	require.Equal(t, "OrdersIn", port)
	require.False(t, l.Enabled)

	require.Len(t, e.s.Parties(), 1)

	// Round trip, including the kept unknown element.
	out := export(t, e.s, "Orders")
	require.Contains(t, out, `<CustomSetting Level="3">kept as it is</CustomSetting>`)
	require.Contains(t, out, `&lt;Statement Property="Orders.Priority" Operator="6" /&gt;`)
	e2 := newEnv(t)
	_, err = importString(t, e2.s, out)
	require.NoError(t, err)
	require.Equal(t, snap(e.s), snap(e2.s))
	require.Equal(t, out, export(t, e2.s, "Orders"))
}

func TestImport_UnknownReportedOrStrict(t *testing.T) {
	doc := strings.Replace(readFixture(t, "orders.xml"), "  <PartyCollection>", "  <FutureCollection><X /></FutureCollection>\n  <PartyCollection>", 1)
	doc = strings.Replace(doc, `<SendHandler Name="OrdersHost" HostTrusted="false">`, `<SendHandler Name="OrdersHost" HostTrusted="false" Weight="2">`, 1)
	e := newEnv(t)
	res, err := importString(t, e.s, doc)
	require.NoError(t, err)
	require.Equal(t, []mgmt.Ignored{
		{Path: "BindingInfo/SendPortCollection/SendPort[1]/PrimaryTransport/SendHandler/@Weight", Line: 47},
		{Path: "BindingInfo/FutureCollection", Line: 192},
	}, res.Ignored)

	e2 := newEnv(t)
	_, err = e2.s.Import(context.Background(), strings.NewReader(doc), &mgmt.ImportOptions{Strict: true})
	var be *mgmt.BindingError
	require.ErrorAs(t, err, &be)
	require.ErrorIs(t, err, mgmt.ErrUnknownElement)
	require.Equal(t, "BindingInfo/SendPortCollection/SendPort[1]/PrimaryTransport/SendHandler/@Weight", be.Path)
	require.Empty(t, e2.s.Applications())
}

// TestImport_Malformed checks that a broken file is refused whole, with the
// element path and line, and changes nothing.
func TestImport_Malformed(t *testing.T) {
	base := readFixture(t, "orders.xml")
	tests := []struct {
		name     string
		old, new string
		path     string
		line     int
	}{
		{"bad operator", `Operator="4" Value="100"`, `Operator="9" Value="100"`,
			"BindingInfo/SendPortCollection/SendPort[1]/Filter/(text)/Filter/Group[1]/Statement[2]", 73},
		{"unclosed element", "<Tracking>0</Tracking>\n      <Filter>\n", "<Tracking>0\n      <Filter>\n",
			"BindingInfo/SendPortCollection/SendPort/Tracking", 123},
		{"bad integer", "<RetryCount>5</RetryCount>", "<RetryCount>five</RetryCount>",
			"BindingInfo/SendPortCollection/SendPort[1]/PrimaryTransport/RetryCount", 39},
		{"bad boolean", "<OrderedDelivery>true</OrderedDelivery>\n      <Priority>2", "<OrderedDelivery>yes</OrderedDelivery>\n      <Priority>2",
			"BindingInfo/SendPortCollection/SendPort[1]/OrderedDelivery", 80},
		{"statement without property", `Property="Orders.Country" `, ``,
			"BindingInfo/SendPortCollection/SendPort[2]/Filter/Filter/Group[1]/Statement[1]", 111},
		{"escaped filter not xml", `&lt;/Group&gt;
&lt;/Filter&gt;</Filter>
      <ApplicationName>`, `&lt;/Grou&gt;
&lt;/Filter&gt;</Filter>
      <ApplicationName>`, "BindingInfo/DistributionListCollection/DistributionList[1]/Filter/(text)/Filter/Group", 150},
		{"static port without transport type", `<TransportType Name="SMTP" Capabilities="387" ConfigurationClsid="00000000-0000-0000-0000-000000000002" />
        <TransportTypeData>`, `<TransportTypeData>`, "BindingInfo/SendPortCollection/SendPort[2]", 87},
		{"wrong root", "<BindingInfo ", "<Bindings ", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, base, tc.old)
			doc := strings.Replace(base, tc.old, tc.new, 1)
			if tc.name == "wrong root" {
				doc = strings.Replace(doc, "</BindingInfo>", "</Bindings>", 1)
			}
			e := newEnv(t)
			_, err := importString(t, e.s, doc)
			require.ErrorIs(t, err, mgmt.ErrMalformed)
			var be *mgmt.BindingError
			require.ErrorAs(t, err, &be)
			if tc.path != "" {
				require.Equal(t, tc.path, be.Path)
				require.Equal(t, tc.line, be.Line)
			}
			require.Empty(t, e.s.Applications())
			require.Empty(t, e.s.Hosts())
			require.Empty(t, e.subs.stored(t))
		})
	}
}

// TestImport_RuleViolationChangesNothing checks a well-formed file that
// breaks a rule halfway through leaves the store as it was.
func TestImport_RuleViolationChangesNothing(t *testing.T) {
	e := newEnv(t)
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	before := snap(e.s)
	// The same port, claimed by another application.
	doc := strings.ReplaceAll(readFixture(t, "orders.xml"), "<ApplicationName>Orders</ApplicationName>", "<ApplicationName>Other</ApplicationName>")
	doc = strings.ReplaceAll(doc, "[Application:Orders]", "[Application:Other]")
	_, err = importString(t, e.s, doc)
	require.ErrorIs(t, err, mgmt.ErrExists)
	require.Equal(t, before, snap(e.s))
}

func TestImport_UpdatesEnlistedPortSubscriptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	arch := mgmt.Ref{Kind: mgmt.KindSendPort, Name: "Orders.Archive"}
	require.NoError(t, e.s.Start(ctx, arch))
	require.Len(t, e.s.Subscriptions(arch), 2)

	doc := strings.Replace(readFixture(t, "orders.xml"), `Operator="4" Value="100"`, `Operator="4" Value="500"`, 1)
	_, err = e.s.Import(ctx, bytes.NewReader([]byte(doc)), nil)
	require.NoError(t, err)
	p, err := e.s.SendPort("Orders.Archive")
	require.NoError(t, err)
	require.Equal(t, mgmt.PortStarted, p.State, "an import keeps the state")
	subs := e.s.Subscriptions(arch)
	filter := subs[0]
	if filter.Name != "SendPort:Orders.Archive/filter" {
		filter = subs[1]
	}
	require.Equal(t, mgmt.Text("500"), filter.Filter[0][1].Value)
	require.Contains(t, e.subs.stored(t)[filter.ID], `"500"`)
}

func TestParseFilter(t *testing.T) {
	f, err := mgmt.ParseFilter(mgmt.FormatFilter(mgmt.Filter{{{Property: "A.B", Op: mgmt.OpLess, Value: mgmt.Text(`x<"y"&`)}}}))
	require.NoError(t, err)
	require.Equal(t, mgmt.Filter{{{Property: "A.B", Op: mgmt.OpLess, Value: mgmt.Text(`x<"y"&`)}}}, f)
	f, err = mgmt.ParseFilter("")
	require.NoError(t, err)
	require.Nil(t, f)
	_, err = mgmt.ParseFilter("<Filter><Group><Other /></Group></Filter>")
	require.ErrorIs(t, err, mgmt.ErrMalformed)
	require.False(t, errors.Is(err, mgmt.ErrInvalid))
}

// TestExport_ProgrammaticConfig checks that a configuration made with Put
// (with the defaults Put fills in) exports to a file that imports to the
// same configuration.
func TestExport_ProgrammaticConfig(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	require.NoError(t, e.s.Update(ctx, func(tx *mgmt.Tx) error {
		for _, err := range []error{
			tx.PutApplication(&mgmt.Application{Name: "Shop", Description: "web shop"}),
			tx.PutHost(&mgmt.Host{Name: "Proc"}),
			tx.PutAdapter(&mgmt.Adapter{Name: "FILE", Capabilities: 11}),
			tx.PutReceivePort(&mgmt.ReceivePort{Name: "In", Application: "Shop", Locations: []mgmt.ReceiveLocation{
				{Name: "In.File", Adapter: "FILE", Address: "in/*.xml", Handler: "Proc", Enabled: true},
			}}),
			tx.PutSendPort(&mgmt.SendPort{Name: "Out", Application: "Shop",
				Primary: &mgmt.Transport{Adapter: "FILE", Address: "out/%MessageID%.xml", Handler: "Proc"},
				Filter:  mgmt.Filter{{{Property: mgmt.PropReceivePortName, Op: mgmt.OpEqual, Value: mgmt.Text("In")}}}}),
			tx.PutSendPortGroup(&mgmt.SendPortGroup{Name: "All", Application: "Shop", SendPorts: []string{"Out"}}),
			tx.PutOrchestration(&mgmt.Orchestration{Name: "Shop.Process", Application: "Shop", Host: "Proc",
				Ports: []mgmt.PortBinding{{Name: "Rcv", Modifier: 2, BindingOption: 1, ReceivePort: "In"},
					{Name: "Snd", Modifier: 1, BindingOption: 1, SendPortGroup: "All"}}}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	}))
	doc := export(t, e.s, "Shop")
	e2 := newEnv(t)
	_, err := importString(t, e2.s, doc)
	require.NoError(t, err, doc)
	a, b := snap(e.s), snap(e2.s)
	// Descriptions of applications are not in binding files.
	a.Apps[0].Description = ""
	require.Equal(t, a, b)
	require.Equal(t, doc, export(t, e2.s, "Shop"))
}

func TestParseFilter_Reindented(t *testing.T) {
	doc := "\n        <?xml version=\"1.0\" encoding=\"utf-16\"?>\n        <Filter xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n" +
		"   <Group>\n\t\t<Statement Property=\"BTS.MessageType\"\n Operator=\"0\"  Value=\"urn:a#B \" />\n      </Group>\n        </Filter>\n      "
	f, err := mgmt.ParseFilter(doc)
	require.NoError(t, err)
	require.Equal(t, mgmt.Filter{{{Property: "BTS.MessageType", Op: mgmt.OpEqual, Value: mgmt.Text("urn:a#B ")}}}, f,
		"values keep their trailing spaces")
}

func TestOpen_Corruption(t *testing.T) {
	e := newEnv(t)
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	// Damage the stored value of one send port.
	tx := e.set.NewTxn()
	key := keys.AppendString(keys.AppendTable(nil, keys.TableMgmtSendPorts), "Orders.Mail")
	require.NoError(t, tx.BatchOf(store.Management).Set(key, []byte{1, 0xFF, 0xFF}, nil))
	_, err = tx.Commit(context.Background())
	require.NoError(t, err)
	_, err = mgmt.Open(dbOf(e.set), e.subs, nil)
	require.True(t, mgmt.IsCorruption(err), "%v", err)
	require.ErrorIs(t, err, codec.ErrCorrupt)
}

func TestImport_ApplicationOverride(t *testing.T) {
	e := newEnv(t)
	_, err := e.s.Import(context.Background(), strings.NewReader(readFixture(t, "orders.xml")), &mgmt.ImportOptions{Application: "Staging"})
	require.NoError(t, err)
	apps := e.s.Applications()
	require.Len(t, apps, 1)
	require.Equal(t, "Staging", apps[0].Name)
	require.Len(t, e.s.SendPorts("Staging"), 3)
	require.Len(t, e.s.Orchestrations("Staging"), 1)
	require.Len(t, e.s.Assemblies("Staging"), 1)
	require.Empty(t, e.s.SendPorts("Orders"))
}

func TestImport_ApplyStates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.s.Import(ctx, strings.NewReader(readFixture(t, "orders.xml")), &mgmt.ImportOptions{ApplyStates: true})
	require.NoError(t, err)
	o, err := e.s.Orchestration(fulfil.Name)
	require.NoError(t, err)
	require.Equal(t, mgmt.OrchestrationStarted, o.State, "the fixture records State=\"Started\"")
	require.Len(t, e.s.Subscriptions(fulfil), 1)
	// The export records it, and a second import with ApplyStates keeps it.
	doc := export(t, e.s, "Orders")
	require.Contains(t, doc, `State="Started"`)
	e2 := newEnv(t)
	_, err = e2.s.Import(ctx, strings.NewReader(doc), &mgmt.ImportOptions{ApplyStates: true})
	require.NoError(t, err)
	require.Equal(t, snap(e.s), snap(e2.s))
}

// TestImport_Hygiene: what BizTalk refuses in a binding file is refused
// with the line that says it, and nothing of the file is imported.
func TestImport_Hygiene(t *testing.T) {
	port := func(name, adapter string) string {
		return `<SendPort Name="` + name + `" IsStatic="true" IsTwoWay="false"><PrimaryTransport><Address>out</Address>` +
			`<TransportType Name="` + adapter + `" /><SendHandler Name="H"><TransportType Name="` + adapter + `" /></SendHandler>` +
			"</PrimaryTransport></SendPort>\n"
	}
	doc := func(body string) string {
		return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BindingInfo>\n<SendPortCollection>\n" + body + "</SendPortCollection>\n</BindingInfo>"
	}
	for _, tc := range []struct {
		name string
		doc  string
		opts *mgmt.ImportOptions
		want error
		line int
	}{
		{"duplicate send port", doc(port("A", "FILE") + port("B", "FILE") + port("A", "FILE")), nil, mgmt.ErrMalformed, 6},
		{"unregistered adapter", doc(port("A", "FILE") + port("B", "AcmeQueue")), nil, mgmt.ErrUnknownAdapter, 5},
		{"adapter registered on request", doc(port("B", "AcmeQueue")), &mgmt.ImportOptions{RegisterAdapters: true}, nil, 0},
		{"built-in adapter", doc(port("B", "WCF-NetTcp")), nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.s.Import(context.Background(), strings.NewReader(tc.doc), tc.opts)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			var be *mgmt.BindingError
			require.ErrorAs(t, err, &be)
			require.Equal(t, tc.line, be.Line, "%v", err)
			require.Empty(t, e.s.SendPorts(""), "nothing of a refused file is imported")
		})
	}
}

// TestImport_UTF16: the Administration Console exports binding files as
// UTF-16; they import as their UTF-8 twin does, with or without a byte
// order mark, little- or big-endian.
func TestImport_UTF16(t *testing.T) {
	utf8Doc := readFixture(t, "orders.xml")
	want := newEnv(t)
	_, err := importString(t, want.s, utf8Doc)
	require.NoError(t, err)
	encode := func(order binary.AppendByteOrder, bom bool) []byte {
		doc := strings.Replace(utf8Doc, `encoding="utf-8"`, `encoding="utf-16"`, 1)
		var out []byte
		if bom {
			out = order.AppendUint16(out, 0xFEFF)
		}
		for _, u := range utf16.Encode([]rune(doc)) {
			out = order.AppendUint16(out, u)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		order binary.AppendByteOrder
		bom   bool
	}{{"LE with BOM", binary.LittleEndian, true}, {"BE with BOM", binary.BigEndian, true}, {"LE without BOM", binary.LittleEndian, false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.s.Import(context.Background(), bytes.NewReader(encode(tc.order, tc.bom)), nil)
			require.NoError(t, err)
			require.Equal(t, snap(want.s), snap(e.s))
		})
	}
}
