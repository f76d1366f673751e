package rules

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
)

var (
	// ErrInvalid is returned for an argument or a policy that breaks a
	// rule: an empty name, a nil ruleset, a reference to a binding the
	// ruleset does not declare.
	ErrInvalid = errors.New("rules: invalid")
	// ErrUnbound is returned, inside a *TranslateError, by Translate for a
	// fact binding no Go type, table or document type can serve: a class
	// not registered, a table not registered, a member the Go type lacks.
	ErrUnbound = errors.New("rules: unbound fact type")
	// ErrFact is returned by Execute for a fact it cannot use: a value of
	// an unregistered kind, an XML field whose text does not convert to
	// its declared type, a setter whose XPath selects no node.
	ErrFact = errors.New("rules: bad fact")
	// ErrLoopLimit is returned, inside a *LoopError, by Execute when rules
	// fire more often than the policy's maximum execution loop depth
	// (65,536 by default, as BizTalk's): typically an Update that makes
	// its own rule match again.
	ErrLoopLimit = errors.New("rules: maximum execution loop depth exceeded")
	// ErrNotFound is returned for a policy or vocabulary version that does
	// not exist, or a policy with no deployed version.
	ErrNotFound = errors.New("rules: not found")
	// ErrExists is returned when saving a name and version that is taken
	// by an artifact in a state that does not allow overwriting.
	ErrExists = errors.New("rules: already exists")
	// ErrState is returned, inside a *StateError, for a transition the
	// version's state does not allow: editing or unpublishing a published
	// version, deploying a saved one, undeploying one not deployed.
	ErrState = errors.New("rules: not allowed in this state")
	// ErrVocabularyNotPublished is returned, inside a *StateError, when
	// publishing a policy that uses a vocabulary the store holds but has
	// not published.
	ErrVocabularyNotPublished = errors.New("rules: vocabulary not published")
	// ErrCorruption marks a stored value that cannot be decoded. Such
	// errors also wrap codec.ErrCorrupt or keys.ErrCorrupt; like every
	// package's corruption marker it is the module's one corruption kind
	// (biztier.IsCorruption).
	ErrCorruption = sentinel.New("rules: corruption", sentinel.ErrCorruption)
	// ErrClosed is returned by calls after Close. errors.Is(err,
	// biztier.ErrClosed) holds for it too.
	ErrClosed = sentinel.New("rules: closed", sentinel.ErrClosed)
)

// IsCorruption reports whether err marks corrupt stored data.
func IsCorruption(err error) bool { return errors.Is(err, ErrCorruption) }

// TranslateError names the rule and element a policy could not be
// translated for. It wraps ErrUnbound or ErrInvalid.
type TranslateError struct {
	Policy string
	// Rule is the rule's name, or "" for a binding.
	Rule string
	// Element is the BRL element, rendered compactly.
	Element string
	Err     error
}

func (e *TranslateError) Error() string {
	where := e.Policy
	if e.Rule != "" {
		where += ", rule " + e.Rule
	}
	return fmt.Sprintf("rules: translate %s: %v (at %s)", where, e.Err, e.Element)
}

// Unwrap returns the cause.
func (e *TranslateError) Unwrap() error { return e.Err }

// LoopError reports an execution stopped at the loop limit. It wraps
// ErrLoopLimit.
type LoopError struct {
	Policy string
	// Limit is the maximum execution loop depth that was exceeded.
	Limit int
	// Rule is the rule that was about to fire once too often.
	Rule string
}

func (e *LoopError) Error() string {
	return fmt.Sprintf("rules: policy %s: rule %q would fire more than %d times in one execution (maximum execution loop depth); an Update or Assert in its actions makes it match again",
		e.Policy, e.Rule, e.Limit)
}

// Unwrap returns ErrLoopLimit.
func (e *LoopError) Unwrap() error { return ErrLoopLimit }

// StateError reports a rule store transition refused by a version's state.
// It wraps ErrState or ErrVocabularyNotPublished.
type StateError struct {
	// Op is the transition, such as "publish" or "deploy".
	Op string
	// Name and Version name the policy or vocabulary version.
	Name    string
	Version Version
	// State is the version's state when the transition was refused.
	State  State
	Reason string
	Err    error
}

func (e *StateError) Error() string {
	return fmt.Sprintf("rules: %s %s %s (%s): %s", e.Op, e.Name, e.Version, e.State, e.Reason)
}

// Unwrap returns the cause.
func (e *StateError) Unwrap() error { return e.Err }
