package console

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/cluster"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt/audit"
)

//go:embed templates/*.html
var templateFS embed.FS

// Handler is the console. It is safe for concurrent use.
type Handler struct {
	opts   Options
	mux    *http.ServeMux
	tokens *tokens
	origin *http.CrossOriginProtection
	pages  map[string]*template.Template // by page name; read-only after New
}

var _ http.Handler = (*Handler)(nil)

// New returns the console over opts.Group, or over opts.Node's group. It
// fails with ErrNoGroup without either.
func New(opts Options) (*Handler, error) {
	if opts.Group == nil && opts.Node == nil {
		return nil, ErrNoGroup
	}
	o := opts.withDefaults()
	h := &Handler{
		opts:   o,
		mux:    http.NewServeMux(),
		tokens: newTokens(),
		origin: http.NewCrossOriginProtection(),
		pages:  map[string]*template.Template{},
	}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// group returns the group shown: the node's current one for a pair (a
// bootstrap replaces a node's group), else Options.Group.
func (h *Handler) group() *biztier.Group {
	if h.opts.Node != nil {
		return h.opts.Node.Group()
	}
	return h.opts.Group
}

// messageBox returns the MessageBox to read and write: on a pair, the
// node's, which exists only while the node is active and whose writes are
// fenced (cluster.ErrNotActive elsewhere).
func (h *Handler) messageBox() (*messagebox.Store, error) {
	if h.opts.Node != nil {
		return h.opts.Node.MessageBox()
	}
	return h.opts.Group.MessageBox()
}

// trail returns the group's audit trail, committed through the node on a
// pair.
func (h *Handler) trail() *audit.Log {
	o := &audit.Options{Now: h.opts.Now}
	if h.opts.Node != nil {
		o.Updater = h.opts.Node
	}
	return audit.New(h.group(), o)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	h.mux.ServeHTTP(w, r)
}

// view computes a page's data; the same data is the page's JSON.
type view func(r *http.Request) (any, error)

// page registers a read-only page at pattern and its JSON twin at /api/...
func (h *Handler) page(name, pattern string, v view) {
	h.mux.HandleFunc("GET "+pattern, func(w http.ResponseWriter, r *http.Request) {
		data, err := v(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.html(w, r, name, data)
	})
	api := "/api" + pattern
	if pattern == "/{$}" {
		api = "/api/overview"
	}
	h.mux.HandleFunc("GET "+api, func(w http.ResponseWriter, r *http.Request) {
		data, err := v(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, data)
	})
}

func (h *Handler) routes() {
	h.page("overview", "/{$}", h.overview)
	h.page("hosts", "/hosts", h.hosts)
	h.page("suspended", "/suspended", h.suspended)
	h.page("message", "/messages/{id}", h.message)
	h.page("subscriptions", "/subscriptions", h.subscriptions)
	h.page("flow", "/flow/{id}", h.flow)
	h.page("bam", "/bam", h.bam)
	h.page("rules", "/rules", h.rules)
	h.page("sso", "/sso", h.ssoApps)
	h.page("audit", "/audit", h.auditTrail)
	h.mux.HandleFunc("GET /api/csrf", h.csrfToken)
	h.mux.Handle("POST /pair/switchover", h.switchover(false))
	h.mux.Handle("POST /api/pair/switchover", h.switchover(true))
	for _, a := range []Action{ActionResume, ActionTerminate} {
		h.mux.Handle("POST /suspended/"+string(a), h.write(a, false))
		h.mux.Handle("POST /api/suspended/"+string(a), h.write(a, true))
	}
}

// csrfToken gives API clients the token of their session (setting the
// cookie if they have none).
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"token": h.tokens.token(h.tokens.session(w, r)), "header": tokenHeader})
}

// layout is what every HTML page renders with.
type layout struct {
	Page  string
	Token string
	Pair  bool
	View  any
}

// html renders the page name with data.
func (h *Handler) html(w http.ResponseWriter, r *http.Request, name string, data any) {
	t := h.pages[name]
	l := layout{Page: name, Token: h.tokens.token(h.tokens.session(w, r)), Pair: h.opts.Node != nil, View: data}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", l); err != nil {
		http.Error(w, "console: render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, b.String())
}

// status maps an error to its HTTP status.
func status(err error) int {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrBadToken):
		return http.StatusForbidden
	case errors.Is(err, ErrCountChanged), errors.Is(err, cluster.ErrNoStandby):
		return http.StatusConflict
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, messagebox.ErrNotFound), errors.Is(err, ErrNotConfigured):
		return http.StatusNotFound
	case errors.Is(err, biztier.ErrClosed), errors.Is(err, cluster.ErrNotActive):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail answers err as JSON under /api/ and as an HTML page elsewhere.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(code)
	var b strings.Builder
	l := layout{Page: "error", View: map[string]any{"Status": code, "Text": http.StatusText(code), "Error": err.Error()}}
	if e := h.pages["error"].ExecuteTemplate(&b, "layout", l); e != nil {
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprint(w, b.String())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // a failed write to the client has no one left to tell
}
