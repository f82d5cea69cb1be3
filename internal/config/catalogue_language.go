package config

import "strings"

// Language holds one [language:<name>] section: a language the server can
// send its system texts in, as the reference keeps it in a business
// attribute. The message fields are nil unless the section sets them; an
// empty text set here is an override too.
type Language struct {
	Code      string // ISO 639 language code, lower case ("language")
	Country   string // ISO 3166 country code, upper case ("country")
	IsDefault bool   // use-language-as-default
	// Overrides of [inactivity-control] message-alert, message-alert2 and
	// message-close for sessions in this language.
	MessageAlert, MessageAlert2, MessageClose *string
}

// isoLetters reports whether s is between min and max ASCII letters.
func isoLetters(s string, min, max int) bool {
	if s == "" {
		return true // unset
	}
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func languageSection() *sectionSpec {
	lang := func(get func(l *Language) (any, bool), set func(l *Language, v any)) binding {
		return binding{
			get: func(c *Config, arg, _ string) (any, bool) {
				l, ok := c.Languages[arg]
				if !ok {
					return nil, false
				}
				return get(&l)
			},
			set: func(c *Config, arg, _ string, v any) {
				l := c.Languages[arg]
				set(&l, v)
				c.Languages[arg] = l
			},
			del: func(c *Config, arg, _ string) {
				if l, ok := c.Languages[arg]; ok {
					set(&l, nil)
					c.Languages[arg] = l
				}
			},
		}
	}
	text := func(p func(l *Language) **string) binding {
		return lang(func(l *Language) (any, bool) {
			if *p(l) == nil {
				return nil, false
			}
			return **p(l), true
		}, func(l *Language, v any) {
			if v == nil {
				*p(l) = nil
				return
			}
			s := v.(string)
			*p(l) = &s
		})
	}
	code := func(p func(l *Language) *string) binding {
		return lang(func(l *Language) (any, bool) { return *p(l), *p(l) != "" },
			func(l *Language, v any) {
				s, _ := v.(string)
				*p(l) = s
			})
	}
	return &sectionSpec{
		name: "language:", family: true, display: "language:<name>",
		argDesc: "a language name after \"language:\"",
		canonArg: func(arg string) (string, bool) {
			return arg, arg != "" && strings.TrimSpace(arg) == arg
		},
		opts: []*desc{
			{Option: Option{Name: "language", Default: "", Kind: KindString, Range: "ISO 639 code: 2 or 3 letters, or empty", Effect: Immediate, Implemented: true,
				Doc: "Language code of this language, read in lower case; sessions whose GCTI_LanguageCode names it are matched to it."},
				parse: func(raw string) (any, bool) { return strings.ToLower(raw), isoLetters(raw, 2, 3) },
				bind:  code(func(l *Language) *string { return &l.Code })},
			{Option: Option{Name: "country", Default: "", Kind: KindString, Range: "ISO 3166 code: 2 letters, or empty", Effect: Immediate, Implemented: true,
				Doc: "Country code, read in upper case; used only together with language."},
				parse: func(raw string) (any, bool) { return strings.ToUpper(raw), isoLetters(raw, 2, 2) },
				bind:  code(func(l *Language) *string { return &l.Country })},
			{Option: Option{Name: "use-language-as-default", Default: "false", Kind: KindBool, Effect: Immediate, Implemented: true,
				Doc: "Match this language for a GCTI_LanguageCode of the same language and any country when no closer language exists."},
				bind: lang(func(l *Language) (any, bool) { return l.IsDefault, true },
					func(l *Language, v any) { b, _ := v.(bool); l.IsDefault = b })},
			{Option: Option{Name: "message-alert", Default: "", Kind: KindString, Effect: Immediate, Implemented: true,
				Doc: "This language's text of [inactivity-control] message-alert; unset keeps that option's text, empty sends none."},
				bind: text(func(l *Language) **string { return &l.MessageAlert })},
			{Option: Option{Name: "message-alert2", Default: "", Kind: KindString, Effect: Immediate, Implemented: true,
				Doc: "This language's text of [inactivity-control] message-alert2; unset keeps that option's text, empty sends none."},
				bind: text(func(l *Language) **string { return &l.MessageAlert2 })},
			{Option: Option{Name: "message-close", Default: "", Kind: KindString, Effect: Immediate, Implemented: true,
				Doc: "This language's text of [inactivity-control] message-close; unset keeps that option's text, empty sends none."},
				bind: text(func(l *Language) **string { return &l.MessageClose })},
		},
		enter: func(c *Config, arg string, _ bool) {
			if _, ok := c.Languages[arg]; !ok {
				c.Languages[arg] = Language{}
			}
		},
		args: func(c *Config) []string { return sortedKeys(c.Languages) },
	}
}
