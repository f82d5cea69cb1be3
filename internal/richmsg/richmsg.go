// Package richmsg checks the structured content (rich messages) a message
// may carry in its eventAttributes, as the reference's "Rich Messaging
// Support" describes it: eventAttributes → structured-content → <origin
// name> → content (the channel's JSON, as a string) and type (the content
// type, required for every origin but the web widget's genesys-chat); and
// a plain-text fallback always beside it. Everything else in
// eventAttributes passes through untouched. Check is a pure function, safe
// for concurrent use.
package richmsg

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/confab/confab/internal/kv"
)

// Keys of the structured-content tree.
const (
	KeyStructured = "structured-content"
	KeyContent    = "content"
	KeyType       = "type"
)

// Known origins and whether their content needs a type.
var origins = map[string]bool{
	"genesys-chat":    false, // web widget rich messaging (and WhatsApp); type optional for the widget
	"applebc-session": true,  // Apple Business Chat
}

// TypeRequired reports whether content of the origin must name its type:
// every origin but genesys-chat.
func TypeRequired(origin string) bool {
	if req, ok := origins[origin]; ok {
		return req
	}
	return true
}

// Error names the field that failed and why.
type Error struct {
	Field  string // e.g. "eventAttributes.structured-content.genesys-chat.content"
	Reason string
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// Check validates the structured content of a message. textField names
// the message's text field in the caller's protocol ("message", "text").
// A message without structured-content is accepted as it is.
func Check(textField, text string, attrs kv.Map) *Error {
	raw, ok := attrs[KeyStructured]
	if !ok {
		return nil
	}
	base := "eventAttributes." + KeyStructured
	sc, ok := raw.(kv.Map)
	if !ok {
		return &Error{base, "must be a key-value list of origins (genesys-chat, applebc-session, ...)"}
	}
	if len(sc) == 0 {
		return &Error{base, "names no origin"}
	}
	names := make([]string, 0, len(sc))
	for k := range sc {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, origin := range names {
		field := base + "." + origin
		node, ok := sc[origin].(kv.Map)
		if !ok {
			return &Error{field, "must be a key-value list with content and type"}
		}
		switch c := node[KeyContent].(type) {
		case nil:
			return &Error{field + "." + KeyContent, "is required"}
		case string:
			if !json.Valid([]byte(c)) {
				return &Error{field + "." + KeyContent, "is not valid JSON"}
			}
		case kv.Map:
			// Sent as an object rather than a JSON string: valid by construction.
		default:
			return &Error{field + "." + KeyContent, fmt.Sprintf("must be a JSON string, not %T", c)}
		}
		t, present := node[KeyType]
		ts, isString := t.(string)
		switch {
		case present && (!isString || strings.TrimSpace(ts) == ""):
			return &Error{field + "." + KeyType, "must be a non-empty string"}
		case !present && TypeRequired(origin):
			return &Error{field + "." + KeyType, fmt.Sprintf("is required for origin %s", origin)}
		}
	}
	if strings.TrimSpace(text) == "" {
		return &Error{textField, "a structured message needs its plain-text fallback"}
	}
	return nil
}
