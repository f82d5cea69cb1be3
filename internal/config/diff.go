package config

import (
	"fmt"
	"slices"
	"strings"
)

// Change is one option whose value differs between two Configs.
type Change struct {
	Section string // section as written, e.g. "settings" or "endpoints:1"
	Option  string
	// Old and New are the values in file form; "" also stands for "not
	// set" where an option can be absent (tenants, endpoints, per-service
	// and per-key options).
	Old, New string
	// RestartRequired is true when the option takes effect only after a
	// restart (Effect == Restart).
	RestartRequired bool
	// Secret is true for values that must not be printed (tokens).
	Secret bool
}

// String describes the change for a log line; secret values are hidden.
func (ch Change) String() string {
	old, nu := show(ch.Old), show(ch.New)
	if ch.Secret {
		old, nu = "(hidden)", "(hidden)"
	}
	s := fmt.Sprintf("config: [%s] %s changed from %s to %s", ch.Section, ch.Option, old, nu)
	if ch.RestartRequired {
		s += fmt.Sprintf("; restart required, %s stays in effect until then", old)
	}
	return s
}

// show prints a value bare when that is unambiguous, quoted otherwise.
func show(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"") {
		return fmt.Sprintf("%q", v)
	}
	return v
}

// setting is one option value of a Config in file form.
type setting struct {
	section, option, value string
	d                      *desc
}

// settings lists every option value held by c, sorted by section and
// option; fixed options always appear, keyed and per-service ones only
// when set.
func (c *Config) settings() []setting {
	var out []setting
	add := func(s *sectionSpec, arg, key string, d *desc) {
		if v, ok := d.bind.get(c, arg, key); ok {
			out = append(out, setting{section: s.instanceName(arg), option: key, value: d.format(v), d: d})
		}
	}
	for _, s := range cat.sections {
		args := []string{""}
		if s.family {
			args = s.args(c)
		}
		for _, arg := range args {
			for _, d := range s.opts {
				add(s, arg, d.Name, d)
			}
			if s.anyKey != nil {
				for _, k := range s.keys(c, arg) {
					add(s, arg, k, s.anyKey)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b setting) int {
		if c := strings.Compare(a.section, b.section); c != 0 {
			return c
		}
		return strings.Compare(a.option, b.option)
	})
	return out
}

// Diff lists every option whose value differs between old and new, sorted
// by section and option, including options set in only one of them.
func Diff(old, new *Config) []Change {
	type key struct{ section, option string }
	before := map[key]setting{}
	for _, s := range old.settings() {
		before[key{s.section, s.option}] = s
	}
	var out []Change
	change := func(s setting, o, n string) {
		out = append(out, Change{Section: s.section, Option: s.option, Old: o, New: n,
			RestartRequired: s.d.Effect == Restart, Secret: s.d.Kind == KindSecret})
	}
	for _, s := range new.settings() {
		k := key{s.section, s.option}
		b, ok := before[k]
		delete(before, k)
		if !ok {
			change(s, "", s.value)
		} else if b.value != s.value {
			change(s, b.value, s.value)
		}
	}
	for _, b := range before {
		change(b, b.value, "")
	}
	slices.SortFunc(out, func(a, b Change) int {
		if c := strings.Compare(a.Section, b.Section); c != 0 {
			return c
		}
		return strings.Compare(a.Option, b.Option)
	})
	return out
}

// Reconcile decides what becomes active when next replaces old at run
// time. It returns a Config equal to next except that every option which
// needs a restart keeps its value from old, together with every change
// between old and next (those marked RestartRequired are not applied).
// Neither argument is modified; when no option needs a restart, next
// itself is returned.
func Reconcile(old, next *Config) (*Config, []Change) {
	changes := Diff(old, next)
	var active *Config
	for _, ch := range changes {
		if !ch.RestartRequired {
			continue
		}
		if active == nil {
			active = next.clone()
		}
		d, arg, ok := cat.find(ch.Section, ch.Option)
		if !ok {
			continue // cannot happen: the change came from the catalogue
		}
		if v, present := d.bind.get(old, arg, ch.Option); present {
			d.bind.set(active, arg, ch.Option, v)
		} else if d.bind.del != nil {
			d.bind.del(active, arg, ch.Option)
		}
	}
	if active == nil {
		return next, changes
	}
	return active, changes
}
