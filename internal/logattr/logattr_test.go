package logattr_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/logattr"
)

func logged(t *testing.T, attr slog.Attr) string {
	t.Helper()
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", attr)
	s := b.String()
	return strings.TrimSpace(s[strings.Index(s, "msg=x")+len("msg=x"):])
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		size int
		text string
		want string
	}{
		{0, "my card 4111", `t="[truncated from size=12]"`},
		{4, "my card 4111", `t="my c[truncated from size=12]"`},
		{20, "my card 4111", `t="my card 4111"`},
		{3, "čšžý", `t="čšž[truncated from size=4]"`},
	} {
		f := logattr.New(logattr.Policy{PrintSize: c.size})
		if got := logged(t, f.Text("t", c.text)); got != c.want {
			t.Errorf("size %d: %s, want %s", c.size, got, c.want)
		}
	}
	var none *logattr.Filter
	if got := logged(t, none.Text("t", "secret")); strings.Contains(got, "secret") {
		t.Errorf("a nil filter printed %s", got)
	}
}

func TestData(t *testing.T) {
	ud := kv.Map{"EmailAddress": "ann@example.com", "Card": "4111111111111111", "Note": "hello",
		"Transcript": "long text", "Nested": kv.Map{"Phone": "5552345678", "Other": "x"}}
	ft := func(s string) logattr.FilterType {
		v, err := logattr.ParseFilterType(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	keys := map[string]logattr.FilterType{
		"EmailAddress": ft("hide-first-4"), "Card": ft("hide-last-12"), "Transcript": ft("skip"), "Phone": ft("copy"),
	}
	for _, c := range []struct {
		name string
		p    logattr.Policy
		want string
	}{
		{"hide-attached-data", logattr.Policy{HideData: true, Keys: keys},
			`u.Card=4111************ u.EmailAddress=****example.com u.Nested.Other=**** u.Nested.Phone=5552345678 u.Note=****`},
		{"default copy", logattr.Policy{Default: ft("copy"), Keys: keys, StringMax: 3},
			`u.Card=4111************ u.EmailAddress=****example.com u.Nested.Other=x u.Nested.Phone="555[truncated from size=10]" u.Note="hel[truncated from size=5]"`},
		{"default hide, nothing per key", logattr.Policy{Default: ft("hide")},
			`u.Card=**** u.EmailAddress=**** u.Nested.Other=**** u.Nested.Phone=**** u.Note=**** u.Transcript=****`},
	} {
		f := logattr.New(c.p)
		if got := logged(t, f.Data("u", ud)); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	f := logattr.New(logattr.Policy{HideData: true, Keys: keys})
	if got := logged(t, f.Value("Transcript", "x")); got != "" {
		t.Errorf("skipped key printed %q", got)
	}
	if got := logged(t, f.Value("Note", "secret")); got != "Note=****" {
		t.Errorf("hidden value printed %q", got)
	}
	f.Set(logattr.Policy{Default: ft("copy")})
	if got := logged(t, f.Value("Note", "shown")); got != "Note=shown" {
		t.Errorf("after Set: %q", got)
	}
}

func TestParseFilterType(t *testing.T) {
	for _, s := range []string{"copy", "hide", "skip", "hide-first-3", "hide-last-1000"} {
		if _, err := logattr.ParseFilterType(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"", "Copy", "hide-first-0", "hide-last-x", "mask"} {
		if _, err := logattr.ParseFilterType(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
