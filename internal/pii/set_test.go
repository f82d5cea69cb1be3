package pii_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab/internal/pii"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		in   string
		want pii.Spec
		ok   bool
	}{
		{"all", pii.Spec{}, true},
		{"digits", pii.Spec{Digits: true}, true},
		{"digits-keep-last-4", pii.Spec{Digits: true, KeepLast: 4}, true},
		{"digits-keep-last-32", pii.Spec{Digits: true, KeepLast: 32}, true},
		{"digits-keep-last-0", pii.Spec{}, false},
		{"digits-keep-last-33", pii.Spec{}, false},
		{"digits-keep-last-+4", pii.Spec{}, false},
		{"digits-keep-last-04", pii.Spec{}, false},
		{"digits-keep-last-", pii.Spec{}, false},
		{"", pii.Spec{}, false},
		{"ALL", pii.Spec{}, false},
	} {
		got, err := pii.ParseSpec(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, got, err)
		}
		if c.ok && got.String() != c.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), c.in)
		}
	}
}

func TestMaskSpecs(t *testing.T) {
	card := "pay 4111-1111-1111-1234 now"
	for _, c := range []struct {
		spec string
		rep  rune
		want string
		hit  [2]int
	}{
		{"digits", 0, "pay ****-****-****-**** now", [2]int{4, 22}},
		{"digits-keep-last-4", 'X', "pay XXXX-XXXX-XXXX-1234 now", [2]int{4, 17}},
		{"all", '#', "pay ################### now", [2]int{4, 22}},
		{"digits-keep-last-32", '*', card, [2]int{}}, // keeps everything: nothing replaced
	} {
		rules := pii.Defaults()[:1]
		rules[0].Spec = c.spec
		set, err := pii.Compile(rules, pii.Options{RepChar: c.rep})
		if err != nil {
			t.Fatal(err)
		}
		got, hits, ok := set.Mask(card)
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.spec, got, c.want)
		}
		if c.want == card {
			if ok || len(hits) != 0 {
				t.Errorf("%s: nothing replaced, yet ok=%v hits=%+v", c.spec, ok, hits)
			}
			continue
		}
		if !ok || len(hits) != 1 || hits[0].Start != c.hit[0] || hits[0].End != c.hit[1] {
			t.Errorf("%s: hits %+v, want %v", c.spec, hits, c.hit)
		}
	}
}

// Positions are characters, not bytes, and masking keeps the character count.
func TestMaskUnicode(t *testing.T) {
	set, err := pii.Compile(pii.Defaults(), pii.Options{DefaultSpec: pii.Spec{Digits: true}, RepChar: '•', Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got, hits, ok := set.Mask("Überweisung: 4111111111111111 ✓")
	if !ok || got != "Überweisung: •••••••••••••••• ✓" || hits[0].Start != 13 || hits[0].End != 28 {
		t.Fatalf("got %q %+v", got, hits)
	}
}

func TestCompileErrors(t *testing.T) {
	good := pii.Rule{ID: "a", Name: "A", Pattern: `\d{4}`}
	for _, c := range []struct {
		rule  pii.Rule
		field string
		pos   int
		says  string
	}{
		{pii.Rule{ID: "b", Name: "B", Pattern: `(\d{4}`}, "pattern", 0, "unclosed ("},
		{pii.Rule{ID: "b", Name: "B", Pattern: `ab)c`}, "pattern", 2, "unmatched )"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `ab[cd`}, "pattern", 2, "unclosed ["},
		{pii.Rule{ID: "b", Name: "B", Pattern: `abc\`}, "pattern", 3, "lone backslash"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `a|*b`}, "pattern", 2, "nothing to repeat"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `a{5,2}`}, "pattern", 1, "greater than"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `ab\d{2,1001}`}, "pattern", 4, "above 1000"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `x[[:bogus:]]`}, "pattern", 2, "unknown POSIX class"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `ab(?|c)`}, "pattern", 2, "branch reset"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `ab[z-a]`}, "pattern", 2, "range"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `\d*`}, "pattern", 0, "empty text"},
		{pii.Rule{ID: "b", Name: "B", Pattern: ``}, "pattern", 0, "empty"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `\d`, Spec: "digits-keep-last-99"}, "spec", -1, "1 to 32"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `\d`, Spec: "some"}, "spec", -1, "must be"},
		{pii.Rule{ID: "a", Name: "B", Pattern: `\d`}, "id", -1, "earlier rule"},
		{pii.Rule{ID: "", Name: "B", Pattern: `\d`}, "id", -1, "empty"},
		{pii.Rule{ID: "b", Name: "", Pattern: `\d`}, "name", -1, "empty"},
		{pii.Rule{ID: "b", Name: "B", Pattern: `\d`, MinDigitRun: -1}, "minDigitRun", -1, "0 to 1000"},
	} {
		_, err := pii.Compile([]pii.Rule{good, c.rule}, pii.Options{})
		var re *pii.RuleError
		if !errors.As(err, &re) {
			t.Errorf("%+v: err %v, want a RuleError", c.rule, err)
			continue
		}
		if re.Index != 1 || re.ID != c.rule.ID || re.Field != c.field || re.Pos != c.pos || !strings.Contains(re.Reason, c.says) {
			t.Errorf("%+v: got %+v (%v), want field %s pos %d saying %q", c.rule, re, err, c.field, c.pos, c.says)
		}
		if !strings.Contains(err.Error(), "pii rule 2") {
			t.Errorf("error %q does not name the rule", err)
		}
	}
}

// Perl constructs the rules use are accepted and mean what Perl means.
func TestPerlSyntax(t *testing.T) {
	for _, c := range []struct {
		pattern, in, want string
	}{
		{`[[:digit:]]{3}`, "ab123c", "ab***c"},
		{`(?<=x)[[:alpha:]]+`, "xabc yabc", "x*** yabc"},
		{`(?P<n>\d)(?P=n)`, "12 33", "12 **"},
		{`(?>\d+)x`, "123x 45", "****x 45"[0:0] + "**** 45"},
		{`\d++[[:^digit:]]`, "12a", "***"},
		{`a{2}[{]`, "aa{ a{", "*** a{"},
		{`[]a]+`, "x]a]x", "x***x"},
		{`(?i)card`, "CARD", "****"},
		{`\h\d`, "a 1", "a**"},
		{`(?#comment)\d\d`, "a12", "a**"},
	} {
		set, err := pii.Compile([]pii.Rule{{ID: "x", Name: "x", Pattern: c.pattern, Spec: "all"}}, pii.Options{})
		if err != nil {
			t.Errorf("%s: %v", c.pattern, err)
			continue
		}
		if got, _, _ := set.Mask(c.in); got != c.want {
			t.Errorf("%s on %q: got %q, want %q", c.pattern, c.in, got, c.want)
		}
	}
}

// A pathological pattern times out: that rule masks nothing, the timeout
// is counted and reported without the text, and the other rules still apply.
func TestTimeout(t *testing.T) {
	var reported atomic.Int32
	var saidText atomic.Bool
	secret := strings.Repeat("a", 40000) + "!"
	set, err := pii.Compile([]pii.Rule{
		{ID: "slow", Name: "slow", Pattern: `(a|aa)+$`, Spec: "all"},
		{ID: "ok", Name: "ok", Pattern: `!`, Spec: "all"},
	}, pii.Options{Timeout: 50 * time.Millisecond, RepChar: '#', OnTimeout: func(r pii.Rule, err error) {
		reported.Add(1)
		if !errors.Is(err, pii.ErrTimeout) || r.ID != "slow" {
			t.Errorf("OnTimeout(%v, %v)", r.ID, err)
		}
		if strings.Contains(err.Error(), "aaaa") {
			saidText.Store(true)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, hits, ok := set.Mask(secret)
	if !ok || len(hits) != 1 || hits[0].ID != "ok" || got != strings.Repeat("a", 40000)+"#" {
		t.Fatalf("hits %+v ok %v", hits, ok)
	}
	if set.Timeouts() != 1 || reported.Load() != 1 {
		t.Fatalf("timeouts %d, reported %d", set.Timeouts(), reported.Load())
	}
	if saidText.Load() {
		t.Fatal("the timeout error carries the text")
	}
}

func TestMaskDigitsAndCount(t *testing.T) {
	if got := pii.MaskDigits("pin 1234, ok", '*'); got != "pin ****, ok" {
		t.Fatal(got)
	}
	if got := pii.MaskDigits("٣٤ x", '*'); got != "** x" {
		t.Fatal(got)
	}
	if n := pii.CountDigits("a1b2٣"); n != 3 {
		t.Fatal(n)
	}
	text := "no digits in this one"
	if a := testing.AllocsPerRun(100, func() { _ = pii.MaskDigits(text, '*') }); a != 0 {
		t.Fatalf("MaskDigits without digits allocates %v", a)
	}
}

func TestSelectAndParse(t *testing.T) {
	stored := []pii.Rule{{ID: "s", Name: "s", Pattern: "x"}}
	if r := pii.ConfigCfg.Select(stored); len(r) != 3 {
		t.Fatal("cfg must give the built-in rules")
	}
	if r := pii.ConfigUCS.Select(nil); len(r) != 0 {
		t.Fatal("ucs without stored rules must give none")
	}
	if r := pii.ConfigMix.Select(nil); len(r) != 3 {
		t.Fatal("mix without stored rules must give the built-in rules")
	}
	if r := pii.ConfigMix.Select(stored); len(r) != 1 || r[0].ID != "s" {
		t.Fatal("mix with stored rules must give them")
	}
	for _, s := range []string{"always", "history-all", "history-final", "never"} {
		a, err := pii.ParseArea(s)
		if err != nil || a.String() != s {
			t.Fatalf("%s: %v %v", s, a, err)
		}
	}
	table := map[pii.Area][3]bool{ // live, intermediate, final
		pii.Always: {true, true, true}, pii.HistoryAll: {false, true, true},
		pii.HistoryFinal: {false, false, true}, pii.Never: {false, false, false},
	}
	for a, w := range table {
		if a.Live() != w[0] || a.Intermediate() != w[1] || a.Final() != w[2] {
			t.Errorf("%s: %v %v %v", a, a.Live(), a.Intermediate(), a.Final())
		}
	}
	if _, err := pii.ParseArea("sometimes"); err == nil {
		t.Fatal("bad area accepted")
	}
}
