package httpadapter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/httpadapter"
)

// Example receives orders over HTTP and sends them on to a partner over
// HTTP, configured by a binding file: the adapter is the server's handler,
// a POST is answered once its message is committed.
func Example() {
	ctx := context.Background()
	received := make(chan string, 1)
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received <- string(body)
	}))
	defer partner.Close()

	g, _ := biztier.OpenInMemory()
	defer g.Close()
	mg, _ := g.Management()
	mg.Import(ctx, strings.NewReader(bindings(partner.URL+"/inbox")), nil)
	mg.StartApplication(ctx, "BizTalk Application 1")
	adapter, adapters := httpadapter.New(nil), host.NewRegistry()
	httpadapter.Register(adapters, adapter)
	for _, h := range []string{"ReceiveHost", "SendHost"} {
		inst, _ := host.Start(ctx, g, h, &host.Options{Adapters: adapters})
		defer inst.Stop(ctx)
	}
	server := httptest.NewServer(adapter)
	defer server.Close()
	adapter.WaitRunning(ctx, "/orders")

	for _, body := range []string{`<Order xmlns="urn:shop"/>`, `<Invoice xmlns="urn:shop"/>`} {
		resp, _ := http.Post(server.URL+"/orders", "text/xml", strings.NewReader(body))
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	fmt.Println("partner received", <-received)
	// Output:
	// 202 Accepted
	// 500 Internal Server Error
	// partner received <Order xmlns="urn:shop"/>
}
