package pii

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// DefaultTimeout bounds one rule's search of one text. The engine's timer
// ticks about every 100 ms, so a search stops within roughly
// DefaultTimeout plus a tick.
const DefaultTimeout = 50 * time.Millisecond

// ErrTimeout reports a rule whose search took longer than its timeout; the
// text was left unmasked by that rule. Its message never contains the text.
var ErrTimeout = errors.New("pii: rule search timed out")

// Options configure a Set.
type Options struct {
	// DefaultSpec replaces matches of rules without a spec of their own.
	DefaultSpec Spec
	// RepChar is written in place of each masked character; 0 means '*'.
	RepChar rune
	// Timeout bounds one rule's search of one text; 0 means DefaultTimeout.
	Timeout time.Duration
	// OnTimeout, when set, is called (on the masking goroutine) for every
	// search that timed out or hit the backtracking limit. err never
	// carries the searched text.
	OnTimeout func(rule Rule, err error)
}

type compiled struct {
	Rule
	re   *regexp2.Regexp
	spec Spec
}

// Set is an ordered, compiled list of rules. It is immutable and safe for
// concurrent use.
type Set struct {
	rules       []compiled
	opts        Options
	minDigitRun int // the smallest MinDigitRun of the rules (0: some rule has none)
	maxDigitRun int // the largest: digit runs are not measured beyond it
	timeouts    atomic.Uint64
}

// Compile checks and compiles rules in order. The first bad rule is
// refused with a *RuleError naming it, its field and, for a pattern, the
// position of the fault; nothing is compiled then.
func Compile(rules []Rule, opts Options) (*Set, error) {
	if opts.RepChar == 0 {
		opts.RepChar = '*'
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	s := &Set{opts: opts, rules: make([]compiled, 0, len(rules))}
	seen := map[string]bool{}
	for i, r := range rules {
		bad := func(field string, pos int, format string, args ...any) error {
			return &RuleError{Index: i, ID: r.ID, Name: r.Name, Field: field, Pos: pos, Reason: fmt.Sprintf(format, args...)}
		}
		switch {
		case r.ID == "":
			return nil, bad("id", -1, "is empty")
		case len(r.ID) > 64:
			return nil, bad("id", -1, "is longer than 64 bytes")
		case seen[r.ID]:
			return nil, bad("id", -1, "is used by an earlier rule")
		case r.Name == "":
			return nil, bad("name", -1, "is empty")
		case len(r.Name) > 256 || len(r.Description) > 1024:
			return nil, bad("name", -1, "name is longer than 256 bytes or description longer than 1024")
		case r.MinDigitRun < 0 || r.MinDigitRun > 1000:
			return nil, bad("minDigitRun", -1, "must be from 0 to 1000, not %d", r.MinDigitRun)
		}
		seen[r.ID] = true
		spec := opts.DefaultSpec
		if r.Spec != "" {
			var err error
			if spec, err = ParseSpec(r.Spec); err != nil {
				return nil, bad("spec", -1, "%v", err)
			}
		}
		re, serr := compilePattern(r.Pattern)
		if serr != nil {
			return nil, bad("pattern", serr.pos, "%s", serr.reason)
		}
		re.MatchTimeout = opts.Timeout
		s.rules = append(s.rules, compiled{Rule: r, re: re, spec: spec})
	}
	s.minDigitRun = -1
	for _, c := range s.rules {
		if s.minDigitRun < 0 || c.MinDigitRun < s.minDigitRun {
			s.minDigitRun = c.MinDigitRun
		}
		s.maxDigitRun = max(s.maxDigitRun, c.MinDigitRun)
	}
	return s, nil
}

// Rules returns a copy of the set's rules, in order.
func (s *Set) Rules() []Rule {
	out := make([]Rule, len(s.rules))
	for i, c := range s.rules {
		out[i] = c.Rule
	}
	return out
}

// Len returns the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// RepChar returns the replacement character.
func (s *Set) RepChar() rune { return s.opts.RepChar }

// Timeouts returns how many searches timed out (or hit the backtracking
// limit) since the set was built.
func (s *Set) Timeouts() uint64 { return s.timeouts.Load() }

// Hit is one replaced range of a masked text.
type Hit struct {
	// Rule is the 0-based place of the rule in the set.
	Rule        int
	ID          string
	Name        string
	Description string
	// Start and End are the first and last replaced character positions
	// (0-based, inclusive, in characters of the text).
	Start, End int
	// Digits is true when only digits were replaced.
	Digits bool
}

// Replaced is the pii-cleanup word for how the range was masked: "digits"
// or "all".
func (h Hit) Replaced() string {
	if h.Digits {
		return "digits"
	}
	return "all"
}

// Mask applies the rules in order to text and returns the masked text and
// what was replaced; ok is false (and text is returned as is, with no
// allocation) when nothing matched. Each rule sees the text as the rules
// before it left it. Replacement keeps the number of characters, so
// positions stay those of the original text.
func (s *Set) Mask(text string) (masked string, hits []Hit, ok bool) {
	if s == nil || len(s.rules) == 0 {
		return text, nil, false
	}
	digits := -1
	if s.minDigitRun > 0 {
		digits = LongestDigitRun(text, s.maxDigitRun)
		if digits < s.minDigitRun {
			return text, nil, false
		}
	}
	var runes []rune
	for i := range s.rules {
		c := &s.rules[i]
		if c.MinDigitRun > 0 {
			if digits < 0 {
				digits = LongestDigitRun(text, s.maxDigitRun)
			}
			if digits < c.MinDigitRun {
				continue
			}
		}
		if runes == nil {
			runes = []rune(text)
		}
		var err error
		if hits, err = s.apply(c, i, runes, hits); err != nil {
			s.timeouts.Add(1)
			if s.opts.OnTimeout != nil {
				s.opts.OnTimeout(c.Rule, err)
			}
		}
	}
	if len(hits) == 0 {
		return text, nil, false
	}
	return string(runes), hits, true
}

// apply runs one rule over runes, masking in place once the search is
// complete: a rule that times out masks nothing.
func (s *Set) apply(c *compiled, idx int, runes []rune, hits []Hit) ([]Hit, error) {
	var spans [][2]int
	m, err := c.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		if m.RuneLength > 0 {
			spans = append(spans, [2]int{m.RuneIndex, m.RuneLength})
		}
		m, err = c.re.FindNextMatch(m)
	}
	if err != nil {
		if errors.Is(err, regexp2.ErrBacktrackingStackLimit) {
			return hits, fmt.Errorf("%w: rule %s (%s): backtracking limit reached", ErrTimeout, c.ID, c.Name)
		}
		return hits, fmt.Errorf("%w: rule %s (%s) after %v", ErrTimeout, c.ID, c.Name, s.opts.Timeout)
	}
	for _, sp := range spans {
		if h, ok := replace(runes, sp[0], sp[1], c.spec, s.opts.RepChar); ok {
			hits = append(hits, Hit{Rule: idx, ID: c.ID, Name: c.Name, Description: c.Description,
				Start: h[0], End: h[1], Digits: c.spec.Digits})
		}
	}
	return hits, nil
}

// replace masks runes[at:at+n] by spec and returns the first and last
// positions it changed.
func replace(runes []rune, at, n int, spec Spec, rep rune) ([2]int, bool) {
	first, last := -1, -1
	if !spec.Digits {
		for k := at; k < at+n; k++ {
			runes[k] = rep
		}
		return [2]int{at, at + n - 1}, true
	}
	keep := spec.KeepLast
	end := at + n
	if keep > 0 { // find where the kept digits start
		for k := end - 1; k >= at && keep > 0; k-- {
			if isDigit(runes[k]) {
				keep--
				end = k
			}
		}
	}
	for k := at; k < end; k++ {
		if isDigit(runes[k]) {
			runes[k] = rep
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	return [2]int{first, last}, first >= 0
}

func isDigit(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsDigit(r)
}

// CountDigits counts the decimal digits (Unicode Nd, as the patterns' \d)
// in text. It does not allocate.
func CountDigits(text string) int {
	n := 0
	for i := 0; i < len(text); {
		b := text[i]
		if b < utf8.RuneSelf {
			if '0' <= b && b <= '9' {
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if unicode.IsDigit(r) {
			n++
		}
		i += size
	}
	return n
}

// LongestDigitRun returns the number of digits in the longest digit run of
// text, or enough once a run reaches it (enough ≤ 0: no limit). A digit run
// is a sequence of digits (Unicode Nd) in which each digit follows the
// previous one directly or across at most two separators — blank, '-',
// '.', '(', ')' or '+' — the way card, social security and phone numbers
// are written. It does not allocate.
func LongestDigitRun(text string, enough int) int {
	best, run, gap := 0, 0, 0
	for i := 0; i < len(text); {
		if run == 0 { // skip to the next possible digit: the common case
			for i < len(text) && text[i]-'0' > 9 && text[i] < utf8.RuneSelf {
				i++
			}
			if i == len(text) {
				break
			}
		}
		b := text[i]
		digit := false
		size := 1
		if b < utf8.RuneSelf {
			digit = '0' <= b && b <= '9'
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(text[i:])
			digit = unicode.IsDigit(r)
		}
		i += size
		switch {
		case digit:
			run++
			gap = 0
			if run > best {
				best = run
				if enough > 0 && best >= enough {
					return best
				}
			}
		case run > 0 && gap < 2 && (b == ' ' || b == '-' || b == '.' || b == '(' || b == ')' || b == '+'):
			gap++
		default:
			run, gap = 0, 0
		}
	}
	return best
}

// MaskDigits replaces every digit of text with rep (the typing preview's
// masking). It returns text itself, without allocating, when it has no
// digit.
func MaskDigits(text string, rep rune) string {
	if CountDigits(text) == 0 {
		return text
	}
	runes := []rune(text)
	for i, r := range runes {
		if isDigit(r) {
			runes[i] = rep
		}
	}
	return string(runes)
}
