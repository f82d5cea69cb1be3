package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// MaxFileSize bounds the configuration file Load and the Watcher read.
const MaxFileSize = 4 << 20

// Default returns a new Config holding the built-in value of every option:
// the catalogue defaults, tenant Environment = 1, endpoint
// [endpoints:1] default = default, and every listener on 127.0.0.1:8080.
func Default() *Config {
	c := &Config{
		Services:  map[string]Service{},
		Languages: map[string]Language{},
		Tenants:   map[string]string{defaultTenantName: defaultTenantID},
		Endpoints: map[string]map[string]string{defaultTenantID: {defaultEndpoint: defaultQueue}},
		Ports:     map[string]string{},
		LogFilter: LogFilter{Keys: map[string]FilterType{}},

		RoutingQueues: map[string]RoutingQueue{},
	}
	for _, s := range cat.sections {
		if s.family {
			continue
		}
		for _, d := range s.opts {
			v, ok := d.parse(d.Default)
			if !ok {
				// A catalogue bug, caught by the package tests.
				panic(fmt.Sprintf("config: default %q of [%s] %s is not valid", d.Default, d.Section, d.Name))
			}
			d.bind.set(c, "", d.Name, v)
		}
	}
	return c
}

// Load reads and parses the configuration file at path; see Parse.
func Load(path string) (*Config, []Warning, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	return Parse(path, data)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config: %s is larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

// Parse builds a Config from the INI text data; name is used in messages.
// Options not in the file keep their defaults.
//
// Unknown sections and options, legacy names and values, repeated options
// and endpoints that do not resolve are returned as warnings. Syntax
// errors and invalid values are errors: every one of them is reported,
// joined with errors.Join in line order (each is a *SyntaxError or
// *ValueError), and the Config is nil.
func Parse(name string, data []byte) (*Config, []Warning, error) {
	f, err := ParseINI(name, data)
	errs := flatten(err)
	c, warns, verrs := build(f)
	errs = append(errs, verrs...)
	for _, w := range c.Validate() {
		w.File = name
		warns = append(warns, w)
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b error) int { return lineOf(a) - lineOf(b) })
		return nil, warns, errors.Join(errs...)
	}
	return c, warns, nil
}

// lineOf returns the line an error of this package points at.
func lineOf(err error) int {
	switch e := err.(type) {
	case *SyntaxError:
		return e.Line
	case *ValueError:
		return e.Line
	}
	return 0
}

// flatten undoes errors.Join so that joined errors stay one level deep.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// build applies the entries of f on top of the defaults.
func build(f *File) (*Config, []Warning, []error) {
	c := Default()
	var (
		warns   []Warning
		errs    []error
		entered = map[*sectionSpec]bool{}
		setAt   = map[[2]string]int{} // {section instance, key} -> line of last assignment
		legacy  []legacyEntry
	)
	warn := func(line int, section, option, format string, args ...any) {
		warns = append(warns, Warning{File: f.Name, Line: line, Section: section, Option: option, Message: fmt.Sprintf(format, args...)})
	}
	for _, sec := range f.Sections {
		spec, arg, ok, badArg := cat.lookup(sec.Name)
		if badArg {
			errs = append(errs, &SyntaxError{File: f.Name, Line: sec.Line,
				Msg: fmt.Sprintf("[%s]: section name needs %s", sec.Name, spec.argDesc)})
			continue
		}
		if !ok {
			warn(sec.Line, sec.Name, "", "unknown section, ignored%s", suggestSection(sec.Name))
			continue
		}
		if spec.enter != nil {
			spec.enter(c, arg, !entered[spec])
		}
		entered[spec] = true
		section := spec.instanceName(arg)
		for _, e := range sec.Entries {
			if to, ok := spec.legacy[e.Key]; ok {
				warn(e.Line, section, e.Key, "legacy name, use [%s] %s instead", to.section, to.name)
				legacy = append(legacy, legacyEntry{section: section, entry: e, to: to})
				continue
			}
			d := spec.index[e.Key]
			if d == nil {
				d = spec.anyKey
			}
			if d == nil {
				warn(e.Line, section, e.Key, "unknown option, ignored%s", suggestOption(spec, e.Key))
				continue
			}
			k := [2]string{section, e.Key}
			if prev, dup := setAt[k]; dup {
				warn(e.Line, section, e.Key, "set again (first on line %d); the later value wins", prev)
			}
			setAt[k] = e.Line
			if err := apply(c, d, arg, section, f.Name, e, warn); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, l := range legacy {
		if line, ok := setAt[[2]string{l.to.section, l.to.name}]; ok {
			warn(l.entry.Line, l.section, l.entry.Key, "ignored: [%s] %s is also set (line %d)", l.to.section, l.to.name, line)
			continue
		}
		d, arg, _ := cat.find(l.to.section, l.to.name)
		if err := apply(c, d, arg, l.section, f.Name, l.entry, warn); err != nil {
			errs = append(errs, err)
		}
	}
	return c, warns, errs
}

// legacyEntry is an entry written under an old name, applied after every
// current name so that the current name wins.
type legacyEntry struct {
	section string // where it was written
	entry   Entry
	to      rename
}

// apply parses e.Value with d and stores it in c. section is the section
// as written, for messages.
func apply(c *Config, d *desc, arg, section, file string, e Entry, warn func(int, string, string, string, ...any)) error {
	raw := e.Value
	if v, ok := d.legacy[raw]; ok {
		warn(e.Line, section, e.Key, "legacy value %q read as %q", raw, v)
		raw = v
	}
	v, ok := d.parse(raw)
	if !ok {
		return &ValueError{File: file, Line: e.Line, Section: section, Option: e.Key, Value: e.Value, Range: d.Range}
	}
	d.bind.set(c, arg, e.Key, v)
	return nil
}

// suggestSection returns a hint naming a known section close to name.
func suggestSection(name string) string {
	var names []string
	for _, s := range cat.sections {
		if s.family {
			if strings.EqualFold(name, strings.TrimRight(s.name, ":.")) {
				return fmt.Sprintf("; did you mean [%s]?", s.display)
			}
			continue
		}
		names = append(names, s.name)
	}
	if m := closest(name, names); m != "" {
		return fmt.Sprintf("; did you mean [%s]?", m)
	}
	return ""
}

// suggestOption returns a hint naming a known option of spec close to key.
func suggestOption(spec *sectionSpec, key string) string {
	names := make([]string, 0, len(spec.opts))
	for _, d := range spec.opts {
		names = append(names, d.Name)
	}
	if m := closest(key, names); m != "" {
		return fmt.Sprintf("; did you mean %s?", m)
	}
	return ""
}

// closest returns the candidate equal to s but for case, or within two
// edits of it, or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if strings.EqualFold(s, c) {
			return c
		}
		if len(s) < 4 || len(s) > 64 {
			continue
		}
		if d := editDistance(strings.ToLower(s), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// clone returns a deep copy of c; the copy may be modified before it is
// published.
func (c *Config) clone() *Config {
	n := *c
	n.Services = cloneMap(c.Services)
	n.RoutingQueues = cloneMap(c.RoutingQueues)
	n.Languages = cloneMap(c.Languages)
	n.Tenants = cloneMap(c.Tenants)
	n.Ports = cloneMap(c.Ports)
	n.LogFilter.Keys = cloneMap(c.LogFilter.Keys)
	n.Endpoints = make(map[string]map[string]string, len(c.Endpoints))
	for id, eps := range c.Endpoints {
		n.Endpoints[id] = cloneMap(eps)
	}
	return &n
}

// cloneMap is maps.Clone that never returns nil.
func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return maps.Clone(m)
}
