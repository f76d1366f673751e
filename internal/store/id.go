package store

import "fmt"

// ID names one database of the group. Its value is written into every
// commit frame, so values never change and retired ones are never reused.
type ID uint8

const (
	// MessageBox is BizTalkMsgBoxDb.
	MessageBox ID = 1
	// Tracking is BizTalkDTADb.
	Tracking ID = 2
	// Management is BizTalkMgmtDb.
	Management ID = 3
	// SSO is SSODB.
	SSO ID = 4
	// BAM is BAMPrimaryImport.
	BAM ID = 5
	// Rules is BizTalkRuleEngineDb.
	Rules ID = 6

	maxID = Rules
)

// All lists every database, in ID order.
var All = []ID{MessageBox, Tracking, Management, SSO, BAM, Rules}

// String is the database's directory name.
func (id ID) String() string {
	switch id {
	case MessageBox:
		return "messagebox"
	case Tracking:
		return "tracking"
	case Management:
		return "mgmt"
	case SSO:
		return "sso"
	case BAM:
		return "bam"
	case Rules:
		return "rules"
	}
	return fmt.Sprintf("store(%d)", uint8(id))
}

// Valid reports whether id names a known database.
func (id ID) Valid() bool { return id >= MessageBox && id <= maxID }
