package biztier

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// xmlTransport and xmlSendPort read what the test needs of a binding
// file's send port, independently of mgmt's reader.
type xmlTransport struct {
	Address       string `xml:"Address"`
	TransportType struct {
		Name string `xml:"Name,attr"`
	} `xml:"TransportType"`
	RetryCount    string `xml:"RetryCount"`
	RetryInterval string `xml:"RetryInterval"`
	WindowEnabled string `xml:"ServiceWindowEnabled"`
	FromTime      string `xml:"FromTime"`
	ToTime        string `xml:"ToTime"`
	SendHandler   struct {
		Name string `xml:"Name,attr"`
	} `xml:"SendHandler"`
}

type xmlSendPort struct {
	Name          string        `xml:"Name,attr"`
	Primary       *xmlTransport `xml:"PrimaryTransport"`
	Secondary     *xmlTransport `xml:"SecondaryTransport"`
	Ordered       string        `xml:"OrderedDelivery"`
	StopOnFailure string        `xml:"StopSendingOnFailure"`
}

// TestDelivery_RealBindingFilesSettingsReachTheMessageBox imports every
// shared binding file, starts its applications and checks each send port's
// MessageBox subscriptions carry what its XML says: retry count and
// interval (minutes), backup transport and its retries, ordered delivery
// with or without stopping on failure, and the service window.
func TestDelivery_RealBindingFilesSettingsReachTheMessageBox(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedBindings, "*.xml"))
	if len(files) == 0 {
		t.Skipf("no binding files in %s", sharedBindings)
	}
	checked := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			var doc struct {
				Ports []xmlSendPort `xml:"SendPortCollection>SendPort"`
			}
			require.NoError(t, xml.Unmarshal(data, &doc))
			ctx := context.Background()
			g := openMgmtTestGroup(t)
			mg, err := g.Management()
			require.NoError(t, err)
			mb, err := g.MessageBox()
			require.NoError(t, err)
			_, err = mg.Import(ctx, bytes.NewReader(data), &mgmt.ImportOptions{RegisterAdapters: true})
			require.NoError(t, err)
			for _, app := range mg.Applications() {
				require.NoError(t, mg.StartApplication(ctx, app.Name))
			}
			byName := map[string]messagebox.Subscription{}
			for _, s := range mb.Subscriptions() {
				byName[s.Name] = s
			}
			num := func(s string) int {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				require.NoError(t, err, "%q", s)
				return n
			}
			for _, p := range doc.Ports {
				if p.Primary == nil || p.Primary.TransportType.Name == "" {
					continue // dynamic port
				}
				sub, ok := byName["SendPort:"+p.Name+"/transport"]
				require.True(t, ok, "send port %s has its transport subscription", p.Name)
				require.Equal(t, num(p.Primary.RetryCount), sub.Retry.Count, p.Name)
				require.Equal(t, time.Duration(num(p.Primary.RetryInterval))*time.Minute, sub.Retry.Interval, p.Name)
				if s := p.Secondary; s != nil && s.TransportType.Name != "" {
					want := s.SendHandler.Name
					if want == "" {
						want = p.Primary.SendHandler.Name
					}
					require.Equal(t, want, sub.BackupHost, p.Name)
					require.Equal(t, num(s.RetryCount), sub.BackupRetry.Count, p.Name)
				} else {
					require.Empty(t, sub.BackupHost, p.Name)
				}
				switch {
				case p.Ordered == "true" && p.StopOnFailure == "true":
					require.Equal(t, messagebox.OrderedStop, sub.Ordered, p.Name)
				case p.Ordered == "true":
					require.Equal(t, messagebox.OrderedSkip, sub.Ordered, p.Name)
				default:
					require.Equal(t, messagebox.Unordered, sub.Ordered, p.Name)
				}
				if p.Primary.WindowEnabled == "true" {
					from, err := time.Parse("2006-01-02T15:04:05", p.Primary.FromTime)
					require.NoError(t, err)
					require.NotNil(t, sub.Window, p.Name)
					require.Equal(t, time.Duration(from.Hour())*time.Hour+time.Duration(from.Minute())*time.Minute, sub.Window.Start)
				} else {
					require.Nil(t, sub.Window, p.Name)
				}
				checked++
			}
		})
	}
	t.Logf("%d send ports checked", checked)
}

// deliveryBindings is a binding file with one send port whose settings
// differ from every default: one retry two minutes apart, a backup
// transport on its own host with no retry, ordered delivery that stops on
// a failure, and a service window from 08:00 to 17:00.
const deliveryBindings = `<?xml version="1.0" encoding="utf-8"?>
<BindingInfo Version="3.5.1.0">
  <SendPortCollection>
    <SendPort Name="Ledger" IsStatic="true" IsTwoWay="false">
      <PrimaryTransport>
        <Address>out</Address>
        <TransportType Name="FILE" />
        <RetryCount>1</RetryCount>
        <RetryInterval>2</RetryInterval>
        <ServiceWindowEnabled>true</ServiceWindowEnabled>
        <FromTime>2000-01-01T08:00:00</FromTime>
        <ToTime>2000-01-01T17:00:00</ToTime>
        <Primary>true</Primary>
        <SendHandler Name="SendHost"><TransportType Name="FILE" /></SendHandler>
      </PrimaryTransport>
      <SecondaryTransport>
        <Address>backup</Address>
        <TransportType Name="FTP" />
        <RetryCount>0</RetryCount>
        <RetryInterval>1</RetryInterval>
        <Primary>false</Primary>
        <SendHandler Name="BackupHost"><TransportType Name="FTP" /></SendHandler>
      </SecondaryTransport>
      <Filter>&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="BTS.MessageType" Operator="0" Value="urn:ledger#Entry" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
      <OrderedDelivery>true</OrderedDelivery>
      <Priority>5</Priority>
      <StopSendingOnFailure>true</StopSendingOnFailure>
    </SendPort>
  </SendPortCollection>
</BindingInfo>`

// TestDelivery_PortSettingsApplyAtRunTime runs messages through a port
// configured from deliveryBindings on a manual clock: nothing goes out
// before the window opens; then one at a time, in order; a failure retries
// once two minutes later, then moves to the backup host, fails there once
// and is suspended, and the port's later messages wait behind it.
func TestDelivery_PortSettingsApplyAtRunTime(t *testing.T) {
	ctx := context.Background()
	clock := messagebox.NewManualClock(time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)) // before the window
	g, err := Open("g", &Options{FS: vfs.NewMem(), Durability: NoSync, CheckpointInterval: -1, DisableTracking: true,
		MessageBox: &messagebox.Options{Clock: clock}})
	require.NoError(t, err)
	defer g.Close()
	mg, err := g.Management()
	require.NoError(t, err)
	mb, err := g.MessageBox()
	require.NoError(t, err)
	_, err = mg.Import(ctx, strings.NewReader(deliveryBindings), &mgmt.ImportOptions{Application: "Books"})
	require.NoError(t, err)
	require.NoError(t, mg.StartApplication(ctx, "Books"))
	var ids []messagebox.EntryID
	for range 3 {
		_, es, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<Entry/>"),
			messagebox.Promoted("BTS.MessageType", messagebox.String("urn:ledger#Entry"))))
		require.NoError(t, err)
		ids = append(ids, es...)
	}
	dequeue := func(host string) []*messagebox.Delivery {
		ds, err := mb.Dequeue(ctx, host, 10, time.Minute)
		require.NoError(t, err)
		return ds
	}
	require.Empty(t, dequeue("SendHost"), "outside the service window")
	clock.Advance(2*time.Hour + time.Second) // 08:00:01
	ds := dequeue("SendHost")
	require.Len(t, ds, 1, "ordered: one in flight")
	require.Equal(t, ids[0], ds[0].Lease.Entry)
	require.NoError(t, mb.Fail(ctx, ds[0].Lease, "disk full"))
	require.Empty(t, dequeue("SendHost"), "the retry waits its interval, the others wait behind it")
	clock.Advance(2 * time.Minute)
	ds = dequeue("SendHost")
	require.Len(t, ds, 1)
	require.Equal(t, ids[0], ds[0].Lease.Entry)
	require.Equal(t, 1, ds[0].Attempts)
	require.NoError(t, mb.Fail(ctx, ds[0].Lease, "disk full"))
	ds = dequeue("BackupHost")
	require.Len(t, ds, 1, "retries used up: the backup transport takes it")
	require.True(t, ds[0].Backup)
	require.NoError(t, mb.Fail(ctx, ds[0].Lease, "ftp down"))
	se, err := mb.GetSuspended(ctx, ids[0])
	require.NoError(t, err, "no retry on the backup transport: suspended")
	require.True(t, se.Resumable)
	require.Empty(t, dequeue("SendHost"), "stop on failure: the rest wait")
	_, err = mb.Terminate(ctx, messagebox.SuspendedQuery{Entries: []messagebox.EntryID{ids[0]}})
	require.NoError(t, err)
	ds = dequeue("SendHost")
	require.Len(t, ds, 1)
	require.Equal(t, ids[1], ds[0].Lease.Entry)
}
