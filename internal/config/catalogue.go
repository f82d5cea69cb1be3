package config

import (
	"slices"
	"strconv"
	"strings"
)

// sectionSpec describes one section, or one family of sections such as
// [endpoints:<tenant id>], and the options it accepts.
type sectionSpec struct {
	name    string // exact name; for a family, the prefix including its separator ("chat.")
	family  bool   // name is a prefix followed by an argument
	display string // name as listed by Options, e.g. "chat.<service>"
	argDesc string // what the argument must be, for errors
	// canonArg checks a family argument and returns its canonical form.
	canonArg func(arg string) (string, bool)

	opts   []*desc          // options with fixed names, in listing order
	index  map[string]*desc // opts by name
	anyKey *desc            // handles every other key, or nil
	legacy map[string]rename

	// enter is called for every header of the section in a file before its
	// entries are applied; first is true for the first header of this spec.
	enter func(c *Config, arg string, first bool)
	// args lists the family members present in c (sorted).
	args func(c *Config) []string
	// keys lists the keys anyKey holds for arg in c (sorted).
	keys func(c *Config, arg string) []string
}

// rename maps a legacy option name to its current place.
type rename struct{ section, name string }

// catalog is the read-only table of every section and option.
type catalog struct {
	sections []*sectionSpec
	exact    map[string]*sectionSpec
}

// cat is built once and never modified.
var cat = newCatalog()

func newCatalog() *catalog {
	c := &catalog{exact: map[string]*sectionSpec{}}
	for _, s := range allSections() {
		s.index = map[string]*desc{}
		if s.display == "" {
			s.display = s.name
		}
		for _, d := range s.opts {
			d.Section = s.display
			d.complete()
			s.index[d.Name] = d
		}
		if s.anyKey != nil {
			s.anyKey.Section = s.display
			s.anyKey.complete()
		}
		c.sections = append(c.sections, s)
		if !s.family {
			c.exact[s.name] = s
		}
	}
	return c
}

// allSections returns the catalogue in listing order.
func allSections() []*sectionSpec {
	return []*sectionSpec{
		settingsSection(),
		inactivitySection(),
		languageSection(),
		cleanupSection(),
		fileTransferSection(),
		documentsSection(),
		pushSection(),
		healthSection(),
		logFilterSection(),
		logSection(),
		chatSection(),
		serviceSection(),
		tenantsSection(),
		endpointsSection(),
		portsSection(),
		tokenSection("admin", "admin API", func(c *Config) *string { return &c.Admin.Token }),
		tokenSection("esp", "workflow (ESP) requests", func(c *Config) *string { return &c.ESP.Token }),
		protectionSection(),
		corsSection(),
		storeSection(),
		routingSection(),
		routingQueueSection(),
		clusterSection(),
	}
}

// lookup finds the spec for a section name as written in a file. ok is
// false for an unknown section; badArg is true when the name belongs to a
// family but its argument is unacceptable.
func (cat *catalog) lookup(name string) (s *sectionSpec, arg string, ok, badArg bool) {
	if s := cat.exact[name]; s != nil {
		return s, "", true, false
	}
	for _, s := range cat.sections {
		if s.family && strings.HasPrefix(name, s.name) {
			arg, ok := s.canonArg(name[len(s.name):])
			if !ok {
				return s, "", false, true
			}
			return s, arg, true, false
		}
	}
	return nil, "", false, false
}

// find returns the descriptor that handles option key in the section
// instance named section, with the family argument.
func (cat *catalog) find(section, key string) (*desc, string, bool) {
	s, arg, ok, _ := cat.lookup(section)
	if !ok {
		return nil, "", false
	}
	if d := s.index[key]; d != nil {
		return d, arg, true
	}
	if s.anyKey != nil {
		return s.anyKey, arg, true
	}
	return nil, "", false
}

// instanceName is the section name of a family member, or the plain name.
func (s *sectionSpec) instanceName(arg string) string {
	if s.family {
		return s.name + arg
	}
	return s.name
}

// Options returns a copy of the option catalogue, sorted by section and
// name. Sections in angle brackets stand for families of sections, names
// in angle brackets for "any key" (see Option.Keyed).
func Options() []Option {
	var out []Option
	for _, s := range cat.sections {
		for _, d := range s.opts {
			out = append(out, d.public())
		}
		if s.anyKey != nil {
			out = append(out, s.anyKey.public())
		}
	}
	slices.SortStableFunc(out, func(a, b Option) int {
		if c := strings.Compare(a.Section, b.Section); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// public returns the Option with its slices copied, so callers cannot
// reach into the catalogue.
func (d *desc) public() Option {
	o := d.Option
	o.Values = slices.Clone(o.Values)
	return o
}

// positiveID accepts a decimal id from 1 to 2147483647 and returns it
// without leading zeros.
func positiveID(s string) (string, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return "", false
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 1 {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
