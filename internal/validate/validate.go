package validate

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/confab/confab/internal/kv"
)

// MaxDepth is the deepest nesting a key-value list (user data, event
// attributes, ESP parameters) may have: a list holding only strings has
// depth 1. Every decoder of outside input refuses deeper input.
const MaxDepth = kv.MaxDepth

// MaxKeyLen is the longest key, in bytes, a key-value list may hold.
const MaxKeyLen = 256

// Limits are the field limits in force for one request. Lengths of texts
// are in characters, sizes of key-value lists in bytes of keys and values.
type Limits struct {
	Body        int // bytes of a request body or frame (xml-request-max-size)
	Text        int // message and notice texts, typing previews
	Name        int // nicknames, first and last names
	Email       int
	Subject     int
	KV          int // bytes of one user-data or event-attributes list
	URL         int
	MessageType int
	ClientMsgID int
	Depth       int // nesting of a key-value list
}

// LimitsFor derives the limits from xml-request-max-size: the reference
// estimates the usable text of a request at 0.45 of that size, and every
// other limit is capped by it.
func LimitsFor(xmlRequestMaxSize int) Limits {
	size := max(xmlRequestMaxSize, 1)
	text := max(size*45/100, 1)
	return Limits{
		Body:        size,
		Text:        text,
		Name:        min(256, text),
		Email:       min(254, text),
		Subject:     min(1024, text),
		KV:          text,
		URL:         min(2048, text),
		MessageType: min(64, text),
		ClientMsgID: min(128, text),
		Depth:       MaxDepth,
	}
}

// Field names a field the rules know, whatever a protocol calls it.
type Field int

// The fields with rules.
const (
	Nickname        Field = iota // a party's shown name
	FirstName                    // customer's first name
	LastName                     // customer's last name
	Subject                      // chat subject
	MessageText                  // a message's text
	MessageType                  // a message's opaque type
	NoticeText                   // a notice's text (typing preview, custom notice)
	PushURL                      // the URL of a pushed-URL notice
	UserData                     // user data key-value list
	EventAttributes              // event attributes key-value list
	ClientMessageID              // the sender's idempotency key
	numFields
)

// Kind classifies a Problem, so an adapter can choose its error code.
type Kind int

// The kinds of problem.
const (
	BadUTF8 Kind = iota + 1 // not valid UTF-8
	TooLong                 // longer or larger than its limit
	TooDeep                 // nested deeper than Limits.Depth
	BadForm                 // the value has the wrong form (a URL that is not absolute)
)

// Problem is a refused value. Reason is the text every protocol shows
// after its own name for the field.
type Problem struct {
	Field  Field
	Kind   Kind
	Reason string
}

func (p *Problem) Error() string { return rules[p.Field].name + ": " + p.Reason }

// rule is one row of the table.
type rule struct {
	name  string                // the field's neutral name, for Error
	limit func(l Limits) int    // characters (texts) or bytes (lists)
	check func(v string) string // extra form check; "" when the value is fine
}

// rules is the table, by Field; read-only.
var rules = [numFields]rule{
	Nickname:        {name: "nickname", limit: func(l Limits) int { return l.Name }},
	FirstName:       {name: "firstName", limit: func(l Limits) int { return l.Name }},
	LastName:        {name: "lastName", limit: func(l Limits) int { return l.Name }},
	Subject:         {name: "subject", limit: func(l Limits) int { return l.Subject }},
	MessageText:     {name: "message", limit: func(l Limits) int { return l.Text }},
	MessageType:     {name: "messageType", limit: func(l Limits) int { return l.MessageType }},
	NoticeText:      {name: "notice text", limit: func(l Limits) int { return l.Text }},
	PushURL:         {name: "pushUrl", limit: func(l Limits) int { return l.URL }, check: checkURL},
	UserData:        {name: "userData", limit: func(l Limits) int { return l.KV }},
	EventAttributes: {name: "eventAttributes", limit: func(l Limits) int { return l.KV }},
	ClientMessageID: {name: "clientMessageId", limit: func(l Limits) int { return l.ClientMsgID }},
}

// Reasons shared by every protocol.
const (
	ReasonUTF8 = "must be valid UTF-8"
	ReasonURL  = "must be an absolute URL with a scheme and a host"
)

// Text checks a text field: valid UTF-8, at most its limit of characters,
// and its form (PushURL). An empty value passes: whether a field is
// required is each operation's business.
func Text(f Field, v string, l Limits) *Problem {
	r := &rules[f]
	if !utf8.ValidString(v) {
		return &Problem{Field: f, Kind: BadUTF8, Reason: ReasonUTF8}
	}
	if n, max := utf8.RuneCountInString(v), r.limit(l); n > max {
		return &Problem{Field: f, Kind: TooLong, Reason: fmt.Sprintf("%d characters, more than the limit of %d", n, max)}
	}
	if r.check != nil && v != "" {
		if why := r.check(v); why != "" {
			return &Problem{Field: f, Kind: BadForm, Reason: why}
		}
	}
	return nil
}

// checkURL accepts an absolute URL: a scheme and a host.
func checkURL(v string) string {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ReasonURL
	}
	return ""
}

// KV checks a key-value list field: every key and value valid UTF-8, keys
// non-empty, at most Limits.Depth levels, at most its limit of bytes.
func KV(f Field, m kv.Map, l Limits) *Problem {
	if m == nil {
		return nil
	}
	if !validKV(m) {
		return &Problem{Field: f, Kind: BadUTF8, Reason: ReasonUTF8}
	}
	if k := longestKey(m); k > MaxKeyLen {
		return &Problem{Field: f, Kind: TooLong, Reason: fmt.Sprintf("a key of %d bytes, more than the limit of %d", k, MaxKeyLen)}
	}
	if d := depth(m); d > l.Depth {
		return &Problem{Field: f, Kind: TooDeep, Reason: fmt.Sprintf("nested %d levels deep, more than the limit of %d", d, l.Depth)}
	}
	if n, max := m.Size(), rules[f].limit(l); n > max {
		return &Problem{Field: f, Kind: TooLong, Reason: fmt.Sprintf("%d bytes of keys and values, more than the limit of %d", n, max)}
	}
	return nil
}

func validKV(m kv.Map) bool {
	for k, v := range m {
		if !utf8.ValidString(k) {
			return false
		}
		switch v := v.(type) {
		case string:
			if !utf8.ValidString(v) {
				return false
			}
		case kv.Map:
			if !validKV(v) {
				return false
			}
		}
	}
	return true
}

// depth is 1 for a list of strings, 1 more per level of nesting.
func depth(m kv.Map) int {
	d := 1
	for _, v := range m {
		if sub, ok := v.(kv.Map); ok {
			d = max(d, 1+depth(sub))
		}
	}
	return d
}

// longestKey is the length of m's longest key, at any depth.
func longestKey(m kv.Map) int {
	n := 0
	for k, v := range m {
		n = max(n, len(k))
		if sub, ok := v.(kv.Map); ok {
			n = max(n, longestKey(sub))
		}
	}
	return n
}
