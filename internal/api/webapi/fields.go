package webapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/validate"
)

// Error codes of an answer's errors array. The numbers are the reference's,
// except codeInvalid, Confab's code for a malformed field that no reference
// code describes (docs/customer-api.md lists them all).
const (
	codeInvalid      = 400 // Confab: malformed or invalid field
	codeFirstName    = 102 // first name required (or too long)
	codeLastName     = 103 // last name required (or too long)
	codeNickname     = 161 // nickname required (or too long)
	codeTooManyFiles = 201 // no more uploads allowed; advice is the maximum
	codeTooLong      = 204 // a text is too long
	codeCannotStart  = 240 // a new chat cannot be started now
	codeEmail        = 364 // invalid e-mail address
	codeUnauthorized = 401 // the request's credentials do not match a chat
	codeNotFound     = 404 // no such operation
	codeUnexpected   = 500 // unexpected service error
	codeUnavailable  = 503 // service busy or going away; try again
	codeRateLimited  = 429 // Confab: too many requests from this party or address; retry later
)

// apiError is one item of an answer's errors array.
type apiError struct {
	code   int
	advice string
}

// failure is a request refused before anything was done: an HTTP status
// (4xx) and the errors its JSON body lists.
type failure struct {
	status int
	errs   []apiError
}

func (f *failure) Error() string {
	parts := make([]string, len(f.errs))
	for i, e := range f.errs {
		parts[i] = fmt.Sprintf("%d %s", e.code, e.advice)
	}
	return fmt.Sprintf("HTTP %d: %s", f.status, strings.Join(parts, "; "))
}

// badField refuses a request with HTTP 400 and one error naming the field.
func badField(code int, name, why string) *failure {
	advice := why
	if name != "" {
		advice = name + ": " + why
	}
	return &failure{status: http.StatusBadRequest, errs: []apiError{{code, advice}}}
}

func invalid(name, why string) *failure { return badField(codeInvalid, name, why) }

func tooLarge(max int) *failure {
	return &failure{status: http.StatusRequestEntityTooLarge, errs: []apiError{{codeTooLong,
		fmt.Sprintf("request body and query string larger than %d bytes (xml-request-max-size)", max)}}}
}

// limits are the field limits for one request, derived from the
// configuration it runs under (validate.LimitsFor: the rules every API
// shares). Lengths are in characters unless noted.
type limits struct {
	v           validate.Limits
	body        int // bytes of a request body or WebSocket frame
	text        int // message, typing preview, custom notice text
	name        int // nickname, firstName, lastName
	email       int
	subject     int
	userData    int // bytes of all user data keys and values of one request
	attrs       int // bytes of the eventAttributes JSON text
	url         int
	messageType int
	clientMsgID int
}

// limitsFor derives the limits from xml-request-max-size.
func limitsFor(cfg *config.Config) limits {
	v := validate.LimitsFor(cfg.Settings.XMLRequestMaxSize)
	return limits{
		v:           v,
		body:        v.Body,
		text:        v.Text,
		name:        v.Name,
		email:       v.Email,
		subject:     v.Subject,
		userData:    v.KV,
		attrs:       v.KV,
		url:         v.URL,
		messageType: v.MessageType,
		clientMsgID: v.ClientMsgID,
	}
}

// checked returns the named field after the shared rules for vf, refused
// with code when it is too long and with codeInvalid otherwise.
func (f *form) checked(name string, vf validate.Field, lim limits, code int) (string, *failure) {
	v := f.get(name)
	if p := validate.Text(vf, v, lim.v); p != nil {
		return "", refusal(name, p, code)
	}
	return v, nil
}

// refusal turns a shared-rule problem into a 400 naming the field; code is
// used for a value that is too long.
func refusal(name string, p *validate.Problem, code int) *failure {
	if p.Kind == validate.TooLong {
		return badField(code, name, p.Reason)
	}
	return invalid(name, p.Reason)
}

// text returns the named field, refused with code when it is longer than
// max characters, and with codeInvalid when it is not valid UTF-8.
func (f *form) text(name string, max, code int) (string, *failure) {
	v := f.get(name)
	if !utf8.ValidString(v) {
		return "", invalid(name, validate.ReasonUTF8)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", badField(code, name, fmt.Sprintf("%d characters, more than the limit of %d", n, max))
	}
	return v, nil
}

// email returns emailAddress, empty or a plain address.
func (f *form) email(lim limits) (string, *failure) {
	v, fl := f.text("emailAddress", lim.email, codeEmail)
	if fl != nil {
		return "", badField(codeEmail, "emailAddress", fl.errs[0].advice)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" {
		return "", badField(codeEmail, "emailAddress", "not a valid e-mail address")
	}
	return v, nil
}

// position parses the 1-based transcriptPosition field. ok is false when it
// is absent or empty.
func (f *form) position(name string) (pos int, ok bool, fl *failure) {
	v := strings.TrimSpace(f.get(name))
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && v[0] != '-':
		n = maxPosition // an index beyond any transcript: nothing yet
	case err != nil:
		return 0, false, invalid(name, "must be an integer")
	case n < -1:
		return 0, false, invalid(name, "must be -1, 0 or a positive index")
	case n > maxPosition:
		n = maxPosition
	}
	return int(n), true, nil
}

// maxPosition is larger than any transcript; bigger indexes are clamped to it.
const maxPosition = 1 << 40

// checkedUserData returns the request's user data after the shared rules
// (UTF-8, depth, size).
func (f *form) checkedUserData(lim limits) (kv.Map, *failure) {
	if p := validate.KV(validate.UserData, f.userData, lim.v); p != nil {
		return nil, refusal("userData", p, codeTooLong)
	}
	return detached(f.userData), nil
}

// detached returns a copy of m whose keys and values own their bytes: form
// values are substrings of the request body, and user data are kept for the
// session's life.
func detached(m kv.Map) kv.Map {
	if m == nil {
		return nil
	}
	out := make(kv.Map, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case kv.Map:
			out[strings.Clone(k)] = detached(v)
		case string:
			out[strings.Clone(k)] = strings.Clone(v)
		}
	}
	return out
}

// attributes parses eventAttributes, a JSON object sent as a string.
func (f *form) attributes(lim limits) (kv.Map, *failure) {
	v := f.get("eventAttributes")
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	if len(v) > lim.attrs {
		return nil, badField(codeTooLong, "eventAttributes", fmt.Sprintf("%d bytes, more than the limit of %d", len(v), lim.attrs))
	}
	if !validate.JSONText([]byte(v)) {
		return nil, invalid("eventAttributes", validate.ReasonUTF8)
	}
	m, err := kv.FromJSON([]byte(v))
	if err != nil {
		return nil, invalid("eventAttributes", "must be a JSON object")
	}
	if p := validate.KV(validate.EventAttributes, m, lim.v); p != nil {
		return nil, refusal("eventAttributes", p, codeTooLong)
	}
	return m, nil
}
