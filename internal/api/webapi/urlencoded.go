package webapi

// The customer's send is a form POST on every message, so its body is
// decoded by hand: read into a pooled buffer, split into name=value pairs,
// each percent-decoded as url.QueryUnescape does (FuzzUnescapeQuery
// compares them) into one allocation per value that owns its bytes (a
// message text or client message id stays in the transcript; it must not
// pin the request body). Field names the API knows are not allocated at
// all.

// parseURLEncodedBytes decodes name=value pairs separated by '&', keeping
// their arrival order; scratch, when not nil, is a buffer to decode escaped
// values in (it may be grown). Pairs without '=' are names with an empty
// value; empty pairs are skipped.
func (f *form) parseURLEncodedBytes(s []byte, scratch *[]byte) *failure {
	var own []byte
	if scratch == nil {
		scratch = &own
	}
	for len(s) > 0 {
		pair := s
		if i := indexByte(s, '&'); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			s = nil
		}
		if len(pair) == 0 {
			continue
		}
		rawName, rawValue := pair, []byte(nil)
		if i := indexByte(pair, '='); i >= 0 {
			rawName, rawValue = pair[:i], pair[i+1:]
		}
		name, ok := unescapeName(rawName, scratch)
		if !ok {
			return invalid(clip(string(rawName)), "the field name is not valid percent-encoding")
		}
		value, ok := unescapeQuery(rawValue, scratch)
		if !ok {
			return invalid(clip(name), "the value is not valid percent-encoding")
		}
		if fl := f.add(name, value); fl != nil {
			return fl
		}
	}
	return nil
}

func indexByte(s []byte, c byte) int {
	for i, b := range s {
		if b == c {
			return i
		}
	}
	return -1
}

// unescapeQuery decodes one form component like url.QueryUnescape: '+' is
// a space and %XX the byte XX; a '%' not followed by two hexadecimal digits
// is an error (ok false). The result is a new string ("" allocates
// nothing); scratch holds the decoded bytes of an escaped component.
func unescapeQuery(raw []byte, scratch *[]byte) (string, bool) {
	plain := true
	for _, b := range raw {
		if b == '%' || b == '+' {
			plain = false
			break
		}
	}
	if plain {
		return string(raw), true
	}
	out, ok := appendUnescaped((*scratch)[:0], raw)
	*scratch = out
	if !ok {
		return "", false
	}
	return string(out), true
}

// unescapeName is unescapeQuery for a field name, giving the API's own
// constant for the names it knows.
func unescapeName(raw []byte, scratch *[]byte) (string, bool) {
	for _, b := range raw {
		if b == '%' || b == '+' {
			out, ok := appendUnescaped((*scratch)[:0], raw)
			*scratch = out
			if !ok {
				return "", false
			}
			return internName(out), true
		}
	}
	return internName(raw), true
}

// appendUnescaped appends the decoded form of raw to dst.
func appendUnescaped(dst, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			if i+2 >= len(raw) {
				return dst, false
			}
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if !ok1 || !ok2 {
				return dst, false
			}
			dst = append(dst, hi<<4|lo)
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// internName returns the API's constant for a field name it reads, and a
// new string for any other (switch on string(b) does not allocate).
func internName(b []byte) string {
	switch string(b) {
	case "userId":
		return "userId"
	case "secureKey":
		return "secureKey"
	case "alias":
		return "alias"
	case "message":
		return "message"
	case "messageType":
		return "messageType"
	case "clientMessageId":
		return "clientMessageId"
	case "transcriptPosition":
		return "transcriptPosition"
	case "eventAttributes":
		return "eventAttributes"
	case "nickname":
		return "nickname"
	case "text":
		return "text"
	case "waitSeconds":
		return "waitSeconds"
	case "subject":
		return "subject"
	case "firstName":
		return "firstName"
	case "lastName":
		return "lastName"
	case "emailAddress":
		return "emailAddress"
	case "chatId":
		return "chatId"
	case "operation":
		return "operation"
	}
	return string(b)
}
