package kv_test

import (
	"strings"
	"testing"

	"github.com/confab/confab/internal/kv"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    kv.Map
		wantErr string
	}{
		{"list flat", "key1:value1|key2:value2", kv.Map{"key1": "value1", "key2": "value2"}, ""},
		{"list nested", "key1:value1|key3.subkey1:subvalue1|key3.subkey2:x", kv.Map{"key1": "value1", "key3": kv.Map{"subkey1": "subvalue1", "subkey2": "x"}}, ""},
		{"list spaces and colons in value", " url : http://a/b?c=d | k:v ", kv.Map{"url": "http://a/b?c=d", "k": "v"}, ""},
		{"list empty entries", "||a:1||", kv.Map{"a": "1"}, ""},
		{"list empty value", "a:", kv.Map{"a": ""}, ""},
		{"json", `{"key1":"value1","key3":{"subkey1":"subvalue1"},"n":12,"b":true,"z":null}`, kv.Map{"key1": "value1", "key3": kv.Map{"subkey1": "subvalue1"}, "n": "12", "b": "true", "z": ""}, ""},
		{"json array kept as text", `{"a":[1,"x"]}`, kv.Map{"a": `[1,"x"]`}, ""},
		{"list no colon", "a:1|oops", nil, `entry 2 "oops" has no ':'`},
		{"list empty key", ":v", nil, "empty key"},
		{"list empty nested key", "a..b:v", nil, "empty key"},
		{"list value then nest", "a:1|a.b:2", nil, `key "a" holds a value`},
		{"list nest then value", "a.b:2|a:1", nil, `already holds a nested list`},
		{"list line break", "a:1\nb:2", nil, "line breaks"},
		{"json bad", `{"a":`, nil, "decode JSON object"},
		{"json at the depth limit", strings.Repeat(`{"a":`, 15) + `{"b":"c"}` + strings.Repeat("}", 15), nested(16, "c"), ""},
		{"json past the depth limit", strings.Repeat(`{"a":`, 16) + `{"b":"c"}` + strings.Repeat("}", 16), nil, "nested deeper than 16"},
		{"json array past the depth limit", `{"a":` + strings.Repeat("[", 16) + strings.Repeat("]", 16) + "}", nil, "nested deeper than 16"},
		{"json 16000 levels", strings.Repeat(`{"a":`, 16000) + strings.Repeat("}", 16000), nil, "nested deeper than 16"},
		{"json braces in strings do not count", `{"a":"` + strings.Repeat("{", 100) + `\"{"}`, kv.Map{"a": strings.Repeat("{", 100) + `"{`}, ""},
		{"list at the depth limit", strings.Repeat("a.", 15) + "b:v", nested(16, "v"), ""},
		{"list past the depth limit", strings.Repeat("a.", 16) + "b:v", nil, "deeper than 16"},
		{"json trailing", `{"a":"1"} x`, nil, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kv.Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !kv.Equal(got, tt.want) {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatListRoundTrip(t *testing.T) {
	m := kv.Map{"b": "2", "a": kv.Map{"y": "u:v", "x": "1"}}
	s := kv.FormatList(m)
	if s != "a.x:1|a.y:u:v|b:2" {
		t.Fatalf("FormatList = %q", s)
	}
	back, err := kv.ParseList(s)
	if err != nil || !kv.Equal(back, m) {
		t.Fatalf("ParseList(FormatList) = %v, %v; want %v", back, err, m)
	}
}

func TestCloneAndMerge(t *testing.T) {
	orig := kv.Map{"a": "1", "n": kv.Map{"x": "1"}}
	c := orig.Clone()
	c.Sub("n")["x"] = "changed"
	if orig.Sub("n").String("x") != "1" {
		t.Fatal("Clone shares nested maps with the original")
	}
	orig.Merge(kv.Map{"a": "2", "n": kv.Map{"y": "2"}, "new": "3"})
	want := kv.Map{"a": "2", "n": kv.Map{"x": "1", "y": "2"}, "new": "3"}
	if !kv.Equal(orig, want) {
		t.Fatalf("Merge = %v, want %v", orig, want)
	}
	if got := (kv.Map{"k": "vv", "n": kv.Map{"a": "b"}}).Size(); got != 6 {
		t.Fatalf("Size = %d, want 6", got)
	}
}

// FuzzParseList checks that no input panics the decoder and that whatever it
// accepts survives a FormatList/ParseList round trip.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"key1:value1|key3.subkey1:subvalue1", "a:b:c|d.e.f:g", "|", ":", "a..b:c", `{"a":{"b":"c"}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := kv.Parse(s)
		if err != nil {
			return
		}
		if strings.HasPrefix(strings.TrimSpace(s), "{") {
			return // JSON keys and values may hold characters the list form cannot carry
		}
		again, err := kv.ParseList(kv.FormatList(m))
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", kv.FormatList(m), s, err)
		}
		if !kv.Equal(m, again) {
			t.Fatalf("round trip of %q: %v != %v", s, m, again)
		}
	})
}

// nested returns {"a":{"a":...{"b":leaf}}}, depth levels deep.
func nested(depth int, leaf string) kv.Map {
	m := kv.Map{"b": leaf}
	for range depth - 1 {
		m = kv.Map{"a": m}
	}
	return m
}

// TestCloneRoom: a deep copy (nested lists copied too), non-nil for nil,
// that changes to neither side reach the other.
func TestCloneRoom(t *testing.T) {
	if m := kv.Map(nil).CloneRoom(3); m == nil || len(m) != 0 {
		t.Fatalf("nil.CloneRoom(3) = %#v, want an empty kv.Map", m)
	}
	if kv.Map(nil).Clone() != nil {
		t.Fatal("nil.Clone() is not nil")
	}
	src := kv.Map{"a": "1", "n": kv.Map{"b": "2"}}
	for _, c := range []kv.Map{src.CloneRoom(4), src.Clone()} {
		c["x"] = "new"
		c.Sub("n")["b"] = "changed"
		if len(src) != 2 || src.Sub("n").String("b") != "2" {
			t.Fatalf("changing the copy changed the source: %v", src)
		}
		if c.String("a") != "1" || len(c) != 3 {
			t.Fatalf("copy = %v", c)
		}
	}
}
