package esp

import "unicode/utf8"

// decodeFlat decodes the common body without encoding/json: one JSON object
// of string values written without escapes, the shape every workflow
// request of the dense benchmark and most real ones have. It reports ok
// false for anything else (an escape, a control character, invalid UTF-8, a
// value that is not a plain string, malformed JSON): decodeParams then takes
// encoding/json, whose answers (values and faults) are the reference. When
// ok, the parameters are exactly the ones encoding/json would give:
// TestDecodeFlatMatchesJSON and FuzzDecodeFlat check it.
//
// t is the trimmed body and starts with '{'.
func decodeFlat(t []byte) (params, bool) {
	i := skipWS(t, 1)
	if i < len(t) && t[i] == '}' {
		return params{}, skipWS(t, i+1) == len(t)
	}
	p := make(params, 6)
	for {
		k, j, ok := plainString(t, i)
		if !ok {
			return nil, false
		}
		i = skipWS(t, j)
		if i >= len(t) || t[i] != ':' {
			return nil, false
		}
		v, j, ok := plainString(t, skipWS(t, i+1))
		if !ok {
			return nil, false
		}
		p[paramName(k)] = string(v) // the last of a repeated key wins, as in encoding/json
		i = skipWS(t, j)
		if i >= len(t) {
			return nil, false
		}
		switch t[i] {
		case ',':
			i = skipWS(t, i+1)
		case '}':
			return p, skipWS(t, i+1) == len(t)
		default:
			return nil, false
		}
	}
}

// plainString reads the JSON string at t[i]: its contents (between the
// quotes) and the index after its closing quote. ok is false unless it is a
// string with no escape and no control character whose contents are valid
// UTF-8 (a text encoding/json takes as it is).
func plainString(t []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(t) || t[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(t); j++ {
		switch c := t[j]; {
		case c == '"':
			s = t[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// skipWS returns the index of the first byte at or after i that is not JSON
// white space.
func skipWS(t []byte, i int) int {
	for i < len(t) {
		switch t[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// paramName returns k as a string, the names the methods read without a
// copy.
func paramName(k []byte) string {
	switch string(k) {
	case "InteractionId":
		return "InteractionId"
	case "MessageText":
		return "MessageText"
	case "MessageType":
		return "MessageType"
	case "Nickname":
		return "Nickname"
	case "Visibility":
		return "Visibility"
	case "NoticeType":
		return "NoticeType"
	case "NoticeText":
		return "NoticeText"
	case "UserData":
		return "UserData"
	}
	return string(k)
}
