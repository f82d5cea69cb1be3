package config

import (
	"fmt"
	"strings"
)

// Unimplemented returns the options that the INI text data sets and that
// Confab accepts but does not act on yet, as "[section] option", in file
// order, each once. An option written under a legacy name is judged by
// the option it maps to. Unknown sections and options and syntax errors
// are not its concern (Parse reports them).
func Unimplemented(name string, data []byte) []string {
	f, _ := ParseINI(name, data)
	if f == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, sec := range f.Sections {
		spec, arg, ok, _ := cat.lookup(sec.Name)
		if !ok {
			continue
		}
		section := spec.instanceName(arg)
		for _, e := range sec.Entries {
			d := spec.index[e.Key]
			if to, ok := spec.legacy[e.Key]; ok {
				d, _, _ = cat.find(to.section, to.name)
			}
			if d == nil {
				d = spec.anyKey
			}
			if d == nil || d.Implemented {
				continue
			}
			key := fmt.Sprintf("[%s] %s", section, e.Key)
			if !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
		}
	}
	return out
}

// UnimplementedFile is Unimplemented for the file at path; a file that
// cannot be read yields nothing (Load reports that).
func UnimplementedFile(path string) []string {
	data, err := readFile(path)
	if err != nil {
		return nil
	}
	return Unimplemented(path, data)
}

// UnimplementedWarning is the one line that names the unimplemented
// options set in a file, or "" when there are none.
func UnimplementedWarning(opts []string) string {
	if len(opts) == 0 {
		return ""
	}
	return fmt.Sprintf("config: %d option(s) set but not implemented, they have no effect yet: %s", len(opts), strings.Join(opts, ", "))
}
