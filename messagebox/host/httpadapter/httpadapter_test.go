package httpadapter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/httpadapter"
)

func TestAdapter_Send(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
		ok        bool
	}{
		{200, false, true}, {202, false, true}, {204, false, true},
		{400, true, false}, {404, true, false}, {408, false, false}, {429, false, false},
		{500, false, false}, {503, false, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = r.Method + " " + r.Header.Get("Content-Type") + " " + string(b)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			m := messagebox.NewMessage([]byte("<Order/>"))
			m.Parts[0].ContentType = "text/xml"
			err := httpadapter.New(nil).Send(context.Background(), &host.Transport{Port: "P", Type: "HTTP", Address: srv.URL + "/in"}, m)
			if got != "POST text/xml <Order/>" {
				t.Fatalf("server got %q", got)
			}
			if tc.ok != (err == nil) || tc.permanent != errors.Is(err, host.ErrPermanent) {
				t.Fatalf("status %d: %v", tc.status, err)
			}
			if !tc.ok && !errors.Is(err, httpadapter.ErrStatus) {
				t.Fatalf("status %d: %v does not wrap ErrStatus", tc.status, err)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		defer srv.Close()
		defer close(release)
		err := httpadapter.New(nil).Send(context.Background(), &host.Transport{Port: "P", Address: srv.URL,
			Data: `<CustomProps><RequestTimeout vt="3">1</RequestTimeout></CustomProps>`}, messagebox.NewMessage([]byte("x")))
		if err == nil || errors.Is(err, host.ErrPermanent) {
			t.Fatalf("a request past its timeout: %v, want a retryable error", err)
		}
	})
}

// bindings routes what arrives at /orders to the partner's URL.
func bindings(partner string) string {
	return `<BindingInfo>
  <SendPortCollection><SendPort Name="ToPartner" IsStatic="true" IsTwoWay="false">
    <PrimaryTransport><Address>` + partner + `</Address><TransportType Name="HTTP" />
      <TransportTypeData>&lt;CustomProps&gt;&lt;RequestTimeout vt="3"&gt;5&lt;/RequestTimeout&gt;&lt;/CustomProps&gt;</TransportTypeData>
      <RetryCount>0</RetryCount>
      <SendHandler Name="SendHost"><TransportType Name="HTTP" /></SendHandler></PrimaryTransport>
    <Filter>&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="BTS.MessageType" Operator="0" Value="urn:shop#Order" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>
  </SendPort></SendPortCollection>
  <ReceivePortCollection><ReceivePort Name="Orders"><ReceiveLocations><ReceiveLocation Name="Orders_HTTP">
    <Address>/orders</Address><ReceiveLocationTransportType Name="HTTP" /><Enable>true</Enable>
    <ReceivePipeline Name="Microsoft.BizTalk.DefaultPipelines.XMLReceive" Type="1" />
    <ReceiveHandler Name="ReceiveHost"><TransportType Name="HTTP" /></ReceiveHandler>
  </ReceiveLocation></ReceiveLocations></ReceivePort></ReceivePortCollection>
</BindingInfo>`
}

// startFlow opens a group with the bindings and runs both hosts with
// the adapter; it returns the adapter and a channel of what the partner
// received.
func startFlow(t testing.TB) (*httpadapter.Adapter, chan string) {
	t.Helper()
	ctx := context.Background()
	got := make(chan string, 10)
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	t.Cleanup(partner.Close)
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	mg, _ := g.Management()
	if _, err := mg.Import(ctx, strings.NewReader(bindings(partner.URL+"/inbox")), nil); err != nil {
		t.Fatal(err)
	}
	if err := mg.StartApplication(ctx, "BizTalk Application 1"); err != nil {
		t.Fatal(err)
	}
	a, reg := httpadapter.New(nil), host.NewRegistry()
	if err := httpadapter.Register(reg, a); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"ReceiveHost", "SendHost"} {
		inst, err := host.Start(ctx, g, h, &host.Options{Adapters: reg, ShutdownTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = inst.Stop(ctx) })
	}
	return a, got
}

func TestAdapter_ServeHTTP(t *testing.T) {
	a, got := startFlow(t)
	srv := httptest.NewServer(a)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.WaitRunning(ctx, "/orders"); err != nil {
		t.Fatal(err)
	}
	post := func(path, body string) *http.Response {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"routed", "/orders", `<Order xmlns="urn:shop"/>`, http.StatusAccepted},
		{"no subscriber", "/orders", `<Invoice xmlns="urn:shop"/>`, http.StatusInternalServerError},
		{"not xml", "/orders", `order 7`, http.StatusBadRequest},
		{"no location", "/invoices", `<Order xmlns="urn:shop"/>`, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusNotFound && resp.Header.Get(httpadapter.HeaderMessageID) == "" {
				t.Fatal("no message ID in the answer")
			}
		})
	}
	resp, err := http.Get(srv.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	select {
	case body := <-got:
		if body != `<Order xmlns="urn:shop"/>` {
			t.Fatalf("partner got %q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the partner got nothing")
	}
}
