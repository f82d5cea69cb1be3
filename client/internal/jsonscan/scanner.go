package jsonscan

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting Skip follows; deeper input makes the
// Scanner give up (encoding/json's own limit is 10,000).
const maxDepth = 1000

// Scanner reads one JSON text. The zero value is empty; Reset gives it an
// input. After the first thing it does not handle, Failed is true and every
// method returns a zero value.
type Scanner struct {
	s    string
	i    int
	fail bool
}

// Reset makes the Scanner read b (copied into one string).
func (sc *Scanner) Reset(b []byte) { sc.ResetString(string(b)) }

// ResetString makes the Scanner read s.
func (sc *Scanner) ResetString(s string) { sc.s, sc.i, sc.fail = s, 0, false }

// Failed reports whether the Scanner gave up: the input is malformed, or it
// holds something the fast path does not handle. The caller then decodes it
// with encoding/json instead.
func (sc *Scanner) Failed() bool { return sc.fail }

// Fail makes the Scanner give up (a caller's decoder met something it does
// not handle, such as a duplicate key).
func (sc *Scanner) Fail() { sc.fail = true }

func (sc *Scanner) skipWS() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (sc *Scanner) peek() byte {
	sc.skipWS()
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

// Object consumes the '{' that starts an object.
func (sc *Scanner) Object() bool {
	if sc.fail {
		return false
	}
	if sc.peek() != '{' {
		sc.fail = true
		return false
	}
	sc.i++
	return true
}

// Key returns the object's next key and consumes the ':' after it; first
// says whether no key of this object was read yet. It reports false at the
// object's '}' (consumed) and when the Scanner gives up. A key with escapes
// makes it give up.
func (sc *Scanner) Key(first bool) (string, bool) {
	if sc.fail {
		return "", false
	}
	switch sc.peek() {
	case '}':
		sc.i++
		return "", false
	case ',':
		if first {
			sc.fail = true
			return "", false
		}
		sc.i++
		if sc.peek() != '"' {
			sc.fail = true
			return "", false
		}
	case '"':
		if !first {
			sc.fail = true
			return "", false
		}
	default:
		sc.fail = true
		return "", false
	}
	start := sc.i + 1
	j := start
	for ; j < len(sc.s); j++ {
		c := sc.s[j]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 {
			sc.fail = true
			return "", false
		}
	}
	if j >= len(sc.s) {
		sc.fail = true
		return "", false
	}
	key := sc.s[start:j]
	sc.i = j + 1
	if sc.peek() != ':' {
		sc.fail = true
		return "", false
	}
	sc.i++
	return key, true
}

// Array consumes the '[' that starts an array.
func (sc *Scanner) Array() bool {
	if sc.fail {
		return false
	}
	if sc.peek() != '[' {
		sc.fail = true
		return false
	}
	sc.i++
	return true
}

// Elem reports whether the array has another element (consuming the ','
// before it); first says whether none was read yet. At the array's ']' it
// consumes it and reports false.
func (sc *Scanner) Elem(first bool) bool {
	if sc.fail {
		return false
	}
	switch c := sc.peek(); {
	case c == ']':
		sc.i++
		return false
	case c == ',' && !first:
		sc.i++
		return true
	case c != 0 && c != ',' && first:
		return true
	}
	sc.fail = true
	return false
}

// Null consumes a null literal if one is next.
func (sc *Scanner) Null() bool {
	if sc.fail || sc.peek() != 'n' {
		return false
	}
	if !strings.HasPrefix(sc.s[sc.i:], "null") {
		sc.fail = true
		return false
	}
	sc.i += 4
	return true
}

// Bool reads true or false.
func (sc *Scanner) Bool() bool {
	if sc.fail {
		return false
	}
	sc.skipWS()
	rest := sc.s[sc.i:]
	switch {
	case strings.HasPrefix(rest, "true"):
		sc.i += 4
		return true
	case strings.HasPrefix(rest, "false"):
		sc.i += 5
		return false
	}
	sc.fail = true
	return false
}

// Int reads an integer that fits an int64. A number with a fraction or an
// exponent makes the Scanner give up (encoding/json refuses it for an
// integer field).
func (sc *Scanner) Int() int64 {
	if sc.fail {
		return 0
	}
	sc.skipWS()
	s, j := sc.s, sc.i
	neg := j < len(s) && s[j] == '-'
	if neg {
		j++
	}
	start := j
	if j >= len(s) || s[j] < '0' || s[j] > '9' {
		sc.fail = true
		return 0
	}
	var n uint64
	if s[j] == '0' {
		j++
	} else {
		for ; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
			n = n*10 + uint64(s[j]-'0')
			if j-start >= 19 { // more than 19 digits cannot fit
				sc.fail = true
				return 0
			}
		}
	}
	if j < len(s) {
		switch c := s[j]; {
		case c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9'):
			sc.fail = true
			return 0
		}
	}
	var v int64
	switch {
	case neg && n <= 1<<63:
		v = -int64(n-1) - 1
	case !neg && n < 1<<63:
		v = int64(n)
	default:
		sc.fail = true
		return 0
	}
	sc.i = j
	return v
}

// String reads a string. Without escapes and in valid UTF-8 it is a
// substring of the input; otherwise encoding/json decodes it (escapes,
// invalid UTF-8 as U+FFFD).
func (sc *Scanner) String() string {
	if sc.fail {
		return ""
	}
	if sc.peek() != '"' {
		sc.fail = true
		return ""
	}
	start := sc.i + 1
	ascii := true
	for j := start; j < len(sc.s); j++ {
		c := sc.s[j]
		switch {
		case c == '"':
			v := sc.s[start:j]
			if !ascii && !utf8.ValidString(v) {
				return sc.slowString()
			}
			sc.i = j + 1
			return v
		case c == '\\':
			return sc.slowString()
		case c < 0x20:
			sc.fail = true
			return ""
		case c >= 0x80:
			ascii = false
		}
	}
	sc.fail = true
	return ""
}

// slowString decodes the string at sc.i with encoding/json.
func (sc *Scanner) slowString() string {
	start := sc.i
	if !sc.skipString() {
		sc.fail = true
		return ""
	}
	var v string
	if json.Unmarshal([]byte(sc.s[start:sc.i]), &v) != nil {
		sc.fail = true
		return ""
	}
	return v
}

// Skip reads any value, checking that it is well-formed JSON, and returns
// its text (for a caller to ignore, or to hand to encoding/json).
func (sc *Scanner) Skip() string {
	if sc.fail {
		return ""
	}
	sc.skipWS()
	start := sc.i
	if !sc.skipValue(0) {
		sc.fail = true
		return ""
	}
	return sc.s[start:sc.i]
}

// End reports whether only white space is left; otherwise the Scanner
// gives up.
func (sc *Scanner) End() bool {
	if sc.fail {
		return false
	}
	sc.skipWS()
	if sc.i != len(sc.s) {
		sc.fail = true
		return false
	}
	return true
}

func (sc *Scanner) skipValue(depth int) bool {
	if depth > maxDepth {
		return false
	}
	sc.skipWS()
	if sc.i >= len(sc.s) {
		return false
	}
	switch sc.s[sc.i] {
	case '{':
		sc.i++
		if sc.peek() == '}' {
			sc.i++
			return true
		}
		for {
			if sc.peek() != '"' || !sc.skipString() {
				return false
			}
			if sc.peek() != ':' {
				return false
			}
			sc.i++
			if !sc.skipValue(depth + 1) {
				return false
			}
			switch sc.peek() {
			case ',':
				sc.i++
			case '}':
				sc.i++
				return true
			default:
				return false
			}
		}
	case '[':
		sc.i++
		if sc.peek() == ']' {
			sc.i++
			return true
		}
		for {
			if !sc.skipValue(depth + 1) {
				return false
			}
			switch sc.peek() {
			case ',':
				sc.i++
			case ']':
				sc.i++
				return true
			default:
				return false
			}
		}
	case '"':
		return sc.skipString()
	case 't':
		return sc.literal("true")
	case 'f':
		return sc.literal("false")
	case 'n':
		return sc.literal("null")
	}
	return sc.skipNumber()
}

func (sc *Scanner) literal(lit string) bool {
	if !strings.HasPrefix(sc.s[sc.i:], lit) {
		return false
	}
	sc.i += len(lit)
	return true
}

// skipString passes the string at sc.i (its opening quote), checking its
// escapes.
func (sc *Scanner) skipString() bool {
	s := sc.s
	j := sc.i + 1
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			sc.i = j + 1
			return true
		case c == '\\':
			if j+1 >= len(s) {
				return false
			}
			switch s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(s) {
					return false
				}
				for _, h := range []byte(s[j+2 : j+6]) {
					if !isHex(h) {
						return false
					}
				}
				j += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			j++
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipNumber passes a number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (sc *Scanner) skipNumber() bool {
	s, j := sc.s, sc.i
	if j < len(s) && s[j] == '-' {
		j++
	}
	digits := func() bool {
		k := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		return j > k
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case !digits():
		return false
	}
	if j < len(s) && s[j] == '.' {
		j++
		if !digits() {
			return false
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if !digits() {
			return false
		}
	}
	sc.i = j
	return true
}

// Folds reports whether encoding/json could match key to one of names
// although it is none of them exactly: it matches keys case-insensitively.
// A key that is not plain ASCII counts as a possible match (Unicode case
// folding is left to encoding/json).
func Folds(key string, names []string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			return true
		}
	}
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}
