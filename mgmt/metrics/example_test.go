package metrics_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/mgmt/metrics"
)

// Serve a group's figures on /metrics.
func Example() {
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	c, err := metrics.New(metrics.Options{Group: g})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "biztier_messagebox_spool_messages ") {
			fmt.Println(resp.Status, line)
		}
	}
	// Output:
	// 200 OK biztier_messagebox_spool_messages 0
}
