package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/confab/confab/internal/config"
)

// FuzzParseINI feeds arbitrary bytes to ParseINI and Parse. Neither may
// panic; what ParseINI returns must be well formed and survive being
// written out and parsed again; Parse must return either a Config or an
// error, never both. Seeds live in testdata/fuzz/FuzzParseINI.
func FuzzParseINI(f *testing.F) {
	f.Add([]byte("[settings]\nflex-disconnect-timeout = 300\n"))
	f.Add([]byte("[endpoints:1]\ndefault = Chat In\n[chat.sales]\n_chat_endpoint = Environment:default\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := config.ParseINI("fuzz.ini", data)
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range unjoin(err) {
			var se *config.SyntaxError
			if !errors.As(e, &se) || se.Line < 1 || se.Line > lines || se.File != "fuzz.ini" {
				t.Fatalf("bad error %#v", e)
			}
		}
		if file == nil {
			t.Fatal("ParseINI returned no File")
		}
		last := 0
		for _, s := range file.Sections {
			if s.Name == "" || s.Name != strings.TrimSpace(s.Name) || strings.ContainsAny(s.Name, "[]") || s.Line <= last || s.Line > lines {
				t.Fatalf("bad section %q at line %d", s.Name, s.Line)
			}
			last = s.Line
			for _, e := range s.Entries {
				if e.Key == "" || e.Key != strings.TrimSpace(e.Key) || strings.Contains(e.Key, "=") ||
					e.Value != strings.TrimSpace(e.Value) || strings.Contains(e.Value, "\n") || e.Line <= last || e.Line > lines {
					t.Fatalf("bad entry %+v in [%s]", e, s.Name)
				}
				last = e.Line
			}
		}
		if err == nil {
			again, err := config.ParseINI("again.ini", format(file))
			if err != nil {
				t.Fatalf("re-parsing the formatted file: %v\n%s", err, format(file))
			}
			if !reflect.DeepEqual(shape(file), shape(again)) {
				t.Fatalf("round trip changed the file\nbefore %q\nafter  %q", shape(file), shape(again))
			}
		}

		c, warns, err := config.Parse("fuzz.ini", data)
		for _, w := range warns {
			_ = w.String()
		}
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if c != nil {
			_, changes := config.Reconcile(config.Default(), c)
			for _, ch := range changes {
				_ = ch.String()
			}
			_ = c.ServiceEndpoint("x")
			_, _, _, _ = c.ResolveEndpoint(c.Chat.DefaultChatEndpoint)
		}
	})
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// format writes a File back as INI text.
func format(f *config.File) []byte {
	var b bytes.Buffer
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%s = %s\n", e.Key, e.Value)
		}
	}
	return b.Bytes()
}

// shape is a File without line numbers.
func shape(f *config.File) []string {
	var out []string
	for _, s := range f.Sections {
		out = append(out, "["+s.Name+"]")
		for _, e := range s.Entries {
			out = append(out, e.Key+"\x00"+e.Value)
		}
	}
	return out
}
