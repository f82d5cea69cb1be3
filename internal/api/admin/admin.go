// Package admin serves the operator's HTTP API on the agent port: the
// interactions in the queues (GET /api/v1/interactions) and the stream of
// their changes as Server-Sent Events (GET /api/v1/events), both behind the
// [admin] token sent as a bearer token.
//
// Each event stream is one goroutine (the request's) reading a routing
// subscription with a bounded buffer; a stream that falls behind is ended
// with an "error" event naming the slow consumer, and the client resumes
// with Last-Event-ID. Shutdown ends every stream so the HTTP server can
// stop.
package admin

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
	"sync"
	"time"

	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// Options configure a Handler.
type Options struct {
	Router *routing.Router
	// Token returns the live [admin] token.
	Token func() string
	// Heartbeat is how often an idle event stream sends a comment line;
	// default 15s.
	Heartbeat time.Duration
	// Agents keeps the agent accounts served at /api/v1/agents; nil
	// answers those paths with 404.
	Agents store.Agents
	// NewToken returns a new agent token and the hash the store keeps.
	NewToken func() (token string, hash []byte)
	// WriteTimeout bounds every write to an event stream; default 10s.
	WriteTimeout time.Duration
	Log          *slog.Logger
}

// Handler serves /api/v1/.
type Handler struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex    // guards stop
	stop chan struct{} // closed by Shutdown
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	h := &Handler{opts: opts, log: opts.Log, stop: make(chan struct{})}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Register mounts the admin API.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/interactions", h.auth(h.interactions))
	mux.HandleFunc("GET /api/v1/events", h.auth(h.events))
	for _, path := range [...]string{"/api/v1/interactions", "/api/v1/events"} {
		mux.HandleFunc(path, h.auth(methodNotAllowed(http.MethodGet)))
	}
	h.registerAgents(mux)
	mux.HandleFunc("/api/v1/", h.auth(func(w http.ResponseWriter, r *http.Request) {
		refuse(w, http.StatusNotFound, "not-found", "", fmt.Sprintf("no %s %s; see GET /api/v1/interactions and GET /api/v1/events", r.Method, r.URL.Path))
	}))
}

// methodNotAllowed answers a known path asked with another method: a JSON
// 405 with the Allow header.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		refuse(w, http.StatusMethodNotAllowed, "method-not-allowed", "", fmt.Sprintf("%s %s is not allowed; use %s", r.Method, r.URL.Path, allow))
	}
}

// Shutdown ends every event stream. It may be called repeatedly.
func (h *Handler) Shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
}

// refuse writes a JSON error.
func refuse(w http.ResponseWriter, status int, code, field, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="confab-admin"`)
	}
	w.WriteHeader(status)
	body := map[string]string{"code": code, "message": msg}
	if field != "" {
		body["field"] = field
	}
	json.NewEncoder(w).Encode(body)
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

var states = map[routing.State]bool{
	routing.Queued: true, routing.Assigned: true, routing.Held: true, routing.Offline: true, routing.Stopped: true,
	routing.Transferred: true,
}

// Listing limits.
const (
	defaultLimit = 1000
	maxLimit     = 10000
)

func (h *Handler) interactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := routing.Filter{Queue: q.Get("queue"), State: routing.State(q.Get("state")), Limit: defaultLimit}
	if f.State != "" && !states[f.State] {
		refuse(w, http.StatusBadRequest, "bad-request", "state", "state must be queued, assigned, transferred, held, offline or stopped")
		return
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			refuse(w, http.StatusBadRequest, "bad-request", "limit", fmt.Sprintf("limit must be a whole number from 1 to %d", maxLimit))
			return
		}
		f.Limit = n
	}
	f.After = q.Get("after")
	list, err := h.opts.Router.List(r.Context(), f)
	if errors.Is(err, routing.ErrNotFound) {
		refuse(w, http.StatusBadRequest, "bad-request", "after", "after must be the id of an interaction")
		return
	}
	if err != nil {
		h.log.Error("admin: list interactions", "err", err)
		refuse(w, http.StatusServiceUnavailable, "unavailable", "", "cannot read the interactions now")
		return
	}
	if list == nil {
		list = []routing.Interaction{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

// events streams interaction changes as Server-Sent Events: one event per
// change, named interaction.created, interaction.updated or
// interaction.closed, with the change as JSON data and its Seq as id.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	after := uint64(0)
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("lastEventId")
	}
	if last != "" {
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			refuse(w, http.StatusBadRequest, "bad-request", "Last-Event-ID", "Last-Event-ID must be the id of an earlier event")
			return
		}
		after = n
	}
	sub, missed := h.opts.Router.Subscribe(r.URL.Query().Get("queue"), after)
	defer sub.Close()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(s string) bool {
		rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	hello := "retry: 3000\n: confab interaction events\n\n"
	if missed {
		hello += "event: reset\ndata: {\"reason\":\"changes after the given id are no longer kept; list the interactions again\"}\n\n"
	}
	if !write(hello) {
		return
	}
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case c := <-sub.C():
			data, err := json.Marshal(c)
			if err != nil {
				h.log.Error("admin: encode change", "err", err)
				continue
			}
			if !write(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", c.Seq, c.Event(), data)) {
				return
			}
		case <-sub.Done():
			if sub.Err() != nil {
				write("event: error\ndata: {\"reason\":\"slow consumer\"}\n\n")
			}
			return
		case <-beat.C:
			if !write(": keepalive\n\n") {
				return
			}
		case <-h.stop:
			write("event: error\ndata: {\"reason\":\"server shutting down\"}\n\n")
			return
		case <-r.Context().Done():
			return
		}
	}
}

// FlushOnShutdown returns the shutdown hook of the admin API and routing:
// end the event streams, then wait (at most 10 s, or until ctx ends) until
// routing has written every change to the store.
func (h *Handler) FlushOnShutdown() func(context.Context) {
	return func(ctx context.Context) {
		h.Shutdown()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := h.opts.Router.Flush(ctx); err != nil {
			h.log.Warn("admin: routing not flushed at shutdown", "err", err)
		}
	}
}
