package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the type of value an option takes.
type Kind int

// The kinds of option value.
const (
	KindBool     Kind = iota + 1 // true/false; yes/no and 1/0 are accepted too
	KindInt                      // a decimal integer within [Min, Max]
	KindSeconds                  // a whole number of seconds within [Min, Max]
	KindMillis                   // a whole number of milliseconds within [Min, Max]
	KindEnum                     // one word out of Values
	KindString                   // free text, kept as written
	KindSecret                   // free text that is never printed in logs
	KindChar                     // a single character
	KindAddress                  // a listen address, host:port
	KindEndpoint                 // a chat endpoint reference, <tenant>:<endpoint>
)

var kindNames = [...]string{
	KindBool:     "bool",
	KindInt:      "int",
	KindSeconds:  "duration-seconds",
	KindMillis:   "duration-milliseconds",
	KindEnum:     "enum",
	KindString:   "string",
	KindSecret:   "secret",
	KindChar:     "char",
	KindAddress:  "address",
	KindEndpoint: "endpoint",
}

// String returns the kind's name, such as "duration-seconds".
func (k Kind) String() string {
	if k > 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Effect says when a changed option value takes effect.
type Effect int

// The two moments an option change can take effect.
const (
	// Immediate options are applied by a reload (SIGHUP or file change).
	Immediate Effect = iota + 1
	// Restart options keep their old value until the server restarts.
	Restart
)

// String returns "immediate" or "restart".
func (e Effect) String() string {
	switch e {
	case Immediate:
		return "immediate"
	case Restart:
		return "restart"
	}
	return fmt.Sprintf("Effect(%d)", int(e))
}

// Option describes one configuration option: where it lives, what it
// accepts and what it does. Options returns the whole catalogue.
//
// A Section containing "<...>" is a family of sections, such as
// "endpoints:<tenant id>"; a Name in angle brackets, such as
// "<endpoint name>", means every key of the section is accepted and
// Name describes what the key stands for.
type Option struct {
	Section     string   // section name without brackets, e.g. "settings"
	Name        string   // option name, e.g. "flex-disconnect-timeout"
	Default     string   // the built-in value in the same form a file would use
	Range       string   // valid values for humans, e.g. "integer 1–1728000 (seconds)"
	Kind        Kind     // type of value
	Min, Max    int64    // inclusive bounds for KindInt, KindSeconds and KindMillis
	Values      []string // accepted words for KindEnum and KindBool
	Effect      Effect   // when a change takes effect
	Implemented bool     // whether Confab acts on the option yet
	Doc         string   // one line in Confab's own words
}

// Keyed reports whether the option stands for every key of its section
// rather than for one fixed name.
func (o Option) Keyed() bool { return strings.HasPrefix(o.Name, "<") }

// desc is a catalogue entry: the public description plus how to parse a
// value and where it is stored in a Config.
type desc struct {
	Option
	unit     string                   // unit shown in the generated Range
	required bool                     // KindString: the empty string is rejected
	legacy   map[string]string        // old value -> current value, accepted with a warning
	parse    func(string) (any, bool) // raw text -> typed value; nil means "by Kind"
	format   func(any) string         // typed value -> canonical text; nil means "by Kind"
	bind     binding
}

// binding reads and writes one option's typed value in a Config. arg is
// the section argument ("1" for [endpoints:1], "sales" for [chat.sales],
// "" for plain sections) and key the option name as written.
type binding struct {
	get func(c *Config, arg, key string) (any, bool)
	set func(c *Config, arg, key string, v any)
	del func(c *Config, arg, key string) // nil: the option always has a value
}

// field binds an option of a plain section to a field of Config.
func field[T any](ptr func(c *Config) *T) binding {
	return binding{
		get: func(c *Config, _, _ string) (any, bool) { return *ptr(c), true },
		set: func(c *Config, _, _ string, v any) { *ptr(c) = v.(T) },
	}
}

// enumField binds a KindEnum option to a field of a string type. The
// parser yields plain strings; enumField converts them to T.
func enumField[T ~string](ptr func(c *Config) *T) binding {
	return binding{
		get: func(c *Config, _, _ string) (any, bool) { return string(*ptr(c)), true },
		set: func(c *Config, _, _ string, v any) { *ptr(c) = T(v.(string)) },
	}
}

// complete fills what can be derived from Kind: parser, formatter, Values
// and Range. The catalogue calls it once per entry.
func (d *desc) complete() *desc {
	switch d.Kind {
	case KindBool:
		d.Values = []string{"true", "false"}
		d.setRange("true or false")
	case KindInt:
		if d.unit != "" {
			d.setRange(fmt.Sprintf("integer %d–%d (%s)", d.Min, d.Max, d.unit))
		} else {
			d.setRange(fmt.Sprintf("integer %d–%d", d.Min, d.Max))
		}
	case KindSeconds:
		d.setRange(fmt.Sprintf("integer %d–%d (seconds)", d.Min, d.Max))
	case KindMillis:
		d.setRange(fmt.Sprintf("integer %d–%d (milliseconds)", d.Min, d.Max))
	case KindEnum:
		d.setRange("one of " + strings.Join(d.Values, ", "))
	case KindString, KindSecret:
		if d.required {
			d.setRange("non-empty text")
		} else {
			d.setRange("any text")
		}
	case KindChar:
		d.setRange("one character")
	case KindAddress:
		d.setRange("host:port (port 0–65535)")
	case KindEndpoint:
		d.setRange("<tenant name or id>:<endpoint name>")
	}
	if d.parse == nil {
		d.parse = d.parseByKind
	}
	if d.format == nil {
		d.format = formatByKind(d.Kind)
	}
	return d
}

func (d *desc) setRange(s string) {
	if d.Range == "" {
		d.Range = s
	}
}

// parseByKind converts raw text to the Go type the Kind stores:
// bool, int, time.Duration, rune or string.
func (d *desc) parseByKind(raw string) (any, bool) {
	switch d.Kind {
	case KindBool:
		return parseBool(raw)
	case KindInt, KindSeconds, KindMillis:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < d.Min || n > d.Max {
			return nil, false
		}
		switch d.Kind {
		case KindSeconds:
			return time.Duration(n) * time.Second, true
		case KindMillis:
			return time.Duration(n) * time.Millisecond, true
		}
		return int(n), true
	case KindEnum:
		for _, v := range d.Values {
			if raw == v {
				return raw, true
			}
		}
		return nil, false
	case KindString, KindSecret:
		if d.required && raw == "" {
			return nil, false
		}
		return raw, true
	case KindChar:
		r, size := utf8.DecodeRuneInString(raw)
		if size == 0 || size != len(raw) {
			return nil, false
		}
		return r, true
	case KindAddress:
		return raw, validAddress(raw)
	case KindEndpoint:
		t, e, ok := strings.Cut(raw, ":")
		return raw, ok && strings.TrimSpace(t) == t && t != "" && strings.TrimSpace(e) == e && e != ""
	}
	return nil, false
}

func formatByKind(k Kind) func(any) string {
	switch k {
	case KindBool:
		return func(v any) string { return strconv.FormatBool(v.(bool)) }
	case KindInt:
		return func(v any) string { return strconv.Itoa(v.(int)) }
	case KindSeconds:
		return func(v any) string { return strconv.FormatInt(int64(v.(time.Duration)/time.Second), 10) }
	case KindMillis:
		return func(v any) string { return strconv.FormatInt(int64(v.(time.Duration)/time.Millisecond), 10) }
	case KindChar:
		return func(v any) string { return string(v.(rune)) }
	}
	return func(v any) string { return v.(string) }
}

// parseBool accepts the spellings operators use in INI files. (The ESP
// interface is stricter: there only "true" is true.)
func parseBool(raw string) (any, bool) {
	switch strings.ToLower(raw) {
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0":
		return false, true
	}
	return nil, false
}

// validAddress reports whether s is host:port with a numeric port; the
// host may be empty (all interfaces), a name, or an IP address.
func validAddress(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || strings.ContainsAny(host, " \t") {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n <= 65535
}
