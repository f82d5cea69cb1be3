package records

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/confab/confab/internal/store"
)

// Reader is the part of the store the history API reads.
type Reader interface {
	GetInteraction(ctx context.Context, id string) (store.Interaction, error)
	ListInteractions(ctx context.Context, f store.InteractionFilter) ([]store.Interaction, error)
	GetContact(ctx context.Context, id string) (store.Contact, error)
}

// Options configure a Handler.
type Options struct {
	Store Reader
	// Token returns the live admin token (required); requests must carry
	// it as "Authorization: Bearer <token>".
	Token func() string
	Log   *slog.Logger
}

// Paging limits of GET /api/v1/contacts/{id}/interactions.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Handler serves the history API.
type Handler struct {
	opts Options
	log  *slog.Logger
}

// New returns a Handler.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, log: opts.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Register mounts the routes.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/interactions/{id}", h.auth(h.interaction))
	mux.HandleFunc("GET /api/v1/contacts/{id}", h.auth(h.contact))
	mux.HandleFunc("GET /api/v1/contacts/{id}/interactions", h.auth(h.contactInteractions))
}

// Record is an interaction as the history API returns it.
type Record struct {
	ID         string          `json:"id"`
	SessionID  string          `json:"sessionId"`
	Tenant     string          `json:"tenant"`
	Endpoint   string          `json:"endpoint"`
	Queue      string          `json:"queue"`
	ContactID  string          `json:"contactId,omitempty"`
	Subject    string          `json:"subject,omitempty"`
	Status     string          `json:"status"`
	State      string          `json:"state"`
	CreatedAt  time.Time       `json:"createdAt"`
	ClosedAt   time.Time       `json:"closedAt,omitzero"`
	UserData   json.RawMessage `json:"userData"`
	Statistics json.RawMessage `json:"statistics"`
	// Transcript is the final transcript as stored; absent in listings and
	// while the interaction is open.
	Transcript json.RawMessage `json:"transcript,omitempty"`
}

func record(in store.Interaction) Record {
	r := Record{
		ID: in.ID, SessionID: in.SessionID, Tenant: in.Tenant, Endpoint: in.Endpoint, Queue: in.Queue,
		ContactID: in.ContactID, Subject: in.Subject, Status: string(in.Status), State: in.State,
		CreatedAt: in.CreatedAt.UTC(), ClosedAt: in.ClosedAt.UTC(),
		UserData: orEmpty(in.UserData), Statistics: orEmpty(in.Stats), Transcript: in.Transcript,
	}
	if in.ClosedAt.IsZero() {
		r.ClosedAt = time.Time{}
	}
	return r
}

func orEmpty(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage(`{}`)
	}
	return m
}

func (h *Handler) interaction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	in, err := h.opts.Store.GetInteraction(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", fmt.Sprintf("no interaction %q", id))
		return
	}
	if err != nil {
		h.storeError(w, "read interaction", err)
		return
	}
	writeJSON(w, record(in))
}

// Contact is a contact as the history API returns it.
type Contact struct {
	ID         string            `json:"id"`
	Attributes map[string]string `json:"attributes"`
	CreatedAt  time.Time         `json:"createdAt"`
}

func (h *Handler) contact(w http.ResponseWriter, r *http.Request) {
	c, ok := h.getContact(w, r)
	if !ok {
		return
	}
	attrs := c.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	writeJSON(w, Contact{ID: c.ID, Attributes: attrs, CreatedAt: c.CreatedAt.UTC()})
}

func (h *Handler) getContact(w http.ResponseWriter, r *http.Request) (store.Contact, bool) {
	id := r.PathValue("id")
	c, err := h.opts.Store.GetContact(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", fmt.Sprintf("no contact %q", id))
		return c, false
	}
	if err != nil {
		h.storeError(w, "read contact", err)
		return c, false
	}
	return c, true
}

// Page is one page of a contact's interactions, newest first. Next, when
// set, is the after value of the next page.
type Page struct {
	Interactions []Record `json:"interactions"`
	Next         string   `json:"next,omitempty"`
}

func (h *Handler) contactInteractions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultLimit
	if s, set := q["limit"]; set {
		n, err := strconv.Atoi(strings.TrimSpace(s[0]))
		if err != nil || n < 1 || n > MaxLimit || len(s) > 1 {
			refuse(w, http.StatusBadRequest, "bad-request", "limit", fmt.Sprintf("limit must be one whole number from 1 to %d", MaxLimit))
			return
		}
		limit = n
	}
	after := ""
	if s, set := q["after"]; set {
		if len(s) > 1 || strings.TrimSpace(s[0]) == "" {
			refuse(w, http.StatusBadRequest, "bad-request", "after", "after must be one interaction id (the next value of the previous page)")
			return
		}
		after = s[0]
	}
	c, ok := h.getContact(w, r)
	if !ok {
		return
	}
	list, err := h.opts.Store.ListInteractions(r.Context(), store.InteractionFilter{
		ContactID: c.ID, Newest: true, AfterID: after, Limit: limit + 1,
	})
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusBadRequest, "bad-request", "after", fmt.Sprintf("after: no interaction %q", after))
		return
	}
	if err != nil {
		h.storeError(w, "list interactions", err)
		return
	}
	page := Page{Interactions: make([]Record, 0, min(len(list), limit))}
	for i, in := range list {
		if i == limit {
			page.Next = list[limit-1].ID
			break
		}
		page.Interactions = append(page.Interactions, record(in))
	}
	writeJSON(w, page)
}

func (h *Handler) storeError(w http.ResponseWriter, what string, err error) {
	h.log.Error("history api: "+what, "err", err)
	refuse(w, http.StatusServiceUnavailable, "unavailable", "", "the contact history cannot be read now")
}

// auth admits requests carrying the admin token, compared in constant time.
func (h *Handler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		want := h.opts.Token()
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
		if want == "" || !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="confab-admin"`)
			refuse(w, http.StatusUnauthorized, "unauthorized", "", "missing or wrong bearer token ([admin] token)")
			return
		}
		next(w, r)
	}
}

func refuse(w http.ResponseWriter, status int, code, field, msg string) {
	body := map[string]string{"code": code, "message": msg}
	if field != "" {
		body["field"] = field
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
