package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
)

// messageView is a stored message: its context and its parts.
type messageView struct {
	ID          string         `json:"id"`
	PublishedAt time.Time      `json:"publishedAt"`
	Context     []propertyView `json:"context"`
	Parts       []partView     `json:"parts"`
}

type propertyView struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Promoted bool   `json:"promoted"`
}

type partView struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	IsBody      bool   `json:"isBody"`
	Size        int    `json:"size"`
	// Text is the part's bytes as text, cut at Options.MaxBody; Binary is
	// set instead when they are not UTF-8.
	Text      string `json:"text,omitempty"`
	Binary    bool   `json:"binary,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return id, fmt.Errorf("%w: message id: %v", ErrBadRequest, err)
	}
	return id, nil
}

func (h *Handler) message(r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	mb, err := h.messageBox()
	if err != nil {
		return nil, err
	}
	m, err := mb.GetMessage(r.Context(), id)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", id, err)
	}
	v := messageView{ID: m.ID.String(), PublishedAt: m.PublishedAt, Context: properties(m.Context)}
	for _, p := range m.Parts {
		pv := partView{Name: p.Name, ContentType: p.ContentType, IsBody: p.IsBody, Size: len(p.Body)}
		b := p.Body
		if len(b) > h.opts.MaxBody {
			b, pv.Truncated = b[:h.opts.MaxBody], true
		}
		// A cut may split the last character: step back to a boundary.
		for i := 0; pv.Truncated && i < utf8.UTFMax-1 && len(b) > 0 && !utf8.Valid(b); i++ {
			b = b[:len(b)-1]
		}
		if utf8.Valid(b) {
			pv.Text = string(b)
		} else {
			pv.Binary = true
		}
		v.Parts = append(v.Parts, pv)
	}
	return v, nil
}

func properties(ps []messagebox.Property) []propertyView {
	out := make([]propertyView, 0, len(ps))
	for _, p := range ps {
		out = append(out, propertyView{Name: p.Name, Value: p.Value.String(), Promoted: p.Promoted})
	}
	return out
}

// subscriptionsView lists the subscriptions and, for a message, why each
// matched it or not.
type subscriptionsView struct {
	Message       string             `json:"message,omitempty"`
	Subscriptions []subscriptionView `json:"subscriptions"`
}

type subscriptionView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Host      string `json:"host"`
	Kind      string `json:"kind"`
	Priority  int    `json:"priority"`
	Port      string `json:"port,omitempty"`
	Service   string `json:"service,omitempty"`
	Paused    bool   `json:"paused,omitempty"`
	Predicate string `json:"predicate"`
	// Matched and Reason are set with ?message=.
	Matched *bool  `json:"matched,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func (h *Handler) subscriptions(r *http.Request) (any, error) {
	mb, err := h.messageBox()
	if err != nil {
		return nil, err
	}
	v := subscriptionsView{Subscriptions: []subscriptionView{}}
	explained := map[uuid.UUID]messagebox.Explanation{}
	if s := strings.TrimSpace(r.URL.Query().Get("message")); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: message id: %v", ErrBadRequest, err)
		}
		xs, err := mb.ExplainMessage(r.Context(), id)
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", id, err)
		}
		for _, x := range xs {
			explained[x.Subscription] = x
		}
		v.Message = id.String()
	}
	for _, s := range mb.Subscriptions() {
		sv := subscriptionView{
			ID: s.ID.String(), Name: s.Name, Host: s.Host, Kind: s.Kind.String(), Priority: s.Priority,
			Port: s.Port, Service: s.Service, Paused: s.Paused, Predicate: s.Predicate.String(),
		}
		if x, ok := explained[s.ID]; ok {
			m := x.Matched
			sv.Matched, sv.Reason = &m, x.Reason()
		}
		v.Subscriptions = append(v.Subscriptions, sv)
	}
	return v, nil
}

// flowView is tracking's message flow around a message, with its events.
type flowView struct {
	Message   string         `json:"message"`
	Instances []flowInstance `json:"instances"`
	Edges     []flowEdge     `json:"edges"`
	Events    []messageEvent `json:"events"`
	Truncated bool           `json:"truncated"`
}

type flowInstance struct {
	ID      string    `json:"id"`
	Service string    `json:"service"`
	Type    string    `json:"type"`
	Host    string    `json:"host"`
	State   string    `json:"state"`
	Started time.Time `json:"started"`
	Error   string    `json:"error,omitempty"`
}

type flowEdge struct {
	Message   string    `json:"message"`
	Instance  string    `json:"instance"`
	Direction string    `json:"direction"`
	Kind      string    `json:"kind"`
	Port      string    `json:"port,omitempty"`
	Recorded  time.Time `json:"recorded"`
}

type messageEvent struct {
	Kind     string    `json:"kind"`
	Recorded time.Time `json:"recorded"`
	Service  string    `json:"service,omitempty"`
	Host     string    `json:"host,omitempty"`
	Port     string    `json:"port,omitempty"`
	Adapter  string    `json:"adapter,omitempty"`
	Error    string    `json:"error,omitempty"`
}

func (h *Handler) flow(r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	tr, err := h.group().Tracking()
	if err != nil {
		return nil, err
	}
	f, err := tr.MessageFlow(r.Context(), id, nil)
	if err != nil {
		return nil, fmt.Errorf("flow of %s: %w", id, err)
	}
	v := flowView{Message: id.String(), Truncated: f.Truncated, Instances: []flowInstance{}, Edges: []flowEdge{}, Events: []messageEvent{}}
	for _, in := range f.Instances {
		v.Instances = append(v.Instances, flowInstance{
			ID: in.ID.String(), Service: in.Service, Type: in.ServiceType.String(), Host: in.Host,
			State: in.State.String(), Started: in.Started, Error: in.Error,
		})
	}
	for _, e := range f.Edges {
		v.Edges = append(v.Edges, flowEdge{
			Message: e.MessageID.String(), Instance: e.InstanceID.String(), Direction: e.Direction.String(),
			Kind: e.Kind.String(), Port: e.Port, Recorded: e.Recorded,
		})
	}
	page, err := tr.MessageEvents(r.Context(), tracking.MessageEventQuery{MessageID: id, OldestFirst: true, Limit: h.opts.PageSize})
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", id, err)
	}
	for _, e := range page.Events {
		v.Events = append(v.Events, messageEvent{
			Kind: e.Kind.String(), Recorded: e.Recorded, Service: e.Service, Host: e.Host,
			Port: e.Port, Adapter: e.Adapter, Error: e.Error,
		})
	}
	return v, nil
}
