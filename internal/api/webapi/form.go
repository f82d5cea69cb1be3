package webapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/validate"
)

// form is a decoded request: its plain fields in arrival order, its
// userData entries and the metadata of its file parts, whichever encoding
// carried them. Lookups scan the fields: requests carry a few dozen at most.
type form struct {
	fields   []field
	inline   [12]field // backs fields for typical requests
	userData kv.Map    // nil when the request had none
	files    []filePart
}

type field struct{ name, value string }

// filePart describes an uploaded file part; its bytes are not kept.
type filePart struct {
	field, name string
	size        int64
}

// get returns the first value of the named field, or "".
func (f *form) get(name string) string {
	v, _ := f.lookup(name)
	return v
}

// lookup returns the first value of the named field and whether it was sent.
func (f *form) lookup(name string) (string, bool) {
	for i := range f.fields {
		if f.fields[i].name == name {
			return f.fields[i].value, true
		}
	}
	return "", false
}

// maxUserDataDepth bounds userData[a][b]... nesting.
const maxUserDataDepth = kv.MaxDepth

// decodeForm reads and decodes the body of r, refusing one larger than max
// bytes, then adds the URL's query parameters that the body did not carry
// (as the reference's servlet container does). It accepts
// application/x-www-form-urlencoded, multipart/form-data, and for the
// lenient clients that avoid CORS preflights text/plain or no content type,
// read as form-urlencoded. Every failure is a *failure with a 4xx status.
func decodeForm(r *http.Request, max int) (*form, *failure) {
	f := &form{}
	if fl := f.decode(r, max, nil); fl != nil {
		return nil, fl
	}
	return f, nil
}

// decode is decodeForm into f; buf, when not nil, is a reusable buffer the
// body is read into (nothing decoded refers to it afterwards; it may be
// grown).
func (f *form) decode(r *http.Request, max int, buf *[]byte) *failure {
	// The query string counts against the same limit as the body, and is
	// measured before anything is parsed.
	room := max - len(r.URL.RawQuery)
	if room < 0 || r.ContentLength > int64(room) {
		return tooLarge(max)
	}
	var own []byte
	if buf == nil {
		buf = &own
	}
	body, fl := readBody(r, room, (*buf)[:0])
	*buf = body[:0]
	if fl != nil {
		return fl
	}
	f.fields = f.inline[:0]
	ct := r.Header.Get("Content-Type")
	mediaType, params := ct, map[string]string(nil)
	if ct != "" && ct != "application/x-www-form-urlencoded" { // the common case needs no parsing
		var err error
		mediaType, params, err = mime.ParseMediaType(ct)
		if err != nil {
			return &failure{status: http.StatusUnsupportedMediaType, errs: []apiError{{codeInvalid, fmt.Sprintf("Content-Type %q cannot be parsed", clip(ct))}}}
		}
	}
	// A multipart body is recognised by its boundary whatever its label
	// says: one client library labels file uploads form-urlencoded, and
	// reading them as a form would lose every field.
	if len(body) >= 2 && body[0] == '-' && body[1] == '-' {
		if boundary, ok := sniffMultipart(string(body)); ok && (mediaType == "multipart/form-data" || formLabel(mediaType)) {
			mediaType, params = "multipart/form-data", map[string]string{"boundary": boundary}
		}
	}
	switch {
	case formLabel(mediaType):
		if looksJSON(body) {
			return invalid("", "the body is JSON, but Chat API v2 requests are forms: send application/x-www-form-urlencoded or multipart/form-data")
		}
		// Escaped values are decoded in the buffer's room after the body.
		scratch := body[len(body):]
		if fl := f.parseURLEncodedBytes(body, &scratch); fl != nil {
			return fl
		}
	case mediaType == "multipart/form-data":
		if fl := f.parseMultipart(string(body), params["boundary"]); fl != nil {
			return fl
		}
	default:
		return &failure{status: http.StatusUnsupportedMediaType, errs: []apiError{{codeInvalid,
			fmt.Sprintf("Content-Type %s is not accepted; send application/x-www-form-urlencoded or multipart/form-data", mediaType)}}}
	}
	if r.URL.RawQuery != "" {
		q := &form{}
		if fl := q.parseURLEncoded(r.URL.RawQuery); fl != nil {
			return fl
		}
		for _, fd := range q.fields {
			if _, ok := f.lookup(fd.name); !ok {
				f.fields = append(f.fields, fd)
			}
		}
		if q.userData != nil && f.userData == nil {
			f.userData = q.userData
		}
	}
	return nil
}

// formLabel reports whether a media type is read as form-urlencoded: that
// type itself, and for the lenient clients that avoid CORS preflights
// text/plain or none.
func formLabel(mediaType string) bool {
	return mediaType == "" || mediaType == "application/x-www-form-urlencoded" || mediaType == "text/plain"
}

// sniffMultipart returns the boundary of a body that is multipart/form-data
// by its content: it opens with "--boundary" on a line of its own and the
// first part's headers carry a Content-Disposition.
func sniffMultipart(body string) (string, bool) {
	if !strings.HasPrefix(body, "--") {
		return "", false
	}
	line, rest, ok := strings.Cut(body[2:], "\n")
	line = strings.TrimSuffix(line, "\r")
	if !ok || line == "" || len(line) > 70 || strings.TrimRight(line, " ") != line {
		return "", false
	}
	headers, _, _ := strings.Cut(rest, "\r\n\r\n")
	if len(headers) > 1024 {
		headers = headers[:1024]
	}
	if !strings.Contains(strings.ToLower(headers), "content-disposition:") {
		return "", false
	}
	return line, true
}

// looksJSON reports whether a body labelled as a form is a JSON document:
// a form's field names never start with '{' or '[' unescaped.
func looksJSON(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// readBody reads at most max bytes of r's body into buf (grown as needed),
// refusing a longer one.
func readBody(r *http.Request, max int, buf []byte) ([]byte, *failure) {
	if r.Body == nil || r.Body == http.NoBody {
		return buf, nil
	}
	size := 512
	if r.ContentLength >= 0 {
		size = int(r.ContentLength) + 1 // room to see the end of the body
	}
	if want := min(size, max+1); cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	for {
		if len(buf) == cap(buf) {
			if len(buf) > max {
				return buf, tooLarge(max)
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):min(cap(buf), max+1)])
		buf = buf[:len(buf)+n]
		if len(buf) > max {
			return buf, tooLarge(max)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, invalid("", fmt.Sprintf("request body could not be read: %v", err))
		}
	}
}

// parseURLEncoded decodes name=value pairs separated by '&' from a string
// (a query string). Unlike url.ParseQuery it keeps the arrival order and
// reports the field whose percent-encoding is broken. Values (and user data
// keys) outlive the request (message texts, client message ids and user
// data stay in the transcript), so they own their bytes.
func (f *form) parseURLEncoded(s string) *failure {
	return f.parseURLEncodedBytes([]byte(s), nil)
}

// parseMultipart decodes a multipart/form-data body. File parts (those with
// a file name) are counted, not kept.
func (f *form) parseMultipart(body, boundary string) *failure {
	if boundary == "" {
		return invalid("", "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(strings.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return invalid("", fmt.Sprintf("malformed multipart body: %v", err))
		}
		name := p.FormName()
		if p.FileName() != "" {
			n, err := io.Copy(io.Discard, p)
			if err != nil {
				return invalid(clip(name), fmt.Sprintf("malformed multipart file part: %v", err))
			}
			f.files = append(f.files, filePart{field: name, name: p.FileName(), size: n})
			continue
		}
		value, err := io.ReadAll(p)
		if err != nil {
			return invalid(clip(name), fmt.Sprintf("malformed multipart part: %v", err))
		}
		if name == "" {
			continue // a part without a form name carries no field
		}
		if fl := f.add(name, string(value)); fl != nil {
			return fl
		}
	}
}

// add records one decoded field: userData entries go to the userData map,
// everything else to the field list.
func (f *form) add(name, value string) *failure {
	if !strings.HasPrefix(name, "userData") {
		f.fields = append(f.fields, field{name, value})
		return nil
	}
	rest := name[len("userData"):]
	switch {
	case rest == "":
		// userData sent as one JSON object, as CometD clients do.
		if strings.TrimSpace(value) == "" {
			return nil
		}
		m, err := kv.FromJSON([]byte(value))
		if err != nil {
			return invalid("userData", "userData without [key] must be a JSON object")
		}
		if !validate.JSONText([]byte(value)) || !validKV(m) {
			return invalid("userData", validate.ReasonUTF8)
		}
		if f.userData == nil {
			f.userData = kv.Map{}
		}
		f.userData.Merge(m)
		return nil
	case rest[0] != '[':
		// userDataFoo: an unknown field like any other.
		f.fields = append(f.fields, field{name, value})
		return nil
	}
	path, ok := userDataPath(rest)
	if !ok {
		return invalid(clip(name), "malformed user data key; use userData[key]")
	}
	if !utf8.ValidString(value) {
		return invalid("userData", validate.ReasonUTF8)
	}
	if f.userData == nil {
		f.userData = kv.Map{}
	}
	if err := f.userData.Set(path, value); err != nil {
		return invalid(clip(name), "the key clashes with another user data key")
	}
	return nil
}

// userDataPath parses the bracket groups after "userData": [key], ["key"]
// or ['key'], repeated for nested keys, each key non-empty valid UTF-8.
func userDataPath(s string) ([]string, bool) {
	var path []string
	for s != "" {
		if s[0] != '[' || len(path) == maxUserDataDepth {
			return nil, false
		}
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, false
		}
		key := s[1:end]
		if len(key) >= 2 && (key[0] == '"' || key[0] == '\'') && key[len(key)-1] == key[0] {
			key = key[1 : len(key)-1]
		}
		if key == "" || !utf8.ValidString(key) {
			return nil, false
		}
		path = append(path, key)
		s = s[end+1:]
	}
	return path, len(path) > 0
}

// validKV reports whether every key and value of m is valid UTF-8.
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

// clip shortens a client-supplied name for use in an error message and
// makes it valid UTF-8.
func clip(s string) string {
	const max = 64
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
