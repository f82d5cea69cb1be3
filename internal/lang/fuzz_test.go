package lang_test

import (
	"strings"
	"testing"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/lang"
)

// FuzzResolve feeds language names and codes from outside (session user
// data, ESP ConfigureSession, configure-session notices) to the resolver:
// it must never panic, a parsed code is always lower-case language and
// upper-case country, and a resolved name is always a configured language.
func FuzzResolve(f *testing.F) {
	cfg, _, err := config.Parse("f.ini", []byte("[language:fr]\nlanguage = fr\n[language:fr-ca]\nlanguage = fr\ncountry = CA\n[language:de]\nlanguage = de\ncountry = CH\nuse-language-as-default = true\n"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][2]string{{"", "fr-CA"}, {"fr", ""}, {"", "de_at"}, {"", "xx-YY"}, {"", "é-É"}, {"", "-"}, {"klingon", "fr"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, code string) {
		if l, c, err := lang.ParseCode(code); err == nil {
			if l != strings.ToLower(l) || c != strings.ToUpper(c) || len(l) < 2 || len(l) > 3 || (c != "" && len(c) != 2) {
				t.Fatalf("ParseCode(%q) = %q, %q", code, l, c)
			}
		}
		got, ok, _ := lang.Resolve(cfg, name, code)
		if ok {
			if _, known := cfg.Languages[got]; !known {
				t.Fatalf("Resolve(%q, %q) = %q, not a configured language", name, code, got)
			}
		} else if got != "" {
			t.Fatalf("Resolve(%q, %q) = %q without ok", name, code, got)
		}
	})
}
