// Package kv holds the nested key-value lists that travel with chats:
// session and participant user data, event attributes, and ESP parameters.
//
// A Map's values are strings or nested Maps, nothing else. Maps decode from
// JSON objects (numbers and booleans become their text) and from the
// reference's list-like form `key1:value1|key3.subkey1:subvalue1`, where a dot
// in a key nests. Maps are plain values with no locking: the owner (a session,
// under its lock) copies them with Clone before handing them out.
package kv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Map is a nested key-value list. Every value is a string or a Map.
type Map map[string]any

// MaxDepth is the deepest nesting the decoders accept: a list holding only
// strings has depth 1. Deeper input is refused before it is decoded, so a
// hostile document never reaches the JSON decoder's own (much higher)
// limit. It is the one nesting limit of every decoder of outside input.
const MaxDepth = 16

// JSONDepth returns the deepest nesting of objects and arrays in a JSON
// text (0 for a scalar), scanning its bytes without decoding them; it stops
// counting at limit+1.
func JSONDepth(data []byte, limit int) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > limit {
					return deepest
				}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// String returns the string value at key, or "" when the key is absent or
// holds a nested Map.
func (m Map) String(key string) string {
	s, _ := m[key].(string)
	return s
}

// Sub returns the nested Map at key, or nil.
func (m Map) Sub(key string) Map {
	s, _ := m[key].(Map)
	return s
}

// Clone returns a deep copy of m (nil stays nil).
func (m Map) Clone() Map {
	if m == nil {
		return nil
	}
	return m.CloneRoom(0)
}

// CloneRoom returns a deep copy of m (an empty Map for nil) sized for extra
// keys more: a copy that then gets keys added past its size grows, which
// costs another table and a third more bytes than sizing it once.
func (m Map) CloneRoom(extra int) Map {
	out := make(Map, len(m)+extra)
	for k, v := range m {
		if sub, ok := v.(Map); ok {
			out[k] = sub.Clone()
		} else {
			out[k] = v
		}
	}
	return out
}

// Merge copies every entry of src into m, replacing existing keys; nested Maps
// present on both sides are merged recursively. m must not be nil.
func (m Map) Merge(src Map) {
	for k, v := range src {
		if sub, ok := v.(Map); ok {
			if dst, ok := m[k].(Map); ok {
				dst.Merge(sub)
				continue
			}
			m[k] = sub.Clone()
			continue
		}
		m[k] = v
	}
}

// Set stores value at a dotted path, creating nested Maps on the way. A path
// segment that already holds a string is an error.
func (m Map) Set(path []string, value any) error {
	cur := m
	for i, key := range path {
		if key == "" {
			return errors.New("kv: empty key")
		}
		if i == len(path)-1 {
			if _, isMap := cur[key].(Map); isMap {
				if _, newIsMap := value.(Map); !newIsMap {
					return fmt.Errorf("kv: key %q already holds a nested list", strings.Join(path, "."))
				}
			}
			cur[key] = value
			return nil
		}
		next, ok := cur[key].(Map)
		if !ok {
			if _, exists := cur[key]; exists {
				return fmt.Errorf("kv: key %q holds a value, cannot nest under it", strings.Join(path[:i+1], "."))
			}
			next = Map{}
			cur[key] = next
		}
		cur = next
	}
	return nil
}

// Size returns an estimate in bytes of m's keys and values, used to enforce
// limits on user data.
func (m Map) Size() int {
	n := 0
	for k, v := range m {
		n += len(k)
		switch v := v.(type) {
		case string:
			n += len(v)
		case Map:
			n += v.Size()
		}
	}
	return n
}

// Parse decodes either form: a value starting with '{' is JSON, anything else
// the list-like form.
func Parse(s string) (Map, error) {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		return FromJSON([]byte(t))
	}
	return ParseList(s)
}

// FromJSON decodes a JSON object. Numbers, booleans and null become their JSON
// text; arrays are kept as their JSON text, since the reference's key-value
// lists have no arrays.
func FromJSON(data []byte) (Map, error) {
	if JSONDepth(data, MaxDepth) > MaxDepth {
		return nil, fmt.Errorf("kv: decode JSON object: nested deeper than %d levels", MaxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("kv: decode JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("kv: decode JSON object: trailing data after the object")
	}
	if raw == nil {
		return nil, errors.New("kv: decode JSON object: null is not an object")
	}
	return normalize(raw), nil
}

func normalize(raw map[string]any) Map {
	out := make(Map, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case map[string]any:
			out[k] = normalize(v)
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case bool:
			out[k] = strconv.FormatBool(v)
		case nil:
			out[k] = ""
		default:
			b, _ := json.Marshal(v)
			out[k] = string(b)
		}
	}
	return out
}

// ParseList decodes the list-like form `k1:v1|k2:v2|k3.sub:v3`. Entries are
// separated by '|'; the first ':' of an entry separates key from value (so
// values may contain ':'); dots in a key nest; whitespace around keys and
// values is ignored; empty entries are skipped. Line breaks are not allowed.
func ParseList(s string) (Map, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("kv: list-like value must not contain line breaks")
	}
	out := Map{}
	for i, entry := range strings.Split(s, "|") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		key, value, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("kv: entry %d %q has no ':' between key and value", i+1, entry)
		}
		if strings.Count(key, ".") >= MaxDepth {
			return nil, fmt.Errorf("kv: entry %d: key nested deeper than %d levels", i+1, MaxDepth)
		}
		path := strings.Split(strings.TrimSpace(key), ".")
		for j := range path {
			path[j] = strings.TrimSpace(path[j])
			if path[j] == "" {
				return nil, fmt.Errorf("kv: entry %d %q has an empty key", i+1, entry)
			}
		}
		if err := out.Set(path, strings.TrimSpace(value)); err != nil {
			return nil, fmt.Errorf("kv: entry %d: %w", i+1, err)
		}
	}
	return out, nil
}

// FormatList encodes m in the list-like form with keys sorted. It is the
// inverse of ParseList for maps whose keys contain none of ".:|" and whose
// values contain no '|' nor line breaks and have no surrounding spaces.
func FormatList(m Map) string {
	var b strings.Builder
	formatList(&b, "", m)
	return b.String()
}

func formatList(b *strings.Builder, prefix string, m Map) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m[k].(type) {
		case Map:
			formatList(b, prefix+k+".", v)
		case string:
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(prefix)
			b.WriteString(k)
			b.WriteByte(':')
			b.WriteString(v)
		}
	}
}

// Equal reports whether a and b hold the same entries.
func Equal(a, b Map) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok {
			return false
		}
		switch av := av.(type) {
		case Map:
			bm, ok := bv.(Map)
			if !ok || !Equal(av, bm) {
				return false
			}
		case string:
			if bs, ok := bv.(string); !ok || bs != av {
				return false
			}
		default:
			return false
		}
	}
	return true
}
