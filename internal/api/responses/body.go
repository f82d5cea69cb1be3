package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/richmsg"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/validate"
)

// Field limits, in characters.
const (
	maxID       = 64
	maxName     = 200
	maxCategory = 100
	maxShortcut = 32
)

var (
	idForm       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	shortcutForm = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// body is the body of POST and PATCH. Absent fields of a PATCH keep their
// values; "attributes": null (or {}) removes the structured part.
type body struct {
	ID         *string         `json:"id"`
	Name       *string         `json:"name"`
	Category   *string         `json:"category"`
	Shortcut   *string         `json:"shortcut"`
	Text       *string         `json:"text"`
	Attributes json.RawMessage `json:"attributes"`
	hasAttrs   bool
}

// fieldError is a refused request, naming the field when there is one.
type fieldError struct {
	status      int
	code, field string
	msg         string
}

func (e *fieldError) write(w http.ResponseWriter) { refuse(w, e.status, e.code, e.field, e.msg) }

func bad(field, format string, args ...any) *fieldError {
	return &fieldError{status: http.StatusBadRequest, code: "bad-request", field: field, msg: field + ": " + fmt.Sprintf(format, args...)}
}

// decodeBody reads and decodes a request body of at most MaxBody bytes.
func decodeBody(w http.ResponseWriter, r *http.Request) (*body, *fieldError) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, &fieldError{status: http.StatusUnsupportedMediaType, code: "unsupported-media-type", msg: "the body must be application/json, not " + ct}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &fieldError{status: http.StatusRequestEntityTooLarge, code: "too-large", msg: fmt.Sprintf("the body is larger than %d bytes", MaxBody)}
	}
	if err != nil {
		return nil, &fieldError{status: http.StatusBadRequest, code: "bad-request", msg: "cannot read the body: " + err.Error()}
	}
	return parseBody(data)
}

// parseBody decodes a body: one JSON object of known fields, valid UTF-8
// as written, nested at most kv.MaxDepth+1 levels.
func parseBody(data []byte) (*body, *fieldError) {
	if kv.JSONDepth(data, kv.MaxDepth+1) > kv.MaxDepth+1 {
		return nil, bad("attributes", "nested deeper than %d levels", kv.MaxDepth)
	}
	if !validate.JSONText(data) {
		return nil, &fieldError{status: http.StatusBadRequest, code: "bad-request", msg: "the body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b body
	if err := dec.Decode(&b); err != nil {
		return nil, decodeError(err)
	}
	if dec.More() {
		return nil, &fieldError{status: http.StatusBadRequest, code: "bad-request", msg: "trailing data after the JSON object"}
	}
	// A present "attributes" (even null) is a change.
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) == nil {
		_, b.hasAttrs = probe["attributes"]
	}
	return &b, nil
}

func decodeError(err error) *fieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return bad(te.Field, "must be a JSON %s", jsonType(te.Type.Kind().String()))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return bad(f, "is not a field of a standard response (id, name, category, shortcut, text, attributes)")
	}
	return &fieldError{status: http.StatusBadRequest, code: "bad-request", msg: "the body is not a JSON object: " + err.Error()}
}

func jsonType(kind string) string {
	if kind == "ptr" || kind == "string" {
		return "string"
	}
	return kind
}

// apply copies the fields given onto s.
func (b *body) apply(s *store.StandardResponse) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&s.ID, b.ID)
	set(&s.Name, b.Name)
	set(&s.Category, b.Category)
	set(&s.Shortcut, b.Shortcut)
	set(&s.Text, b.Text)
	if b.hasAttrs {
		s.Attributes = nil
		if a := bytes.TrimSpace(b.Attributes); len(a) > 0 && !bytes.Equal(a, []byte("null")) && !bytes.Equal(a, []byte("{}")) {
			s.Attributes = a
		}
	}
}

// check applies the field rules to a response about to be stored.
func (h *Handler) check(s store.StandardResponse) *fieldError {
	text := func(field, v string, max int, required bool) *fieldError {
		n := utf8.RuneCountInString(v)
		switch {
		case required && strings.TrimSpace(v) == "":
			return bad(field, "is required")
		case n > max:
			return bad(field, "%d characters, more than the limit of %d", n, max)
		case strings.ContainsRune(v, 0):
			return bad(field, "must not hold NUL")
		}
		return nil
	}
	if len(s.ID) > maxID || !idForm.MatchString(s.ID) {
		return bad("id", "1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit", maxID)
	}
	for _, f := range []*fieldError{
		text("name", s.Name, maxName, true),
		text("category", s.Category, maxCategory, false),
		text("text", s.Text, h.opts.MaxText(), true),
	} {
		if f != nil {
			return f
		}
	}
	if s.Shortcut != "" && (len(s.Shortcut) > maxShortcut || !shortcutForm.MatchString(s.Shortcut)) {
		return bad("shortcut", "1 to %d lower-case letters, digits, '_' or '-'", maxShortcut)
	}
	if len(s.Attributes) == 0 {
		return nil
	}
	attrs, err := kv.FromJSON(s.Attributes)
	if err != nil {
		return bad("attributes", "must be a JSON object (the eventAttributes of the message)")
	}
	l := validate.LimitsFor(1)
	l.KV, l.Depth = h.opts.MaxAttributes(), validate.MaxDepth
	if p := validate.KV(validate.EventAttributes, attrs, l); p != nil {
		return bad("attributes", "%s", p.Reason)
	}
	if e := richmsg.Check("text", s.Text, attrs); e != nil {
		field := e.Field
		if rest, ok := strings.CutPrefix(field, "eventAttributes"); ok {
			field = "attributes" + rest
		}
		return bad(field, "%s", e.Reason)
	}
	return nil
}

// shortcutTaken refuses a shortcut another response has.
func shortcutTaken(all []store.StandardResponse, s store.StandardResponse) *fieldError {
	if s.Shortcut == "" {
		return nil
	}
	if i := slices.IndexFunc(all, func(o store.StandardResponse) bool { return o.Shortcut == s.Shortcut && o.ID != s.ID }); i >= 0 {
		return &fieldError{status: http.StatusConflict, code: "exists", field: "shortcut",
			msg: fmt.Sprintf("shortcut: /%s belongs to standard response %q already", s.Shortcut, all[i].ID)}
	}
	return nil
}
