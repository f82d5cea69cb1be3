// Package validate is the one table of field rules that every protocol
// adapter applies to what outsiders send: the customer Chat API v2
// (internal/api/webapi), the workflow ESP API (internal/api/esp) and the
// agent protocol (internal/api/agent). The same field gets the same rules
// whichever door it comes through — valid UTF-8, a length limit, the form of
// a URL, the size and depth of a key-value list — and the same refusal text,
// so a value one API refuses is refused by the others with the same words.
//
// The limits derive from one number, the reference's xml-request-max-size
// (see LimitsFor). Each adapter wraps a Problem in its own error shape and
// names the field as its protocol spells it; Problem.Reason is the shared
// part.
//
// Everything here is a pure function of its arguments and safe for
// concurrent use; the rule table is read-only.
package validate
