package console

import (
	"fmt"
	"net/http"
)

// Action names a write the console can make.
type Action string

// The console's writes.
const (
	// ActionResume resumes the suspended entries a query matches.
	ActionResume Action = "resume"
	// ActionTerminate terminates the suspended entries a query matches.
	ActionTerminate Action = "terminate"
	// ActionSwitchover hands the active role of a pair to the passive
	// (cluster.Node.Switchover).
	ActionSwitchover Action = "switchover"
)

// Authorizer decides who may write. The console calls it for every write,
// before anything changes. Authorize returns the principal to record in the
// audit trail, or an error: one wrapping ErrUnauthenticated gives 401, any other
// 403. Implementations must be safe for concurrent use.
type Authorizer interface {
	Authorize(r *http.Request, a Action) (principal string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(r *http.Request, a Action) (string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(r *http.Request, a Action) (string, error) { return f(r, a) }

// denyAll is the default Authorizer: no write is possible until the
// embedding application says who may.
type denyAll struct{}

func (denyAll) Authorize(_ *http.Request, a Action) (string, error) {
	return "", fmt.Errorf("%w: %s: the console has no Authorizer", ErrForbidden, a)
}

var _ Authorizer = denyAll{}
var _ Authorizer = AuthorizerFunc(nil)
