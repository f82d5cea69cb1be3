// Package cors decides which browser origins may call Confab's customer
// endpoints with credentials (cookies), and writes the CORS headers that say
// so. The allowed origins come from the [cors] section: exact origins
// (https://shop.example.com) and wildcard host patterns
// (https://*.example.com). With no origins configured the policy is open:
// any origin, without credentials — the customer API carries its
// credentials in the form, not in cookies.
//
// A Policy is immutable and safe for concurrent use.
package cors

import (
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strings"
)

// Policy is the set of allowed origins.
type Policy struct {
	exact    map[string]bool
	patterns []string // path.Match patterns over "scheme://host[:port]"
	list     []string
}

// entryRE is one configured origin: a scheme, a host whose first label may
// be "*", an optional port, and nothing else.
var entryRE = regexp.MustCompile(`^(https?)://(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$`)

// Split parses the allowed-origins list (entries separated by commas or
// white space) into canonical (lower-case) entries, or reports the first
// entry that is not an origin or a wildcard host pattern.
func Split(list string) ([]string, error) {
	var out []string
	for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		e = strings.ToLower(strings.TrimSuffix(e, "/"))
		if !entryRE.MatchString(e) {
			return nil, fmt.Errorf("%q is not an origin (scheme://host[:port]) or a wildcard pattern (scheme://*.domain[:port])", e)
		}
		out = append(out, e)
	}
	return out, nil
}

// New returns the policy of the entries (as Split returns them). No
// entries make the open policy.
func New(entries []string) *Policy {
	p := &Policy{exact: map[string]bool{}, list: entries}
	for _, e := range entries {
		if strings.Contains(e, "*") {
			p.patterns = append(p.patterns, e)
		} else {
			p.exact[e] = true
		}
	}
	return p
}

// Open reports whether no origins are configured.
func (p *Policy) Open() bool { return p == nil || len(p.list) == 0 }

// Patterns returns the configured entries, in the form the WebSocket
// library's AcceptOptions.OriginPatterns takes (it matches scheme://host
// with path.Match when a pattern has "://", as these do).
func (p *Policy) Patterns() []string {
	if p == nil {
		return nil
	}
	return append([]string(nil), p.list...)
}

// Allowed reports whether origin may call with credentials.
func (p *Policy) Allowed(origin string) bool {
	if p.Open() || origin == "" {
		return false
	}
	o := strings.ToLower(origin)
	if p.exact[o] {
		return true
	}
	for _, pat := range p.patterns {
		if ok, _ := path.Match(pat, o); ok && !strings.Contains(o[strings.Index(o, "://")+3:], "/") {
			return true
		}
	}
	return false
}

// Headers that every answer of a customer endpoint may carry.
const (
	AllowMethods = "POST, GET, OPTIONS"
	// AllowHeaders are the request headers a preflight may ask for: the
	// widget's apikey and custom Authorization, and what XHR libraries add.
	AllowHeaders = "Content-Type, apikey, Authorization, X-Requested-With"
)

// Apply sets the CORS answer headers for r on h. With the open policy
// any origin is echoed (or "*" without an Origin header) and credentials
// are not allowed; otherwise an allowed origin is echoed with
// Access-Control-Allow-Credentials: true and any other origin gets no
// Access-Control-Allow-Origin, so the browser refuses it the answer.
func (p *Policy) Apply(h http.Header, r *http.Request) {
	o := r.Header.Get("Origin")
	switch {
	case p.Open() && o == "":
		h["Access-Control-Allow-Origin"] = anyOrigin
	case p.Open():
		h.Set("Access-Control-Allow-Origin", o)
		varyOrigin(h)
	case p.Allowed(o):
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Allow-Credentials", "true")
		varyOrigin(h)
	default:
		varyOrigin(h)
	}
}

// varyOrigin adds "Vary: Origin"; on every answer, so without allocating
// when the header has no Vary yet.
func varyOrigin(h http.Header) {
	if _, ok := h["Vary"]; !ok {
		h["Vary"] = varyOriginValue
		return
	}
	h.Add("Vary", "Origin")
}

// Shared, read-only header values: a later Add appends to a copy (their
// capacity is their length).
var (
	anyOrigin       = []string{"*"}
	varyOriginValue = []string{"Origin"}
)

// Preflight answers a CORS preflight (OPTIONS) with 204: the headers of
// Apply plus those of AnswerPreflight.
func (p *Policy) Preflight(w http.ResponseWriter, r *http.Request) {
	p.Apply(w.Header(), r)
	AnswerPreflight(w)
}

// AnswerPreflight answers a preflight whose origin headers Apply has set:
// 204 with the allowed methods and headers, cacheable for ten minutes.
func AnswerPreflight(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", AllowMethods)
	h.Set("Access-Control-Allow-Headers", AllowHeaders)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}
