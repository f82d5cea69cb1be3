package lang_test

import (
	"testing"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/lang"
)

const languages = `
[inactivity-control]
message-alert = Soon closed
message-close = Closed

[language:french-canada]
language = FR
country = ca
message-alert = Bientôt fermé (CA)

[language:french]
language = fr
message-alert = Bientôt fermé
message-close =

[language:german-swiss]
language = de
country = CH
use-language-as-default = true
message-alert = Bald geschlossen

[language:german-austria]
language = de
country = AT

[language:spanish-mexico]
language = es
country = MX
`

func TestResolve(t *testing.T) {
	cfg, _, err := config.Parse("t.ini", []byte(languages))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, code string
		want       string
		ok, err    bool
	}{
		{name: "french", code: "de-CH", want: "french", ok: true}, // the name wins
		{code: "fr-CA", want: "french-canada", ok: true},          // step 1: language and country
		{code: "fr_ca", want: "french-canada", ok: true},          // underscore, any case
		{code: "fr-BE", want: "french", ok: true},                 // step 2: language without country
		{code: "fr", want: "french", ok: true},                    // no country at all
		{code: "de-DE", want: "german-swiss", ok: true},           // step 3: the default of the language
		{code: "de-AT", want: "german-austria", ok: true},         // step 1 before the default
		{code: "es-ES", err: true},                                // no default for es
		{name: "klingon", code: "fr-CA", err: true},               // unknown name: the code is not consulted
		{code: "not a code", err: true},                           // unparsable
		{},                                                        // nothing given: defaults, no warning
	} {
		got, ok, err := lang.Resolve(cfg, tc.name, tc.code)
		if got != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("Resolve(%q, %q) = %q, %v, %v; want %q, %v, error %v", tc.name, tc.code, got, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}

func TestTextsFor(t *testing.T) {
	cfg, _, err := config.Parse("t.ini", []byte(languages))
	if err != nil {
		t.Fatal(err)
	}
	def := config.Default().Inactivity.MessageAlert2
	for _, tc := range []struct {
		name string
		want lang.Texts
	}{
		{"", lang.Texts{"Soon closed", def, "Closed"}},
		{"unknown", lang.Texts{"Soon closed", def, "Closed"}},
		{"french", lang.Texts{"Bientôt fermé", def, ""}}, // an empty override is an override
		{"french-canada", lang.Texts{"Bientôt fermé (CA)", def, "Closed"}},
	} {
		if got := lang.TextsFor(cfg, tc.name); got != tc.want {
			t.Errorf("TextsFor(%q) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestBadLanguageSection(t *testing.T) {
	for _, ini := range []string{
		"[language:x]\nlanguage = french\n",
		"[language:x]\ncountry = USA\n",
		"[language:x]\nuse-language-as-default = perhaps\n",
	} {
		if _, _, err := config.Parse("t.ini", []byte(ini)); err == nil {
			t.Errorf("accepted %q", ini)
		}
	}
}
