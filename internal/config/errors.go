package config

import (
	"fmt"
	"strings"
)

// Warning is a problem that does not stop a configuration from loading:
// an unknown section or option, a legacy name, a repeated option, or an
// endpoint that does not resolve. File and Line are zero when the warning
// is about the configuration as a whole.
type Warning struct {
	File    string
	Line    int
	Section string // without brackets; empty if not about a section
	Option  string // empty if about a whole section
	Message string
}

// String formats the warning like a compiler message:
// "file:line: [section] option: message".
func (w Warning) String() string {
	var b strings.Builder
	switch {
	case w.File != "" && w.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", w.File, w.Line)
	case w.File != "":
		fmt.Fprintf(&b, "%s: ", w.File)
	}
	if w.Section != "" {
		fmt.Fprintf(&b, "[%s] ", w.Section)
	}
	if w.Option != "" {
		fmt.Fprintf(&b, "%s ", w.Option)
	}
	s := strings.TrimSuffix(b.String(), " ")
	if s == "" {
		return w.Message
	}
	return s + ": " + w.Message
}

// ValueError reports an option value outside its valid range. Its message
// names the place, the option, the value and what would be valid, e.g.
//
//	config.ini:12: [settings] flex-disconnect-timeout = "0": must be integer 1–1728000 (seconds)
type ValueError struct {
	File    string
	Line    int
	Section string // without brackets, e.g. "endpoints:1"
	Option  string
	Value   string // as written
	Range   string // Option.Range of the option
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s:%d: [%s] %s = %q: must be %s", e.File, e.Line, e.Section, e.Option, e.Value, e.Range)
}
