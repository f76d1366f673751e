package tracking

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// Settings say what is tracked for one artifact.
type Settings struct {
	// Instances tracks service instance lifecycle events.
	Instances bool
	// Messages tracks message events.
	Messages bool
	// Properties names the promoted properties ("namespace#name") whose
	// values are kept with message events and can be searched with
	// MessageEventQuery.Property.
	Properties []string
	// Bodies keeps message bodies and contexts (Event.Body). Off by
	// default, as in BizTalk: bodies are the bulk of a tracking database.
	Bodies bool
}

// tracks reports whether s keeps the property name.
func (s *Settings) tracks(name string) bool {
	for _, p := range s.Properties {
		if p == name {
			return true
		}
	}
	return false
}

// DefaultSettings are the settings of artifacts a Profile does not name
// when the Profile is nil: lifecycle and message events on, no properties,
// no bodies.
var DefaultSettings = Settings{Instances: true, Messages: true}

// Profile is the tracking configuration of a group: per-artifact Settings
// and the Settings of everything else. An event takes the Settings of the
// first of these that names it: its Subscription, its Port, its Service
// when ServiceType is ServiceOrchestration; otherwise Default.
//
// A Profile must not be modified after it is passed to Open or SetProfile.
type Profile struct {
	// Default applies to artifacts not named below. Its zero value tracks
	// nothing.
	Default Settings
	// Subscriptions maps subscription IDs (Event.Subscription) to their
	// settings.
	Subscriptions map[uuid.UUID]Settings
	// Ports maps port names (Event.Port) to their settings.
	Ports map[string]Settings
	// Orchestrations maps orchestration names (Event.Service) to their
	// settings.
	Orchestrations map[string]Settings
}

// settingsFor returns the settings that apply to e.
func (p *Profile) settingsFor(e *Event) Settings {
	if e.Subscription != uuid.Nil && p.Subscriptions != nil {
		if s, ok := p.Subscriptions[e.Subscription]; ok {
			return s
		}
	}
	if e.Port != "" && p.Ports != nil {
		if s, ok := p.Ports[e.Port]; ok {
			return s
		}
	}
	if e.ServiceType == ServiceOrchestration && e.Service != "" && p.Orchestrations != nil {
		if s, ok := p.Orchestrations[e.Service]; ok {
			return s
		}
	}
	return p.Default
}

// Options configure a Store. A nil *Options means defaults; Open works on
// a copy.
type Options struct {
	// Profile selects what is tracked. Defaults to a Profile whose Default
	// is DefaultSettings. Change it later with Store.SetProfile.
	Profile *Profile
	// Clock returns the current time; recording times, windows and purge
	// use it. Defaults to time.Now. Tests pass a controllable clock.
	Clock func() time.Time
	// LiveWindow is how long a finished (completed or terminated) instance
	// and its message events stay after it finished before purge removes
	// them (BizTalk's soft purge, @nLiveHours + @nLiveDays). Message events
	// outside any instance age out after it too. Defaults to 24 hours; it
	// must be at least one minute, so that no transaction is still
	// recording into a range purge deletes.
	LiveWindow time.Duration
	// HardDeleteAge is the age after which everything an instance tracked
	// is purged whatever its state (BizTalk's hard purge, with
	// @fHardDeleteRunningInstances). It is counted from the instance's
	// start. Defaults to 7 days; it must be longer than LiveWindow.
	HardDeleteAge time.Duration
	// PurgeInterval is how often the background purge runs. Defaults to one
	// minute (as BizTalk's DTA Purge and Archive job, which however ships
	// disabled: ours runs by default). Negative disables the background
	// purge; Store.Purge still runs one pass on demand.
	PurgeInterval time.Duration
	// PurgeBatchRows bounds the rows one purge batch archives and deletes
	// (whole instances are taken, so a batch may exceed it by one
	// instance's rows). Each batch is one transaction. Defaults to 2000.
	PurgeBatchRows int
	// ArchiveDir is the directory purge writes archive files to before it
	// deletes anything; OpenArchive queries them. Empty means purge
	// deletes without archiving (BizTalk's dtasp_PurgeTrackingDatabase).
	ArchiveDir string
	// FS is used for the archive files. Defaults to vfs.Default.
	FS vfs.FS
	// Events, if set, receives the failures of background work as
	// structured logs at Warn: a decode pass that failed, records kept in
	// the failed table, a purge pass that failed.
	Events *slog.Logger
	// Source, if set, is the MessageBox whose staged tracking records the
	// store takes in (see Source): in the background as they commit, and
	// before every query, so a query sees every operation that returned
	// before it.
	Source Source
}

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Profile == nil {
		c.Profile = &Profile{Default: DefaultSettings}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.LiveWindow == 0 {
		c.LiveWindow = 24 * time.Hour
	}
	if c.HardDeleteAge == 0 {
		c.HardDeleteAge = 7 * 24 * time.Hour
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = time.Minute
	}
	if c.PurgeBatchRows == 0 {
		c.PurgeBatchRows = 2000
	}
	if c.FS == nil {
		c.FS = vfs.Default
	}
	switch {
	case c.LiveWindow < time.Minute:
		return c, fmt.Errorf("%w: LiveWindow %v is under one minute", ErrInvalidOptions, c.LiveWindow)
	case c.HardDeleteAge <= c.LiveWindow:
		return c, fmt.Errorf("%w: HardDeleteAge %v must be longer than LiveWindow %v", ErrInvalidOptions, c.HardDeleteAge, c.LiveWindow)
	case c.PurgeBatchRows < 0:
		return c, fmt.Errorf("%w: PurgeBatchRows %d is negative", ErrInvalidOptions, c.PurgeBatchRows)
	}
	return c, nil
}
