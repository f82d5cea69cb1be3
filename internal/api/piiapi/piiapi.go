// Package piiapi is the operator's HTTP API for masking rules, on the agent
// port behind the [admin] token (a bearer token):
//
//	GET    /api/v1/pii/rules        the rules in force, the stored ones, the built-in ones
//	POST   /api/v1/pii/rules        add a stored rule (JSON: id, name, description, pattern, spec, minDigitRun)
//	DELETE /api/v1/pii/rules/{id}   remove a stored rule
//	POST   /api/v1/pii/test         mask {"text": ...} with the rules in force
//
// A refused rule is answered 400 with the field and, for a pattern, the
// character position of the fault. It is a thin adapter over
// masking.Manager; handlers are safe for concurrent use.
package piiapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/confab/confab/internal/masking"
	"github.com/confab/confab/internal/pii"
	"github.com/confab/confab/internal/store"
)

// Options configure a Handler.
type Options struct {
	Manager *masking.Manager
	// Token returns the live [admin] token.
	Token func() string
}

// Handler serves the masking-rule API.
type Handler struct{ opts Options }

// New returns a Handler.
func New(opts Options) *Handler { return &Handler{opts: opts} }

// maxBody bounds a request body.
const maxBody = 64 << 10

// Register mounts the routes.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/pii/rules", h.auth(h.list))
	mux.HandleFunc("POST /api/v1/pii/rules", h.auth(h.add))
	mux.HandleFunc("DELETE /api/v1/pii/rules/{id}", h.auth(h.remove))
	mux.HandleFunc("POST /api/v1/pii/test", h.auth(h.test))
}

// Rule is a rule on the wire.
type Rule struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Pattern     string `json:"pattern"`
	Spec        string `json:"spec,omitempty"`
	MinDigitRun int    `json:"minDigitRun,omitempty"`
}

func wire(rs []pii.Rule) []Rule {
	out := make([]Rule, len(rs))
	for i, r := range rs {
		out[i] = Rule(r)
	}
	return out
}

// Rules is the answer of GET /api/v1/pii/rules.
type Rules struct {
	InForce []Rule `json:"inForce"`
	Stored  []Rule `json:"stored"`
	BuiltIn []Rule `json:"builtIn"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	stored, err := h.opts.Manager.Stored(r.Context())
	if err != nil {
		refuse(w, http.StatusServiceUnavailable, "store", "", err.Error())
		return
	}
	out := Rules{InForce: []Rule{}, Stored: wire(stored), BuiltIn: wire(pii.Defaults())}
	if p := h.opts.Manager.Policy(); p != nil && p.Rules != nil {
		out.InForce = wire(p.Rules.Rules())
	}
	answer(w, http.StatusOK, out)
}

func (h *Handler) add(w http.ResponseWriter, r *http.Request) {
	var in Rule
	if !decode(w, r, &in) {
		return
	}
	err := h.opts.Manager.Add(r.Context(), pii.Rule(in))
	var re *pii.RuleError
	switch {
	case err == nil:
		answer(w, http.StatusCreated, in)
	case errors.As(err, &re):
		body := map[string]any{"code": "invalid", "field": re.Field, "message": err.Error()}
		if re.Pos >= 0 {
			body["position"] = re.Pos
		}
		answer(w, http.StatusBadRequest, body)
	case errors.Is(err, store.ErrExists):
		refuse(w, http.StatusConflict, "exists", "id", err.Error())
	default:
		refuse(w, http.StatusServiceUnavailable, "store", "", err.Error())
	}
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request) {
	err := h.opts.Manager.Remove(r.Context(), r.PathValue("id"))
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, store.ErrNotFound):
		refuse(w, http.StatusNotFound, "not-found", "id", "no stored rule "+r.PathValue("id"))
	default:
		refuse(w, http.StatusServiceUnavailable, "store", "", err.Error())
	}
}

// Hit is a replaced range in a test answer.
type Hit struct {
	Rule     string `json:"rule"`
	Name     string `json:"name"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
	Replaced string `json:"replaced"`
}

func (h *Handler) test(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Text *string `json:"text"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Text == nil {
		refuse(w, http.StatusBadRequest, "invalid", "text", "text is required")
		return
	}
	masked, hits := h.opts.Manager.Test(*in.Text)
	out := struct {
		Text string `json:"text"`
		Hits []Hit  `json:"hits"`
	}{Text: masked, Hits: []Hit{}}
	for _, x := range hits {
		out.Hits = append(out.Hits, Hit{Rule: x.ID, Name: x.Name, Start: x.Start, End: x.End, Replaced: x.Replaced()})
	}
	answer(w, http.StatusOK, out)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		refuse(w, http.StatusRequestEntityTooLarge, "too-large", "", "the body is larger than 64 KiB")
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		refuse(w, http.StatusBadRequest, "invalid", "", "the body is not the expected JSON object: "+err.Error())
		return false
	}
	return true
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func refuse(w http.ResponseWriter, status int, code, field, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="confab-admin"`)
	}
	body := map[string]string{"code": code, "message": msg}
	if field != "" {
		body["field"] = field
	}
	answer(w, status, body)
}

// auth admits requests carrying the admin token, compared in constant time.
func (h *Handler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want := h.opts.Token()
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
		if want == "" || !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			refuse(w, http.StatusUnauthorized, "unauthorized", "", "missing or wrong bearer token ([admin] token)")
			return
		}
		next(w, r)
	}
}
