package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/confab/confab/internal/config"
)

func TestParseINI(t *testing.T) {
	type sec struct {
		name    string
		line    int
		entries []config.Entry
	}
	tests := []struct {
		name string
		in   string
		want []sec
	}{
		{"empty", "", nil},
		{"comments and blanks", "; one\n# two\n\n   \n\t; three\n", nil},
		{"section with colon and dot",
			"[endpoints:1]\ndefault = Chat In\n[chat.customer-support]\n_chat_endpoint=1:default\n",
			[]sec{
				{"endpoints:1", 1, []config.Entry{{Key: "default", Value: "Chat In", Line: 2}}},
				{"chat.customer-support", 3, []config.Entry{{Key: "_chat_endpoint", Value: "1:default", Line: 4}}},
			}},
		{"whitespace trimmed everywhere",
			"  [  settings  ]  \n  flex-disconnect-timeout   =   300   \n",
			[]sec{{"settings", 1, []config.Entry{{Key: "flex-disconnect-timeout", Value: "300", Line: 2}}}}},
		{"value keeps = : ; # and quotes",
			"[x]\na = b=c:d ; not a comment # nor this\nq = \"quoted\"\n",
			[]sec{{"x", 1, []config.Entry{
				{Key: "a", Value: "b=c:d ; not a comment # nor this", Line: 2},
				{Key: "q", Value: `"quoted"`, Line: 3},
			}}}},
		{"empty value", "[x]\nmessage-alert =\n",
			[]sec{{"x", 1, []config.Entry{{Key: "message-alert", Value: "", Line: 2}}}}},
		{"CRLF and BOM", "\uFEFF[x]\r\na = 1\r\n",
			[]sec{{"x", 1, []config.Entry{{Key: "a", Value: "1", Line: 2}}}}},
		{"keys are case-sensitive and may hold spaces", "[tenants]\nMy Tenant = 7\nenvironment = 1\n",
			[]sec{{"tenants", 1, []config.Entry{{Key: "My Tenant", Value: "7", Line: 2}, {Key: "environment", Value: "1", Line: 3}}}}},
		{"repeated section kept apart", "[a]\nx=1\n[a]\nx=2\n",
			[]sec{{"a", 1, []config.Entry{{Key: "x", Value: "1", Line: 2}}}, {"a", 3, []config.Entry{{Key: "x", Value: "2", Line: 4}}}}},
		{"no final newline", "[a]\nx=1", []sec{{"a", 1, []config.Entry{{Key: "x", Value: "1", Line: 2}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.ParseINI("t.ini", []byte(tt.in))
			if err != nil {
				t.Fatalf("ParseINI: %v", err)
			}
			var got []sec
			for _, s := range f.Sections {
				got = append(got, sec{s.Name, s.Line, s.Entries})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseINIErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // every error, in order
	}{
		{"unclosed header", "[settings\n", []string{`t.ini:1: section header "[settings" has no closing ']'`}},
		{"empty header", "[ ]\n", []string{"t.ini:1: empty section name"}},
		{"bracket inside", "[a]b]\n", []string{`t.ini:1: section name "a]b" contains a bracket`}},
		{"no equals", "[a]\njust words\n", []string{`t.ini:2: expected "name = value", a [section] header or a comment, got "just words"`}},
		{"no name", "[a]\n = 3\n", []string{"t.ini:2: option without a name before '='"}},
		{"before any section", "x = 1\n", []string{`t.ini:1: option "x" appears before any [section] header`}},
		{"invalid UTF-8", "[a]\nx = \xff\n", []string{"t.ini:2: line is not valid UTF-8"}},
		{"all reported, options of a bad header skipped", "[a\nx=1\n[b]\nnope\n[]\n",
			[]string{
				`t.ini:1: section header "[a" has no closing ']'`,
				`t.ini:4: expected "name = value", a [section] header or a comment, got "nope"`,
				"t.ini:5: empty section name",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseINI("t.ini", []byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			var se *config.SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SyntaxError", err)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
