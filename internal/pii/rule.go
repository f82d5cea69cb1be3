package pii

import (
	"fmt"
	"strconv"
	"strings"
)

// Rule is one masking rule as an operator writes it.
type Rule struct {
	// ID identifies the rule (unique within a set); it is reported in the
	// pii-cleanup attributes.
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Pattern is a Perl-5-style regular expression.
	Pattern string `json:"pattern"`
	// Spec is the replacement specification (see ParseSpec); empty means
	// the set's default spec ([transcript-cleanup] default-spec).
	Spec string `json:"spec,omitempty"`
	// MinDigitRun, when positive, promises that everything the pattern
	// matches contains a digit run of at least that many digits (see
	// LongestDigitRun): texts without one are not searched. It is the
	// pre-filter that keeps unmatched messages cheap.
	MinDigitRun int `json:"minDigitRun,omitempty"`
}

// Spec says how a match is replaced.
type Spec struct {
	// Digits replaces only the digits of the match; otherwise every
	// character is replaced.
	Digits bool
	// KeepLast leaves that many of the match's last digits visible (Digits
	// only).
	KeepLast int
}

// MaxKeepLast bounds Spec.KeepLast.
const MaxKeepLast = 32

// Spec words.
const (
	specAll      = "all"
	specDigits   = "digits"
	specKeepLast = "digits-keep-last-"
)

// SpecSyntax describes what ParseSpec accepts, for error messages and docs.
const SpecSyntax = `all, digits, or digits-keep-last-N (N 1–32)`

// ParseSpec reads a replacement specification: "all" (every matched
// character), "digits" (only digits), or "digits-keep-last-N" (only digits,
// the last N left visible; N from 1 to 32).
func ParseSpec(s string) (Spec, error) {
	switch s {
	case specAll:
		return Spec{}, nil
	case specDigits:
		return Spec{Digits: true}, nil
	}
	if n, ok := strings.CutPrefix(s, specKeepLast); ok {
		v, err := strconv.Atoi(n)
		if err == nil && v >= 1 && v <= MaxKeepLast && n[0] != '+' && n[0] != '0' {
			return Spec{Digits: true, KeepLast: v}, nil
		}
		return Spec{}, fmt.Errorf("replacement spec %q: N must be a whole number from 1 to %d", s, MaxKeepLast)
	}
	return Spec{}, fmt.Errorf("replacement spec %q: must be %s", s, SpecSyntax)
}

// String returns the spec in the form ParseSpec reads.
func (s Spec) String() string {
	switch {
	case !s.Digits:
		return specAll
	case s.KeepLast > 0:
		return specKeepLast + strconv.Itoa(s.KeepLast)
	}
	return specDigits
}

// replaced is the pii-cleanup "replaced" word of a spec.
func (s Spec) replaced() string {
	if s.Digits {
		return "digits"
	}
	return "all"
}

// RuleError is a rule refused at load: which rule, which field, and for a
// pattern the character position (0-based, in characters) of the fault.
type RuleError struct {
	Index  int // 0-based place of the rule in its set
	ID     string
	Name   string
	Field  string // "id", "name", "pattern", "spec", "minDigitRun"
	Pos    int    // for Field "pattern": the character position; -1 otherwise
	Reason string
}

func (e *RuleError) Error() string {
	who := fmt.Sprintf("pii rule %d", e.Index+1)
	if e.ID != "" {
		who += fmt.Sprintf(" (id %q", e.ID)
		if e.Name != "" {
			who += fmt.Sprintf(", name %q", e.Name)
		}
		who += ")"
	}
	if e.Pos >= 0 {
		return fmt.Sprintf("%s: %s at position %d: %s", who, e.Field, e.Pos, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", who, e.Field, e.Reason)
}
