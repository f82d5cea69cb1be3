// Package pii finds and masks sensitive data (card numbers, social security
// numbers, phone numbers, and whatever else an operator's rules describe) in
// chat text. It is pure logic: no I/O, no clock, no logging of its own.
//
// A Set is an ordered list of compiled Rules. Each rule has an id, a name, a
// description, a Perl-5-style regular expression (lookbehind, lookahead,
// atomic groups, possessive quantifiers and POSIX bracket classes such as
// [:alpha:] are accepted) and a replacement Spec: replace every matched
// character, or only its digits, optionally leaving the last N digits
// visible. Set.Mask applies the rules in order and reports every replaced
// range, which the engine turns into the reference's GCTI_SYSTEM.pii-cleanup
// event attributes.
//
// Matching uses github.com/dlclark/regexp2 (Go's RE2 has neither lookbehind
// nor atomic groups) with a match timeout: a rule that times out masks
// nothing for that text, is counted (Set.Timeouts) and reported through
// Options.OnTimeout, and never holds a caller longer than about the timeout.
// A pre-filter keeps the common case cheap: a rule may declare the fewest
// digits any text it matches contains (all three built-in rules do), and a
// text with fewer digits is not given to that rule's regular expression at
// all, so a message that cannot match costs one pass over its bytes and no
// allocation.
//
// Policy bundles a Set with the [transcript-cleanup] options that say where
// masking applies (Area), what typing previews and subjects get, and who
// may see unmasked text.
//
// Concurrency: a Set and a Policy are immutable once built and safe for
// concurrent use; Set's timeout counter is atomic.
package pii
