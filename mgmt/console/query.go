package console

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/biztier/biztier/messagebox"
)

// suspendedQuery is the suspended page's query as the operator typed it:
// kept as text so that the form shows it back and the bulk action's form
// carries exactly what was counted.
type suspendedQuery struct {
	// Service is a send port's or an orchestration's name (see resolve).
	Service       string `json:"service,omitempty"`
	Host          string `json:"host,omitempty"`
	Kind          string `json:"kind,omitempty"` // "activation", "instance", "routing"
	Subscription  string `json:"subscription,omitempty"`
	ErrorContains string `json:"error,omitempty"`
	Property      string `json:"property,omitempty"`
	Value         string `json:"value,omitempty"`
	After         string `json:"after,omitempty"` // RFC 3339
	Before        string `json:"before,omitempty"`
	Resumable     bool   `json:"resumable,omitempty"`
}

func parseSuspendedQuery(v url.Values) suspendedQuery {
	return suspendedQuery{
		Service:       strings.TrimSpace(v.Get("service")),
		Host:          strings.TrimSpace(v.Get("host")),
		Kind:          strings.TrimSpace(v.Get("kind")),
		Subscription:  strings.TrimSpace(v.Get("subscription")),
		ErrorContains: v.Get("error"),
		Property:      strings.TrimSpace(v.Get("property")),
		Value:         v.Get("value"),
		After:         strings.TrimSpace(v.Get("after")),
		Before:        strings.TrimSpace(v.Get("before")),
		Resumable:     v.Get("resumable") == "true" || v.Get("resumable") == "on",
	}
}

// values returns q as form values, for links and hidden fields.
func (q suspendedQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("service", q.Service)
	set("host", q.Host)
	set("kind", q.Kind)
	set("subscription", q.Subscription)
	set("error", q.ErrorContains)
	set("property", q.Property)
	set("value", q.Value)
	set("after", q.After)
	set("before", q.Before)
	if q.Resumable {
		v.Set("resumable", "true")
	}
	return v
}

// String describes q for the audit trail.
func (q suspendedQuery) String() string {
	if s := q.values().Encode(); s != "" {
		return s
	}
	return "(all suspended entries)"
}

// kinds maps the kind field's words to the MessageBox's kinds.
var kinds = map[string]messagebox.Kind{
	"activation": messagebox.Activation,
	"instance":   messagebox.Instance,
	"routing":    messagebox.RoutingFailure,
}

// messagebox converts q, failing with ErrBadRequest for a malformed field.
// A property's value is compared as a string, the type binding files give
// most properties.
func (q suspendedQuery) messagebox() (messagebox.SuspendedQuery, error) {
	out := messagebox.SuspendedQuery{
		Host: q.Host, ErrorContains: q.ErrorContains,
		Property: q.Property, ResumableOnly: q.Resumable,
	}
	if q.Kind != "" {
		k, ok := kinds[q.Kind]
		if !ok {
			return out, fmt.Errorf("%w: kind %q (want activation, instance or routing)", ErrBadRequest, q.Kind)
		}
		out.Kind = k
	}
	if q.Subscription != "" {
		id, err := uuid.Parse(q.Subscription)
		if err != nil {
			return out, fmt.Errorf("%w: subscription: %v", ErrBadRequest, err)
		}
		out.Subscription = id
	}
	if q.Value != "" {
		if q.Property == "" {
			return out, fmt.Errorf("%w: a value needs a property", ErrBadRequest)
		}
		out.Value = messagebox.String(q.Value)
	}
	for _, f := range []struct {
		text string
		to   *time.Time
		name string
	}{{q.After, &out.After, "after"}, {q.Before, &out.Before, "before"}} {
		if f.text == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.text)
		if err != nil {
			return out, fmt.Errorf("%w: %s: %v", ErrBadRequest, f.name, err)
		}
		*f.to = t
	}
	return out, nil
}

// parseCount reads the count the operator confirmed.
func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: confirm must be the count shown", ErrBadRequest)
	}
	return n, nil
}
