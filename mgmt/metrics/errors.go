package metrics

import "errors"

// ErrNoGroup is returned by New when Options.Group is nil.
var ErrNoGroup = errors.New("metrics: no group")
