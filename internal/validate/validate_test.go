package validate_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/validate"
)

func TestText(t *testing.T) {
	lim := validate.LimitsFor(32768)
	cases := []struct {
		name  string
		field validate.Field
		value string
		kind  validate.Kind // 0: accepted
	}{
		{"plain nickname", validate.Nickname, "Ann", 0},
		{"empty is fine", validate.Nickname, "", 0},
		{"nickname at the limit", validate.Nickname, strings.Repeat("é", 256), 0},
		{"nickname past the limit", validate.Nickname, strings.Repeat("n", 257), validate.TooLong},
		{"invalid UTF-8", validate.Nickname, "a\xffb", validate.BadUTF8},
		{"encoded surrogate", validate.MessageText, "\xed\xa0\x80", validate.BadUTF8},
		{"message at the limit", validate.MessageText, strings.Repeat("m", 14745), 0},
		{"message past the limit", validate.MessageText, strings.Repeat("m", 14746), validate.TooLong},
		{"absolute URL", validate.PushURL, "https://shop.example/cart", 0},
		{"not a URL", validate.PushURL, "notaurl", validate.BadForm},
		{"no host", validate.PushURL, "mailto:x", validate.BadForm},
		{"message type past 64", validate.MessageType, strings.Repeat("t", 65), validate.TooLong},
	}
	for _, tc := range cases {
		p := validate.Text(tc.field, tc.value, lim)
		switch {
		case tc.kind == 0 && p != nil:
			t.Errorf("%s: refused: %v", tc.name, p)
		case tc.kind != 0 && (p == nil || p.Kind != tc.kind):
			t.Errorf("%s: got %v, want kind %d", tc.name, p, tc.kind)
		}
	}
}

func TestKV(t *testing.T) {
	lim := validate.LimitsFor(1000) // KV limit 450 bytes
	deep := kv.Map{"v": "x"}
	for range validate.MaxDepth - 1 {
		deep = kv.Map{"k": deep}
	}
	cases := []struct {
		name string
		m    kv.Map
		kind validate.Kind
	}{
		{"nil", nil, 0},
		{"flat", kv.Map{"a": "b"}, 0},
		{"at the depth limit", deep, 0},
		{"past the depth limit", kv.Map{"k": deep}, validate.TooDeep},
		{"bad key", kv.Map{"a\xff": "b"}, validate.BadUTF8},
		{"bad nested value", kv.Map{"a": kv.Map{"b": "\xfe"}}, validate.BadUTF8},
		{"too big", kv.Map{"a": strings.Repeat("x", 450)}, validate.TooLong},
		{"at the size limit", kv.Map{"a": strings.Repeat("x", 449)}, 0},
		{"key at its limit", kv.Map{strings.Repeat("k", 256): "v"}, 0},
		{"key past its limit", kv.Map{"a": kv.Map{strings.Repeat("k", 257): "v"}}, validate.TooLong},
	}
	for _, tc := range cases {
		p := validate.KV(validate.UserData, tc.m, lim)
		switch {
		case tc.kind == 0 && p != nil:
			t.Errorf("%s: refused: %v", tc.name, p)
		case tc.kind != 0 && (p == nil || p.Kind != tc.kind):
			t.Errorf("%s: got %v, want kind %d", tc.name, p, tc.kind)
		}
	}
}

func TestJSONText(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{`{"a":"b"}`, true},
		{`{"a":"\u00e9\n"}`, true},
		{`{"a":"\ud83d\ude00"}`, true}, // a surrogate pair
		{`{"a":"\\ud800"}`, true},      // an escaped backslash, then text
		{`{"a":"\ud800"}`, false},
		{`{"a":"\ud800x"}`, false},
		{`{"a":"\udc00"}`, false},
		{`{"a":"\ud800\u0041"}`, false},
		{"{\"a\":\"\xff\"}", false},
		{`{"a":"\u12"}`, true}, // malformed: left to the decoder
	}
	for _, tc := range cases {
		if got := validate.JSONText([]byte(tc.in)); got != tc.ok {
			t.Errorf("JSONText(%s) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

// FuzzJSONText checks JSONText against Go's decoder: a text it accepts
// decodes (when it decodes at all) to exactly the strings written, with no
// U+FFFD the input did not spell out.
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{`"a"`, `"\ud800"`, `"\ud83d\ude00"`, "\"\xff\"", `"\\ud800"`, `"\uFFFD"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := validate.JSONText([]byte(s))
		var v string
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		if ok && strings.ContainsRune(v, utf8.RuneError) && !strings.Contains(strings.ToLower(s), `\ufffd`) && !strings.ContainsRune(s, utf8.RuneError) {
			t.Fatalf("JSONText accepted %q, which decodes with U+FFFD to %q", s, v)
		}
		if !ok && utf8.ValidString(s) && !strings.ContainsRune(v, utf8.RuneError) {
			t.Fatalf("JSONText refused %q, which decodes cleanly to %q", s, v)
		}
	})
}

func TestDropServerOwned(t *testing.T) {
	m := kv.Map{"ContactId": "x", "IsOnline": "1", "GCTI_Chat_AsyncStatus": "-2", "ChatServerSessionPassword": "p",
		"csg_msgs": "1", "cse_x": kv.Map{"a": "b"}, "FirstName": "Ann", "GCTI_LanguageCode": "en", "ContactIdentifier": "kept"}
	if n := validate.DropServerOwned(m); n != 6 {
		t.Errorf("dropped %d, want 6", n)
	}
	if !kv.Equal(m, kv.Map{"FirstName": "Ann", "GCTI_LanguageCode": "en", "ContactIdentifier": "kept"}) {
		t.Errorf("left %v", m)
	}
}
