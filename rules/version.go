package rules

import "fmt"

// Version is a policy's or vocabulary's major.minor version number.
type Version struct {
	Major, Minor int
}

// String formats the version as major.minor.
func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Less orders versions by major, then minor.
func (v Version) Less(w Version) bool {
	return v.Major < w.Major || v.Major == w.Major && v.Minor < w.Minor
}

// State is a version's place in its life cycle: Saved (editable) →
// Published (immutable) → Deployed ↔ Undeployed. Vocabularies are only ever
// Saved or Published.
type State uint8

// The states, in the order a version passes through them.
const (
	StateSaved State = iota + 1
	StatePublished
	StateDeployed
	StateUndeployed
)

// String names the state in lower case, as BizTalk's tools show it.
func (s State) String() string {
	switch s {
	case StateSaved:
		return "saved"
	case StatePublished:
		return "published"
	case StateDeployed:
		return "deployed"
	case StateUndeployed:
		return "undeployed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Published reports whether the version is immutable: published, deployed
// or undeployed. A published version is never unpublished.
func (s State) Published() bool { return s >= StatePublished }
