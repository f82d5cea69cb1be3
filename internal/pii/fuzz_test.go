package pii_test

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/confab/confab/internal/pii"
)

// FuzzCompileRule: any pattern and spec either compile or are refused with
// a RuleError; a compiled rule masks any text without panicking and keeps
// its length in characters.
func FuzzCompileRule(f *testing.F) {
	for _, r := range pii.Defaults() {
		f.Add(r.Pattern, "digits", "call 555-234-5678 or 4111 1111 1111 1111")
	}
	f.Add(`(?P<x>a)(?P=x)[[:^space:]]\h`, "all", "aa b")
	f.Add(`[]x[:alpha:][]`, "digits-keep-last-2", "x]")
	f.Add(`\k<n>(?<n>a)`, "all", "a")
	f.Fuzz(func(t *testing.T, pattern, spec, text string) {
		set, err := pii.Compile([]pii.Rule{{ID: "f", Name: "f", Pattern: pattern, Spec: spec}}, pii.Options{Timeout: 20 * time.Millisecond})
		if err != nil {
			if _, ok := err.(*pii.RuleError); !ok {
				t.Fatalf("error %T %v is not a RuleError", err, err)
			}
			return
		}
		if !utf8.ValidString(text) {
			return
		}
		got, hits, _ := set.Mask(text)
		if utf8.RuneCountInString(got) != utf8.RuneCountInString(text) {
			t.Fatalf("length changed: %q → %q", text, got)
		}
		n := utf8.RuneCountInString(text)
		for _, h := range hits {
			if h.Start < 0 || h.End < h.Start || h.End >= n {
				t.Fatalf("hit %+v out of range for %d characters", h, n)
			}
		}
	})
}

// FuzzMask: the built-in rules with digit replacement never panic, keep the
// text's length, change only digits, and report ranges that lie on masked
// characters.
func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"card 4111 1111 1111 1111, ssn 123-45-6789, phone (555) 234-5678",
		"no digits", "٤١١١١١١١١١١١١١١١", "+1-800-555-0199\n", "", "4111111111111111",
	} {
		f.Add(s)
	}
	set, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}, RepChar: '*'})
	if err != nil {
		f.Fatal(err)
	}
	// The same rules without the digit-run pre-filter: it must never
	// change a result.
	unfiltered := pii.Defaults()
	for i := range unfiltered {
		unfiltered[i].MinDigitRun = 0
	}
	plain, err := pii.Compile(unfiltered, pii.Options{DefaultSpec: pii.Spec{Digits: true}, RepChar: '*'})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		got, hits, ok := set.Mask(text)
		if want, _, _ := plain.Mask(text); want != got {
			t.Fatalf("the pre-filter changed the result for %q: %q, without it %q", text, got, want)
		}
		if !ok && got != text {
			t.Fatalf("not ok but changed: %q → %q", text, got)
		}
		in, out := []rune(text), []rune(got)
		if len(in) != len(out) {
			t.Fatalf("length changed: %q → %q", text, got)
		}
		if len(got) != len(text) && isASCIIDigits(text) {
			t.Fatalf("byte length changed for ASCII digits: %q → %q", text, got)
		}
		for i := range in {
			if in[i] != out[i] && (out[i] != '*' || pii.CountDigits(string(in[i])) != 1) {
				t.Fatalf("position %d: %q became %q (only digits may become '*')", i, in[i], out[i])
			}
		}
		for _, h := range hits {
			if h.Start < 0 || h.End >= len(out) || out[h.Start] != '*' || out[h.End] != '*' {
				t.Fatalf("hit %+v does not lie on masked characters of %q", h, got)
			}
		}
	})
}

func isASCIIDigits(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
