package responses

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/confab/confab/internal/store"
)

// Limits of the API.
const (
	// MaxBody bounds a request body.
	MaxBody = 64 << 10
	// MaxResponses bounds how many standard responses the store keeps.
	MaxResponses = 10000
	// DefaultLimit and MaxLimit bound a list.
	DefaultLimit = 50
	MaxLimit     = 1000
	storeTimeout = 10 * time.Second
)

// Store is what the handler needs of the store.
type Store interface {
	store.StandardResponses
	GetAgentByTokenHash(ctx context.Context, hash []byte) (store.Agent, error)
}

// Options configure a Handler.
type Options struct {
	Store Store
	// HashToken is how agent tokens are stored (agent.HashToken).
	HashToken func(token string) []byte
	// AdminToken returns the live [admin] token, which may write too; nil
	// or "" admits agent tokens only.
	AdminToken func() string
	// MaxText returns the longest text, in characters, a message may have
	// (0.45 of xml-request-max-size); nil means 14745 (the default size).
	MaxText func() int
	// MaxAttributes returns the largest eventAttributes, in bytes of keys
	// and values; nil means MaxText's value.
	MaxAttributes func() int
	Log           *slog.Logger
}

// Handler serves /agent/v1/responses.
type Handler struct {
	opts Options
	log  *slog.Logger
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.MaxText == nil {
		opts.MaxText = func() int { return 32768 * 45 / 100 }
	}
	if opts.MaxAttributes == nil {
		opts.MaxAttributes = opts.MaxText
	}
	h := &Handler{opts: opts, log: opts.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Register mounts the API:
//
//	GET    /agent/v1/responses?q=&limit=   list or search (every agent)
//	POST   /agent/v1/responses             create (supervisors, admin)
//	GET    /agent/v1/responses/{id}        one response (every agent)
//	PATCH  /agent/v1/responses/{id}        change the fields given (supervisors, admin)
//	DELETE /agent/v1/responses/{id}        delete (supervisors, admin)
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /agent/v1/responses", h.auth(false, h.list))
	mux.HandleFunc("POST /agent/v1/responses", h.auth(true, h.create))
	mux.HandleFunc("GET /agent/v1/responses/{id}", h.auth(false, h.get))
	mux.HandleFunc("PATCH /agent/v1/responses/{id}", h.auth(true, h.update))
	mux.HandleFunc("DELETE /agent/v1/responses/{id}", h.auth(true, h.remove))
	mux.HandleFunc("/agent/v1/responses", h.auth(false, methodNotAllowed("GET, POST")))
	mux.HandleFunc("/agent/v1/responses/{id}", h.auth(false, methodNotAllowed("GET, PATCH, DELETE")))
}

// responseJSON is a response as the API shows it.
type responseJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Category   string          `json:"category"`
	Shortcut   string          `json:"shortcut"`
	Text       string          `json:"text"`
	Attributes json.RawMessage `json:"attributes,omitempty"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

func toJSON(r store.StandardResponse) responseJSON {
	return responseJSON{ID: r.ID, Name: r.Name, Category: r.Category, Shortcut: r.Shortcut, Text: r.Text,
		Attributes: r.Attributes, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	limit := DefaultLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			refuse(w, http.StatusBadRequest, "bad-request", "limit", fmt.Sprintf("limit: must be a number from 1 to %d", MaxLimit))
			return
		}
		limit = n
	}
	q := r.URL.Query().Get("q")
	if len(q) > 256 {
		refuse(w, http.StatusBadRequest, "bad-request", "q", "q: longer than 256 bytes")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	all, err := h.opts.Store.ListStandardResponses(ctx)
	if err != nil {
		h.storeFailed(w, "list", err)
		return
	}
	found := Search(all, q)
	out := make([]responseJSON, 0, min(limit, len(found)))
	for _, s := range found[:min(limit, len(found))] {
		out = append(out, toJSON(s))
	}
	reply(w, http.StatusOK, out)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	s, err := h.opts.Store.GetStandardResponse(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", "no standard response "+strconv.Quote(r.PathValue("id")))
		return
	}
	if err != nil {
		h.storeFailed(w, "get", err)
		return
	}
	reply(w, http.StatusOK, toJSON(s))
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	b, ferr := decodeBody(w, r)
	if ferr != nil {
		ferr.write(w)
		return
	}
	if b.ID == nil {
		id := newID()
		b.ID = &id
	}
	if b.Name == nil {
		refuse(w, http.StatusBadRequest, "bad-request", "name", "name: is required")
		return
	}
	if b.Text == nil {
		refuse(w, http.StatusBadRequest, "bad-request", "text", "text: is required")
		return
	}
	var s store.StandardResponse
	b.apply(&s)
	if ferr := h.check(s); ferr != nil {
		ferr.write(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	all, err := h.opts.Store.ListStandardResponses(ctx)
	if err != nil {
		h.storeFailed(w, "list", err)
		return
	}
	if len(all) >= MaxResponses {
		refuse(w, http.StatusConflict, "limit", "", fmt.Sprintf("the store keeps at most %d standard responses", MaxResponses))
		return
	}
	if ferr := shortcutTaken(all, s); ferr != nil {
		ferr.write(w)
		return
	}
	err = h.opts.Store.AddStandardResponse(ctx, s)
	if errors.Is(err, store.ErrExists) {
		refuse(w, http.StatusConflict, "exists", "id", "id: a standard response "+strconv.Quote(s.ID)+" exists already")
		return
	}
	if err != nil {
		h.storeFailed(w, "add", err)
		return
	}
	if s, err = h.opts.Store.GetStandardResponse(ctx, s.ID); err != nil {
		h.storeFailed(w, "read back", err)
		return
	}
	w.Header().Set("Location", "/agent/v1/responses/"+s.ID)
	reply(w, http.StatusCreated, toJSON(s))
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	b, ferr := decodeBody(w, r)
	if ferr != nil {
		ferr.write(w)
		return
	}
	id := r.PathValue("id")
	if b.ID != nil && *b.ID != id {
		refuse(w, http.StatusBadRequest, "bad-request", "id", "id: a standard response's id cannot change")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	s, err := h.opts.Store.GetStandardResponse(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", "no standard response "+strconv.Quote(id))
		return
	}
	if err != nil {
		h.storeFailed(w, "get", err)
		return
	}
	b.apply(&s)
	s.UpdatedAt = time.Time{}
	if ferr := h.check(s); ferr != nil {
		ferr.write(w)
		return
	}
	if b.Shortcut != nil {
		all, err := h.opts.Store.ListStandardResponses(ctx)
		if err != nil {
			h.storeFailed(w, "list", err)
			return
		}
		if ferr := shortcutTaken(all, s); ferr != nil {
			ferr.write(w)
			return
		}
	}
	err = h.opts.Store.UpdateStandardResponse(ctx, s)
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", "no standard response "+strconv.Quote(id))
		return
	}
	if err != nil {
		h.storeFailed(w, "update", err)
		return
	}
	if s, err = h.opts.Store.GetStandardResponse(ctx, id); err != nil {
		h.storeFailed(w, "read back", err)
		return
	}
	reply(w, http.StatusOK, toJSON(s))
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	err := h.opts.Store.RemoveStandardResponse(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", "no standard response "+strconv.Quote(r.PathValue("id")))
		return
	}
	if err != nil {
		h.storeFailed(w, "remove", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) storeFailed(w http.ResponseWriter, what string, err error) {
	h.log.Error("standard responses: "+what, "err", err)
	refuse(w, http.StatusServiceUnavailable, "unavailable", "", "the store cannot be reached now")
}

// auth admits agent tokens; write requests only from supervisors or with
// the admin token.
func (h *Handler) auth(write bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			refuse(w, http.StatusUnauthorized, "unauthorized", "", "an agent token (Authorization: Bearer) is required")
			return
		}
		if h.opts.AdminToken != nil {
			if adm := h.opts.AdminToken(); adm != "" {
				a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(adm))
				if subtle.ConstantTimeCompare(a[:], b[:]) == 1 {
					next(w, r)
					return
				}
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
		acc, err := h.opts.Store.GetAgentByTokenHash(ctx, h.opts.HashToken(tok))
		cancel()
		if errors.Is(err, store.ErrNotFound) {
			refuse(w, http.StatusUnauthorized, "unauthorized", "", "the token is not valid")
			return
		}
		if err != nil {
			h.storeFailed(w, "look up token", err)
			return
		}
		if write && acc.Type != store.UserSupervisor {
			refuse(w, http.StatusForbidden, "forbidden", "", "only supervisors change standard responses; account "+acc.ID+" is "+string(acc.Type))
			return
		}
		next(w, r)
	}
}

func bearer(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > 7 && (a[:7] == "Bearer " || a[:7] == "bearer ") {
		return a[7:]
	}
	return r.URL.Query().Get("access_token")
}

func newID() string {
	var b [9]byte
	rand.Read(b[:])
	return "sr-" + base64.RawURLEncoding.EncodeToString(b[:])
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		refuse(w, http.StatusMethodNotAllowed, "method-not-allowed", "", fmt.Sprintf("%s %s is not allowed; use %s", r.Method, r.URL.Path, allow))
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// refuse writes a JSON error naming the field when there is one.
func refuse(w http.ResponseWriter, status int, code, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="confab-agent"`)
	}
	w.WriteHeader(status)
	body := map[string]string{"code": code, "message": msg}
	if field != "" {
		body["field"] = field
	}
	json.NewEncoder(w).Encode(body)
}
