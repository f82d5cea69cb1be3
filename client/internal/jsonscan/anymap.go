package jsonscan

import (
	"strconv"
	"unicode/utf8"
)

// Map reads an object into a new map[string]any, the value encoding/json
// gives when it decodes the object into a nil map[string]any: nested
// objects are map[string]any, arrays []any, numbers float64, true and false
// bool, null nil, and a key seen twice keeps its last value. A key with
// escapes or not in valid UTF-8 (encoding/json unquotes or replaces it) and
// a number strconv.ParseFloat refuses make the Scanner give up, as does
// nesting deeper than Skip follows.
func (sc *Scanner) Map() map[string]any {
	return sc.object(0)
}

func (sc *Scanner) object(depth int) map[string]any {
	if depth > maxDepth {
		sc.fail = true
	}
	if !sc.Object() {
		return nil
	}
	m := map[string]any{}
	for first := true; ; first = false {
		k, ok := sc.Key(first)
		if !ok {
			break
		}
		if !plainKey(k) {
			sc.fail = true
			break
		}
		v := sc.value(depth + 1)
		if sc.fail {
			break
		}
		m[k] = v
	}
	if sc.fail {
		return nil
	}
	return m
}

func (sc *Scanner) array(depth int) []any {
	if depth > maxDepth {
		sc.fail = true
	}
	if !sc.Array() {
		return nil
	}
	a := []any{}
	for first := true; sc.Elem(first); first = false {
		v := sc.value(depth + 1)
		if sc.fail {
			break
		}
		a = append(a, v)
	}
	if sc.fail {
		return nil
	}
	return a
}

// value reads any value as encoding/json decodes it into an interface{}.
func (sc *Scanner) value(depth int) any {
	switch sc.peek() {
	case '{':
		if m := sc.object(depth); !sc.fail {
			return m
		}
		return nil
	case '[':
		if a := sc.array(depth); !sc.fail {
			return a
		}
		return nil
	case '"':
		return sc.String()
	case 't', 'f':
		return sc.Bool()
	case 'n':
		sc.Null()
		return nil
	case 0:
		sc.fail = true
		return nil
	}
	start := sc.i
	if !sc.skipNumber() {
		sc.fail = true
		return nil
	}
	f, err := strconv.ParseFloat(sc.s[start:sc.i], 64)
	if err != nil {
		sc.fail = true
		return nil
	}
	return f
}

// plainKey reports whether encoding/json uses key as it stands (Key gives
// up on escapes; invalid UTF-8 is what encoding/json would replace).
func plainKey(key string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			return utf8.ValidString(key)
		}
	}
	return true
}
