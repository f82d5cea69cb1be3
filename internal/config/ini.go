package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// File is the syntax tree of one INI document: its sections in the order
// they appear. ParseINI builds it; Parse turns it into a Config.
type File struct {
	Name     string    // file name used in error messages
	Sections []Section // in file order; a name may appear more than once
}

// Section is one "[name]" block of an INI document.
type Section struct {
	Name    string  // text between the brackets, trimmed
	Line    int     // 1-based line of the header
	Entries []Entry // in file order
}

// Entry is one "name = value" line.
type Entry struct {
	Key   string // text before the first '=', trimmed; case-sensitive
	Value string // text after the first '=', trimmed; kept literally
	Line  int    // 1-based
}

// SyntaxError reports a line ParseINI or Parse cannot accept, or a section
// header that names an impossible section (such as "[endpoints:abc]").
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ParseINI parses an INI document. The dialect is deliberately small:
//
//   - "[name]" starts a section; the name is trimmed and may contain any
//     character except brackets (so "[endpoints:1]" and
//     "[chat.customer-support]" are fine);
//   - "key = value" sets an option; the line is split at the first '=',
//     both sides are trimmed, so a value may itself contain '=', ':', ';'
//     or '#'; quotes are not interpreted;
//   - lines whose first non-blank character is ';' or '#' are comments;
//     blank lines are ignored; there are no inline comments;
//   - a leading UTF-8 byte-order mark is skipped; lines end with LF or CRLF.
//
// Every line that does not fit is reported, each as a *SyntaxError joined
// with errors.Join; the returned File holds whatever did parse. ParseINI
// never panics, whatever data holds.
func ParseINI(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &SyntaxError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	cur := -1       // index of the section being filled; -1 before any header or after a bad one
	header := false // a header line, good or bad, has been seen
	for n := 1; len(data) > 0; n++ {
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		if !utf8.Valid(raw) {
			fail(n, "line is not valid UTF-8")
			continue
		}
		line := strings.TrimSpace(string(raw))
		switch {
		case line == "", line[0] == ';', line[0] == '#':
			continue
		case line[0] == '[':
			header = true
			if line[len(line)-1] != ']' {
				fail(n, "section header %q has no closing ']'", line)
				cur = -1
				continue
			}
			sec := strings.TrimSpace(line[1 : len(line)-1])
			if sec == "" {
				fail(n, "empty section name")
				cur = -1
				continue
			}
			if strings.ContainsAny(sec, "[]") {
				fail(n, "section name %q contains a bracket", sec)
				cur = -1
				continue
			}
			f.Sections = append(f.Sections, Section{Name: sec, Line: n})
			cur = len(f.Sections) - 1
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				fail(n, "expected \"name = value\", a [section] header or a comment, got %q", line)
				continue
			}
			key, value = strings.TrimSpace(key), strings.TrimSpace(value)
			if key == "" {
				fail(n, "option without a name before '='")
				continue
			}
			if cur < 0 {
				if !header {
					fail(n, "option %q appears before any [section] header", key)
				}
				// Otherwise the enclosing header was bad and is already
				// reported; its options are skipped silently.
				continue
			}
			sec := &f.Sections[cur]
			sec.Entries = append(sec.Entries, Entry{Key: key, Value: value, Line: n})
		}
	}
	return f, errors.Join(errs...)
}
