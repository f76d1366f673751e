package httpadapter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"github.com/biztier/biztier/messagebox/host/pipeline"
)

// Defaults of Options.
const (
	DefaultMaxBody        = 10 << 20
	DefaultRequestTimeout = 60 * time.Second
)

// HeaderMessageID is the response header that carries the IDs of the
// messages a request was published as.
const HeaderMessageID = "X-Message-Id"

// ErrStatus is wrapped by the error of a send that got an answer other
// than 2xx.
var ErrStatus = errors.New("httpadapter: unsuccessful status")

// Options configure an Adapter. A nil *Options means defaults.
type Options struct {
	// Client sends messages. Defaults to a client with no timeout of its
	// own (each request has RequestTimeout).
	Client *http.Client
	// MaxBody caps a received request's body. Defaults to DefaultMaxBody.
	MaxBody int64
}

// Adapter is the HTTP adapter, both halves, and the http.Handler of its
// receive locations. It is safe for concurrent use.
type Adapter struct {
	opts Options
	// mu guards byPath, the running locations by URL path, and changed,
	// closed and replaced whenever a location starts or stops.
	mu      sync.RWMutex
	byPath  map[string]*host.Endpoint
	changed chan struct{}
}

var (
	_ host.ReceiveAdapter = (*Adapter)(nil)
	_ host.SendAdapter    = (*Adapter)(nil)
	_ http.Handler        = (*Adapter)(nil)
)

// New returns an HTTP adapter.
func New(opts *Options) *Adapter {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	return &Adapter{opts: o, byPath: map[string]*host.Endpoint{}, changed: make(chan struct{})}
}

// Register registers a with r under "HTTP".
func Register(r *host.Registry, a *Adapter) error { return r.Register("HTTP", a) }

// pathOf is the URL path a location's address serves.
func pathOf(addr string) string {
	addr = strings.TrimSpace(addr)
	if u, err := url.Parse(addr); err == nil && u.Path != "" {
		return u.Path
	}
	if i := strings.IndexByte(addr, '?'); i >= 0 {
		addr = addr[:i]
	}
	return addr
}

// Receive implements host.ReceiveAdapter: the location takes requests on
// its path until ctx is done.
func (a *Adapter) Receive(ctx context.Context, ep *host.Endpoint) error {
	p := pathOf(ep.Address)
	a.mu.Lock()
	if other := a.byPath[p]; other != nil && other.Location != ep.Location {
		a.mu.Unlock()
		return fmt.Errorf("httpadapter: location %s: path %s is taken by %s", ep.Location, p, other.Location)
	}
	a.byPath[p] = ep
	a.notifyLocked()
	a.mu.Unlock()
	<-ctx.Done()
	a.mu.Lock()
	if a.byPath[p] == ep {
		delete(a.byPath, p)
		a.notifyLocked()
	}
	a.mu.Unlock()
	return nil
}

// notifyLocked wakes WaitRunning. a.mu must be held.
func (a *Adapter) notifyLocked() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// WaitRunning waits until a receive location takes requests on path (a
// readiness check), or ctx is done.
func (a *Adapter) WaitRunning(ctx context.Context, path string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		a.mu.RLock()
		ep, changed := a.byPath[path], a.changed
		a.mu.RUnlock()
		if ep != nil {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("httpadapter: no location runs at %s: %w", path, ctx.Err())
		}
	}
}

// ServeHTTP receives a POST on a running location's path (see the package
// documentation for the answers).
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	ep := a.byPath[r.URL.Path]
	a.mu.RUnlock()
	if ep == nil {
		http.Error(w, "no receive location runs at this path", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a message", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.opts.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "message too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	m := messagebox.NewMessage(body)
	if ct := r.Header.Get("Content-Type"); ct != "" {
		m.Parts[0].ContentType = ct
	}
	res, err := ep.Submit(r.Context(), m)
	if err != nil {
		http.Error(w, "not received, send it again: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	ids := make([]string, len(res[0].IDs))
	for i, id := range res[0].IDs {
		ids[i] = id.String()
	}
	w.Header().Set(HeaderMessageID, strings.Join(ids, ","))
	switch rerr := res[0].Err; {
	case rerr == nil:
		w.WriteHeader(http.StatusAccepted)
	case errors.Is(rerr, pipeline.ErrDisassembly):
		http.Error(w, "received and suspended: "+rerr.Error(), http.StatusBadRequest)
	default:
		http.Error(w, "received and suspended: "+rerr.Error(), http.StatusInternalServerError)
	}
}

// Send implements host.SendAdapter: it POSTs the body part to the
// transport's address.
func (a *Adapter) Send(ctx context.Context, t *host.Transport, m *messagebox.Message) error {
	props, err := host.ParseTransportData(t.Data)
	if err != nil {
		return fmt.Errorf("httpadapter: send port %s: %w: %w", t.Port, host.ErrPermanent, err)
	}
	timeout := DefaultRequestTimeout
	if s := props["RequestTimeout"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("httpadapter: send port %s: RequestTimeout %q: %w", t.Port, s, host.ErrPermanent)
		}
		timeout = time.Duration(n) * time.Second
	}
	bp := m.BodyPart()
	if bp == nil {
		return fmt.Errorf("httpadapter: send port %s: %w: message %s has no body part", t.Port, host.ErrPermanent, m.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Address, bytes.NewReader(bp.Body))
	if err != nil {
		return fmt.Errorf("httpadapter: send port %s: %w: %w", t.Port, host.ErrPermanent, err)
	}
	ct := props["ContentType"]
	if ct == "" {
		ct = bp.ContentType
	}
	req.Header.Set("Content-Type", ct)
	resp, err := a.opts.Client.Do(req)
	if err != nil {
		return fmt.Errorf("httpadapter: send port %s: %w", t.Port, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests, c >= 500:
		return fmt.Errorf("httpadapter: send port %s: %w: %s", t.Port, ErrStatus, resp.Status)
	default:
		return fmt.Errorf("httpadapter: send port %s: %w: %w: %s", t.Port, host.ErrPermanent, ErrStatus, resp.Status)
	}
}
