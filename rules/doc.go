// Package rules is the Business Rules Engine database (BizTalkRuleEngineDb)
// and the engine that runs its policies.
//
// # Policies and translation
//
// A policy version is a BRL ruleset (package [brl] reads and writes the
// files). [Translate] compiles one against a [Registry] into a [Policy]:
// every fact binding is resolved now — a .NET class to a registered Go
// type and its members, a database table to a registered [TableSource],
// an XML document type to the [XMLDocument] values of that type — so an
// unbound fact type is an error at load time ([ErrUnbound]), never at first
// firing. A Policy is immutable and shared; each execution has its own
// working memory ([Engine], or [Policy.Execute], which pools engines).
//
// # Forward chaining
//
// Execution follows BizTalk's match → conflict resolution → act cycle.
// Asserted facts run through a discrimination network built at translation:
// each condition's tests on one fact type are network nodes shared by every
// rule that has them, and the tests "member equal constant" are answered for
// all rules at once by one hash lookup per member; tests across several
// facts are joined per rule from the memories of the facts that passed.
// Rules whose conditions hold go on the agenda, ordered by priority (higher
// first, default 0, negative allowed), then by their place in the policy.
// A fired rule's actions run as a block, top to bottom; the working-memory
// changes they make (Assert, Retract, RetractByType, Update, Halt) take
// effect when the block is done. An Update re-matches the fact against the
// rules whose conditions use it, and only those: re-evaluation costs what
// changed. A rule that keeps making itself match stops at the loop limit
// (65,536 firings by default, BizTalk's maximum execution loop depth) with
// a [LoopError].
//
// # Facts
//
//   - Go values of registered types: class bindings name a type registered
//     with [Registry.RegisterType]; members "get_X", "set_X" and methods map
//     to methods and fields by name.
//   - XML documents: [XMLDocument] with a document type; each binding's
//     selector picks the fact nodes and fields are XPath expressions
//     relative to them (github.com/antchfx/xmlquery). Setters write into the
//     document.
//   - Database rows: [Row] values of a table registered with
//     [Registry.RegisterTable]; a table source's rows are asserted at each
//     execution.
//
// Short-term facts given to Execute are gone when it returns; long-term
// facts come from a [FactRetriever] and stay with the Engine. An
// [Interceptor] sees fact activity, condition evaluations, agenda updates
// and firings, as BizTalk's tracking interceptor does.
//
// # The rule store
//
// [Store] is the group's Rules database. Policy and vocabulary versions are
// unique by name and major.minor and move Saved (editable) → Published
// (immutable: a change needs a new version, and a version is never
// unpublished) → Deployed ↔ Undeployed. A policy is published only after
// every vocabulary it links to that the store holds has a published
// version. Deployments and undeployments are recorded with their time;
// [Store.Purge] drops history after 3 days and the audit trail after 90, as
// BizTalk's cleanup job does. Every change is one commit on the group's log
// (see [DB]; the root package's Group.Rules wires it), so the rule store
// rides backup, log shipping and the passive node with the other databases.
//
// # The runtime
//
// [Runtime] is the Rule Engine Update Service and its cache: each
// execution runs the highest deployed version of the policy, looked up at
// that moment, so deploying a new version switches the next execution to it
// and undeploying it switches back. Translated policies are cached (32
// entries, 3,600 s idle timeout by default, as BizTalk's) and shared by
// concurrent executions.
//
// # Not yet
//
// Writing the Interceptor's events into the Tracking database (and purging
// them with it) and a CallRules step
// for orchestrations are left for later; vocabulary definitions are stored
// and exported but not used to resolve terms (BRL inlines every term).
package rules
