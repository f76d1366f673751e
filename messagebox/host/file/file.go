package file

import (
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/biztier/biztier/messagebox/host"
)

// BizTalk's FILE adapter property names and defaults.
const (
	// PropReceivedFileName is the full path of the file a message was
	// read from (promoted).
	PropReceivedFileName = "FILE.ReceivedFileName"
	// PropFileCreationTime is when that file was last written (written).
	PropFileCreationTime = "FILE.FileCreationTime"

	DefaultBatchSize        = 20
	DefaultBatchSizeInBytes = 102400
	DefaultPollingInterval  = 60 * time.Second
)

// Copy modes of a send port (the CopyMode property).
const (
	CopyAppend    = 0
	CopyCreateNew = 1
	CopyOverwrite = 2
)

// Options configure an Adapter. A nil *Options means defaults.
type Options struct {
	// Root, if set, is the folder addresses are placed under (see the
	// package documentation).
	Root string
	// Now stamps %datetime% and %time%. Defaults to time.Now.
	Now func() time.Time
}

// Adapter is the FILE adapter, both halves. It is safe for concurrent use.
type Adapter struct {
	opts Options
	// appendMu serialises appends to one file, which are a read, a copy
	// and a rename: two at once would lose one. It guards appending.
	appendMu  sync.Mutex
	appending map[string]*sync.Mutex
}

var (
	_ host.ReceiveAdapter = (*Adapter)(nil)
	_ host.SendAdapter    = (*Adapter)(nil)
)

// New returns a FILE adapter.
func New(opts *Options) *Adapter {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Adapter{opts: o, appending: map[string]*sync.Mutex{}}
}

// Register registers a FILE adapter with opts in r under "FILE".
func Register(r *host.Registry, opts *Options) error {
	return r.Register("FILE", New(opts))
}

// path maps a binding file's address to a local path.
func (a *Adapter) path(addr string) string {
	p := strings.ReplaceAll(strings.TrimSpace(addr), `\`, "/")
	if len(p) >= 2 && p[1] == ':' && (p[0]|0x20 >= 'a' && p[0]|0x20 <= 'z') {
		p = p[2:]
	}
	if a.opts.Root != "" {
		return filepath.Join(a.opts.Root, filepath.FromSlash(p))
	}
	return filepath.FromSlash(p)
}

// lockFile returns the append lock of path.
func (a *Adapter) lockFile(path string) *sync.Mutex {
	a.appendMu.Lock()
	defer a.appendMu.Unlock()
	m := a.appending[path]
	if m == nil {
		m = &sync.Mutex{}
		a.appending[path] = m
	}
	return m
}
