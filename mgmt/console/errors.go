package console

import "errors"

var (
	// ErrNoGroup is returned by New when Options.Group is nil.
	ErrNoGroup = errors.New("console: no group")
	// ErrForbidden is what the default Authorizer returns, and what an
	// Authorizer should wrap to refuse: the console answers 403.
	ErrForbidden = errors.New("console: forbidden")
	// ErrUnauthenticated is what an Authorizer should wrap when it cannot
	// tell who is asking: the console answers 401.
	ErrUnauthenticated = errors.New("console: not authenticated")
	// ErrBadToken refuses a write without the console's anti-forgery token.
	ErrBadToken = errors.New("console: missing or invalid anti-forgery token")
	// ErrCountChanged refuses a bulk write whose query no longer matches the
	// count the operator confirmed.
	ErrCountChanged = errors.New("console: the query matches another count than confirmed")
	// ErrBadRequest marks a malformed query or form.
	ErrBadRequest = errors.New("console: bad request")
	// ErrNotConfigured answers a page whose store the Options did not give.
	ErrNotConfigured = errors.New("console: not configured")
)
