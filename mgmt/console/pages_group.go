package console

import (
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/cluster"
	"github.com/biztier/biztier/messagebox"
)

// overviewView is the overview page: the group at a glance.
type overviewView struct {
	GroupID    string         `json:"groupId"`
	Dir        string         `json:"dir"`
	Log        logView        `json:"log"`
	MessageBox *mbView        `json:"messageBox,omitempty"`
	Tracking   trackingView   `json:"tracking"`
	Pair       *pairView      `json:"pair,omitempty"`
	Shipping   *shippingView  `json:"shipping,omitempty"`
	Marks      []biztier.Mark `json:"marks"`
	Databases  []databaseView `json:"databases"`
}

type logView struct {
	LSN            uint64  `json:"lsn"`
	FirstLSN       uint64  `json:"firstLsn"`
	Bytes          int64   `json:"bytes"`
	Segments       int     `json:"segments"`
	Commits        uint64  `json:"commits"`
	Fsyncs         uint64  `json:"fsyncs"`
	FramesPerFsync float64 `json:"framesPerFsync"`
	CommitP50      string  `json:"commitP50"`
	CommitP99      string  `json:"commitP99"`
}

type databaseView struct {
	Name    string `json:"name"`
	Applied uint64 `json:"applied"`
}

type mbView struct {
	Messages           int     `json:"messages"`
	Entries            int     `json:"entries"`
	Suspended          int     `json:"suspended"`
	SuspendedResumable int     `json:"suspendedResumable"`
	RoutingFailures    int     `json:"routingFailures"`
	Published          uint64  `json:"published"`
	Completed          uint64  `json:"completed"`
	PublishRate        float64 `json:"publishRate"`
	CompleteRate       float64 `json:"completeRate"`
	PublishThrottle    string  `json:"publishThrottle"`
	DeliveryThrottle   string  `json:"deliveryThrottle"`
	Instances          int     `json:"instances"`
	Zombies            int     `json:"zombies"`
}

type trackingView struct {
	Decoded uint64 `json:"decoded"`
	Failed  uint64 `json:"failed"`
	Error   string `json:"error,omitempty"`
}

type pairView struct {
	Node          string `json:"node"`
	Role          string `json:"role"`
	Active        bool   `json:"active"`
	Mode          string `json:"mode"`
	Epoch         uint64 `json:"epoch"`
	Leader        string `json:"leader"`
	SyncState     string `json:"syncState"`
	Peer          string `json:"peer"`
	PeerConnected bool   `json:"peerConnected"`
	LagLSN        uint64 `json:"lagLsn"`
	LagTime       string `json:"lagTime"`
	LastError     string `json:"lastError,omitempty"`
	Alarm         string `json:"alarm,omitempty"`
}

type shippingView struct {
	LastRun     time.Time `json:"lastRun"`
	Runs        uint64    `json:"runs"`
	Fulls       uint64    `json:"fulls"`
	BackedUpLSN uint64    `json:"backedUpLsn"`
	ShippedLSN  uint64    `json:"shippedLsn"`
	LagLSN      uint64    `json:"lagLsn"`
	LagTime     string    `json:"lagTime"`
	LastError   string    `json:"lastError,omitempty"`
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (h *Handler) overview(r *http.Request) (any, error) {
	g := h.group()
	st := g.Stats()
	v := overviewView{
		GroupID: g.ID().String(), Dir: g.Dir(),
		Log: logView{
			LSN: st.LSN, FirstLSN: st.FirstLSN, Bytes: st.LogBytes, Segments: st.LogSegments,
			Commits: st.Commits, Fsyncs: st.Fsyncs, FramesPerFsync: st.FramesPerFsync,
			CommitP50: st.CommitP50.String(), CommitP99: st.CommitP99.String(),
		},
	}
	// A passive node has no MessageBox open: its overview shows the log,
	// the databases and the pair.
	if mb, err := h.messageBox(); err == nil {
		ms := mb.Stats()
		v.MessageBox = &mbView{
			Messages: ms.Messages, Entries: ms.Entries, Suspended: ms.Suspended,
			SuspendedResumable: ms.SuspendedResumable, RoutingFailures: ms.RoutingFailures,
			Published: ms.Published, Completed: ms.Completed,
			PublishRate: ms.PublishRate, CompleteRate: ms.CompleteRate,
			PublishThrottle: ms.PublishThrottle.String(), DeliveryThrottle: ms.DeliveryThrottle.String(),
			Instances: ms.Instances, Zombies: ms.Zombies,
		}
	} else if !errors.Is(err, cluster.ErrNotActive) {
		return nil, err
	}
	for db, lsn := range st.Applied {
		v.Databases = append(v.Databases, databaseView{Name: db.String(), Applied: lsn})
	}
	sort.Slice(v.Databases, func(i, j int) bool { return v.Databases[i].Name < v.Databases[j].Name })
	if tr, err := g.Tracking(); err == nil {
		ds := tr.DecodeStats()
		v.Tracking = trackingView{Decoded: ds.Decoded, Failed: ds.Failed, Error: errText(ds.Err)}
	}
	if n := h.opts.Node; n != nil {
		s := n.Status()
		v.Pair = &pairView{
			Node: s.ID, Role: s.Role.String(), Active: s.Role == cluster.Active, Mode: s.Mode.String(), Epoch: s.Epoch, Leader: s.Leader.ID,
			SyncState: s.SyncState, Peer: s.Peer, PeerConnected: s.PeerConnected,
			LagLSN: s.LagLSN, LagTime: s.LagTime.String(), LastError: errText(s.LastError), Alarm: errText(s.Alarm),
		}
	}
	if sh := h.opts.Shipping; sh != nil {
		s := sh.Status()
		v.Shipping = &shippingView{
			LastRun: s.LastRun, Runs: s.Runs, Fulls: s.Fulls, BackedUpLSN: s.BackedUpLSN, ShippedLSN: s.ShippedLSN,
			LagLSN: s.LagLSN, LagTime: s.LagTime.String(), LastError: errText(s.LastErr),
		}
	}
	marks := g.Marks()
	if len(marks) > 5 {
		marks = marks[len(marks)-5:]
	}
	v.Marks = marks
	return v, nil
}

// hostView is one host: its queue and the host instances Management knows.
type hostView struct {
	Name      string                `json:"name"`
	Queue     messagebox.QueueStats `json:"queue"`
	Depth     int                   `json:"depth"`
	Instances []hostInstanceView    `json:"instances"`
}

type hostInstanceView struct {
	Server string `json:"server"`
	State  string `json:"state"`
}

func (h *Handler) hosts(r *http.Request) (any, error) {
	mb, err := h.messageBox()
	if err != nil {
		return nil, err
	}
	mg, err := h.group().Management()
	if err != nil {
		return nil, err
	}
	st := mb.Stats()
	out := []hostView{}
	for _, name := range mb.Hosts() {
		q := st.Hosts[name]
		hv := hostView{Name: name, Queue: q, Depth: q.Depth(), Instances: []hostInstanceView{}}
		for _, hi := range mg.HostInstances(name) {
			hv.Instances = append(hv.Instances, hostInstanceView{Server: hi.Server, State: hi.State.String()})
		}
		out = append(out, hv)
	}
	return out, nil
}
