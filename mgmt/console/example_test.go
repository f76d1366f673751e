package console_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/mgmt/console"
)

// Mount the console with an Authorizer of the application's own. Reads need
// none; a write by anyone but the operator is refused.
func Example() {
	g, err := biztier.OpenInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	h, err := console.New(console.Options{
		Group: g,
		Authorizer: console.AuthorizerFunc(func(r *http.Request, a console.Action) (string, error) {
			if user, _, ok := r.BasicAuth(); ok && user == "operator" {
				return user, nil
			}
			return "", console.ErrUnauthenticated
		}),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/api/suspended")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, strings.Contains(string(body), `"count": 0`))

	res, err = http.Post(srv.URL+"/api/suspended/terminate", "application/x-www-form-urlencoded", strings.NewReader("confirm=0"))
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output:
	// 200 true
	// 403
}
