// Package brl reads and writes the Business Rules Language, the XML that
// BizTalk's Rules Engine Deployment Wizard and Business Rule Composer export
// (namespace http://schemas.microsoft.com/businessruleslanguage/2002):
// rulesets (policy versions) with bindings, rules, conditions and actions,
// and vocabularies with their definitions.
//
// # Model
//
// A [Document] holds [Ruleset] and [Vocabulary] values. Names, versions,
// priorities and the structure of rules are typed; the elements inside a
// condition, an action, a binding or a definition are kept as [Node] trees,
// exactly as written (less comments), so that [Write] reproduces them and
// the engine in package rules can interpret them. Parse checks their shape:
// the logical operators <and>, <or> and <not>; the predicates <compare>
// (operators equal, not equal, less than, less than equal, greater than,
// greater than equal, after, before), <between> and <range> (children <lhs>,
// <lower>, <upper>), <match> (<lhs> the text, <rhs> the pattern) and
// <exists> (<lhs> a member); terms (<constant> with a typed literal,
// <function> with an <xmldocumentmember>, <classmember> or <datarowmember>,
// <reference>); the actions (<function>, <assert>, <retract>,
// <retractbytype>, <update> each with an <object>, and <halt>).
//
// BizTalk's schema for the predicates other than <compare> is not public;
// the spelling above is biztier's and is what Write emits.
//
// # Quirks
//
// Real exports carry quirks. Parse accepts them with a [Warning] naming
// the element and line, and keeps what they hold: a second <version>
// element (the first is the version), a comment before or after the root
// (dropped), a <version> date that does not parse (kept as text), and
// elements biztier does not know inside a ruleset, a vocabulary or a
// definition (kept). UTF-8 with or without a byte-order mark, UTF-16 with
// one, and CRLF line endings are all read. Anything else that is wrong,
// such as a literal that does not parse as its type, fails with an [Error]
// that names the element path and line and wraps [ErrMalformed].
//
// # Round trip
//
// For every Document d that Parse returns, Parse(Write(d)) returns a
// Document equal to d (reflect.DeepEqual), and writing that again gives the
// same bytes. The fuzz test checks this on arbitrary input.
package brl
