package agent

import (
	"unicode/utf16"
	"unicode/utf8"

	wire "github.com/confab/confab/client/agent"
)

// decodeFast decodes the frames of the message path without reflection:
// one JSON object whose keys are exactly the request's field names (in any
// order, repeated keys: the last wins), whose values are strings (with the
// escapes JSON allows) and, for limit, a plain integer, followed by nothing
// but white space. userData and eventAttributes, null values, numbers that
// are not plain integers, keys that match only in another case, and
// anything malformed make it give up (false) without touching the
// outcome: the caller then decodes with encoding/json, which gives the same
// request for every frame decodeFast accepts (FuzzDecodeFast).
//
// data must have passed decodeRequest's checks (valid UTF-8, paired
// surrogate escapes). The strings decoded own their bytes: data is the
// socket's read buffer, reused for the next frame.
func decodeFast(data []byte, req *request) bool {
	d := fastDecoder{data: data}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.end()
	}
	for {
		key, ok := d.key()
		if !ok || !d.byte(':') {
			return false
		}
		if string(key) == "limit" {
			n, ok := d.integer()
			if !ok {
				return false
			}
			req.Limit = n
		} else {
			dst := req.stringField(key)
			if dst == nil {
				return false // unknown, userData/eventAttributes, or another case
			}
			s, ok := d.str()
			if !ok {
				return false
			}
			*dst = s
		}
		if d.byte(',') {
			continue
		}
		return d.byte('}') && d.end()
	}
}

// stringField returns the request's string field named name exactly as the
// JSON key is spelled, or nil.
func (req *request) stringField(name []byte) *string {
	switch string(name) {
	case "id":
		return &req.ID
	case "op":
		return &req.Op
	case "queue":
		return &req.Queue
	case "interactionId":
		return &req.InteractionID
	case "sessionId":
		return &req.SessionID
	case "userType":
		return &req.UserType
	case "visibility":
		return &req.Visibility
	case "nickname":
		return &req.Nickname
	case "text":
		return &req.Text
	case "msgType":
		return &req.MsgType
	case "treatAs":
		return &req.TreatAs
	case "receiverId":
		return &req.ReceiverID
	case "noticeType":
		return &req.NoticeType
	case "afterAction":
		return &req.AfterAction
	case "state":
		return &req.State
	case "reason":
		return &req.Reason
	case "to":
		return &req.To
	case "workbin":
		return &req.Workbin
	case "after":
		return &req.After
	case "userId":
		return &req.UserID
	}
	return nil
}

// fastDecoder is decodeFast's cursor over one frame.
type fastDecoder struct {
	data []byte
	i    int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (d *fastDecoder) skip() {
	for d.i < len(d.data) && isSpace(d.data[d.i]) {
		d.i++
	}
}

// byte consumes c after white space, if it is there.
func (d *fastDecoder) byte(c byte) bool {
	d.skip()
	if d.i < len(d.data) && d.data[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (d *fastDecoder) end() bool {
	d.skip()
	return d.i == len(d.data)
}

// key reads an object key without escapes; it is only compared (a
// string conversion in a comparison or switch does not allocate).
func (d *fastDecoder) key() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.i
	for d.i < len(d.data) {
		switch c := d.data[d.i]; {
		case c == '"':
			k := d.data[start:d.i]
			d.i++
			return k, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
		d.i++
	}
	return nil, false
}

// integer reads a JSON number that is a plain integer of at most 18 digits.
func (d *fastDecoder) integer() (int, bool) {
	d.skip()
	neg := false
	if d.i < len(d.data) && d.data[d.i] == '-' {
		neg = true
		d.i++
	}
	start, n := d.i, 0
	for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
		n = n*10 + int(d.data[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.data[start] == '0') {
		return 0, false
	}
	if d.i < len(d.data) {
		if c := d.data[d.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// str reads a JSON string value and returns it as a new string.
func (d *fastDecoder) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			s := d.data[start:d.i]
			d.i++
			return internValue(s), true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// escaped finishes a string that has escapes, from start (just after the
// opening quote); d.i is at the first backslash.
func (d *fastDecoder) escaped(start int) (string, bool) {
	var inline [256]byte
	out := append(inline[:0], d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.data) {
			return "", false
		}
		e := d.data[d.i+1]
		d.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4At(d.data, d.i)
			if !ok {
				return "", false
			}
			d.i += 4
			if utf16.IsSurrogate(r) {
				if d.i+6 > len(d.data) || d.data[d.i] != '\\' || d.data[d.i+1] != 'u' {
					return "", false
				}
				lo, ok := hex4At(d.data, d.i+2)
				if !ok {
					return "", false
				}
				if r = utf16.DecodeRune(r, lo); r == utf8.RuneError {
					return "", false
				}
				d.i += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func hex4At(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// internValue returns the protocol's common short values (ops,
// visibilities, user types, message types) as constants and anything else
// as a copy.
func internValue(s []byte) string {
	switch string(s) {
	case wire.OpSend:
		return wire.OpSend
	case wire.OpNotify:
		return wire.OpNotify
	case wire.OpPing:
		return wire.OpPing
	case wire.OpAccept:
		return wire.OpAccept
	case wire.OpJoin:
		return wire.OpJoin
	case wire.OpRelease:
		return wire.OpRelease
	case wire.OpState:
		return wire.OpState
	case "ALL":
		return "ALL"
	case "INT":
		return "INT"
	case "VIP":
		return "VIP"
	case "text":
		return "text"
	case "":
		return ""
	}
	return string(s)
}
