package config

import (
	"regexp"
	"strings"
)

// corsEntry is one allowed origin: a scheme, a host whose first label may
// be "*", an optional port. (internal/cors matches them; config only checks
// the syntax, so that a bad entry fails at load.)
var corsEntry = regexp.MustCompile(`^(https?)://(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$`)

// parseOrigins canonicalises an allowed-origins list: entries separated by
// commas or white space, lower case, without a trailing slash, joined by
// ", ".
func parseOrigins(raw string) (any, bool) {
	var out []string
	for _, e := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		e = strings.ToLower(strings.TrimSuffix(e, "/"))
		if !corsEntry.MatchString(e) {
			return nil, false
		}
		out = append(out, e)
	}
	return strings.Join(out, ", "), true
}

func corsSection() *sectionSpec {
	return &sectionSpec{name: "cors", opts: []*desc{
		{Option: Option{Name: "allowed-origins", Default: "", Kind: KindString,
			Range:  "origins, wildcard hosts (https://*.x.com)",
			Effect: Restart, Implemented: true,
			Doc: "Browser origins allowed to call the customer endpoints with credentials (REST, CometD, chat-ntf) and to open the agent socket; empty: any origin without credentials, agent socket same-origin only."},
			parse:  parseOrigins,
			format: func(v any) string { return v.(string) },
			bind:   field(func(c *Config) *string { return &c.CORS.AllowedOrigins })},
	}}
}
