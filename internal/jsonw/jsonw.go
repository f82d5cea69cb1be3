package jsonw

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/confab/confab/internal/kv"
)

const hexDigits = "0123456789abcdef"

// plain is 1 at the bytes String copies as they are: printable ASCII
// other than the quote, the backslash and the HTML characters < > & (a
// byte from 0x80 starts a rune that String decodes). A constant: 256
// bytes, one look-up per byte.
const plain = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x01\x01\x00\x01\x01\x01\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x00\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x01\x01\x01" +
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// String appends s as a JSON string, escaped as encoding/json escapes it.
func String(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Runs of bytes that need no escaping are the common case: step
		// over them with one table look-up each.
		for i < len(s) && plain[s[i]] != 0 {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Key appends ,"name": (or "name": when first) for a field of an object
// being written; name must need no escaping.
func Key(dst []byte, first bool, name string) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// Int appends n.
func Int(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// Bool appends true or false.
func Bool(dst []byte, b bool) []byte { return strconv.AppendBool(dst, b) }

// Time appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, quoted); ok is false for a time it refuses (a year outside
// 0–9999), which the caller must then encode some other way.
func Time(dst []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), true
}

// Map appends m as encoding/json writes a map[string]any: keys sorted,
// nested maps as objects. Values other than strings and nested maps (the
// only ones the engine's key-value lists hold) are encoded by
// encoding/json; ok is false if that fails.
func Map(dst []byte, m map[string]any) ([]byte, bool) {
	if m == nil {
		return append(dst, "null"...), true
	}
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = String(dst, k)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = Value(dst, m[k]); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// MarshalMap returns m's bytes as json.Marshal gives them (Map's, in a
// slice of their own sized for them), falling back to json.Marshal for a
// value Map cannot write: one allocation instead of encoding/json's
// reflection over the map and its sorted keys.
func MarshalMap(m map[string]any) ([]byte, error) {
	if b, ok := Map(make([]byte, 0, 16+mapSize(m)), m); ok {
		return b, nil
	}
	return json.Marshal(m)
}

// mapSize estimates m's encoded length.
func mapSize(m map[string]any) int {
	n := 2
	for k, v := range m {
		n += len(k) + 6
		switch v := v.(type) {
		case string:
			n += len(v)
		case kv.Map:
			n += mapSize(v)
		case map[string]any:
			n += mapSize(v)
		}
	}
	return n
}

// Value appends one value of a key-value list.
func Value(dst []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return String(dst, v), true
	case map[string]any:
		return Map(dst, v)
	case kv.Map:
		return Map(dst, v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, false
	}
	return append(dst, b...), true
}
