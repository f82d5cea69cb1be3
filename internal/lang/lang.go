package lang

import (
	"fmt"
	"slices"
	"strings"

	"github.com/confab/confab/internal/config"
)

// User data keys that carry a session's language.
const (
	KeyName = "GCTI_LanguageName"
	KeyCode = "GCTI_LanguageCode"
)

// ParseCode splits a language code of the form language-country (or
// language_country, or language alone) into an ISO 639 language in lower
// case and an ISO 3166 country in upper case.
func ParseCode(code string) (language, country string, err error) {
	code = strings.TrimSpace(code)
	l, c, _ := strings.Cut(strings.ReplaceAll(code, "_", "-"), "-")
	if !letters(l, 2, 3) || (c != "" && !letters(c, 2, 2)) {
		return "", "", fmt.Errorf("language code %q: want language-country, e.g. en-US", code)
	}
	return strings.ToLower(l), strings.ToUpper(c), nil
}

func letters(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// Resolve returns the name of the language a session with the given
// GCTI_LanguageName and GCTI_LanguageCode values is in; name wins when it
// is not empty. ok is false when neither resolves to a configured language
// (the session then uses the configured defaults); err says why, naming the
// value, when a value was given.
func Resolve(cfg *config.Config, name, code string) (resolved string, ok bool, err error) {
	name, code = strings.TrimSpace(name), strings.TrimSpace(code)
	if name != "" {
		if _, found := cfg.Languages[name]; found {
			return name, true, nil
		}
		return "", false, fmt.Errorf("no [language:%s] section", name)
	}
	if code == "" {
		return "", false, nil
	}
	l, c, err := ParseCode(code)
	if err != nil {
		return "", false, err
	}
	if n := match(cfg, func(x config.Language) bool { return x.Code == l && x.Country == c && c != "" }); n != "" {
		return n, true, nil
	}
	if n := match(cfg, func(x config.Language) bool { return x.Code == l && x.Country == "" }); n != "" {
		return n, true, nil
	}
	if n := match(cfg, func(x config.Language) bool { return x.Code == l && x.IsDefault }); n != "" {
		return n, true, nil
	}
	return "", false, fmt.Errorf("no language matches code %q", code)
}

// match returns the first language name, in name order, that f accepts.
func match(cfg *config.Config, f func(config.Language) bool) string {
	names := make([]string, 0, len(cfg.Languages))
	for n := range cfg.Languages {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if f(cfg.Languages[n]) {
			return n
		}
	}
	return ""
}

// Texts are the inactivity texts of one language.
type Texts struct {
	Alert, Alert2, Close string
}

// TextsFor returns the inactivity texts for a session in language name
// ("" or an unknown name: the [inactivity-control] texts).
func TextsFor(cfg *config.Config, name string) Texts {
	t := Texts{Alert: cfg.Inactivity.MessageAlert, Alert2: cfg.Inactivity.MessageAlert2, Close: cfg.Inactivity.MessageClose}
	l, ok := cfg.Languages[name]
	if !ok || name == "" {
		return t
	}
	if l.MessageAlert != nil {
		t.Alert = *l.MessageAlert
	}
	if l.MessageAlert2 != nil {
		t.Alert2 = *l.MessageAlert2
	}
	if l.MessageClose != nil {
		t.Close = *l.MessageClose
	}
	return t
}
