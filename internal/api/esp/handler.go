package esp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	wire "github.com/confab/confab/client/esp"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/validate"
)

// Options configure a Handler.
type Options struct {
	Engine *chat.Engine
	Router *routing.Router
	// Token returns the live [esp] token; requests must carry it.
	Token func() string
	// MaxBody returns the largest request body read
	// (xml-request-max-size); default 32768.
	MaxBody func() int
	Clock   clock.Clock // default: the engine's clock
	Log     *slog.Logger
	// DefaultNickname names the workflow party when a request gives no
	// Nickname; default "workflow".
	DefaultNickname string
}

// Handler serves /esp/.
type Handler struct {
	opts  Options
	clock clock.Clock
	log   *slog.Logger
	win   durableWindow
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.MaxBody == nil {
		opts.MaxBody = func() int { return 32768 }
	}
	if opts.DefaultNickname == "" {
		opts.DefaultNickname = "workflow"
	}
	h := &Handler{opts: opts, clock: opts.Clock, log: opts.Log}
	if h.clock == nil {
		h.clock = opts.Engine.Clock()
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Register mounts the workflow API.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /esp/{service}/{method}", h.serve)
	mux.HandleFunc("/esp/", h.other)
}

// fault is a refusal: an HTTP status and the reply's fault.
type fault struct {
	status int
	wire.Fault
}

func newFault(status, code int, param, format string, args ...any) *fault {
	return &fault{status: status, Fault: wire.Fault{FaultCode: code, FaultString: fmt.Sprintf(format, args...), Parameter: param}}
}

func (h *Handler) other(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		h.refuse(w, unauthorized())
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, newFault(http.StatusMethodNotAllowed, wire.FaultMethodNotAllowed, "", "use POST /esp/Chat/{Method}"))
		return
	}
	h.refuse(w, newFault(http.StatusNotFound, wire.FaultUnknownMethod, "", "no method at %s; use POST /esp/Chat/{Method}", r.URL.Path))
}

func unauthorized() *fault {
	return newFault(http.StatusUnauthorized, wire.FaultUnauthorized, "", "missing or wrong bearer token ([esp] token)")
}

// authorized compares the bearer token with the [esp] token in constant
// time (on digests, so lengths leak nothing either).
func (h *Handler) authorized(r *http.Request) bool {
	want := h.opts.Token()
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if want == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	a, b := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		h.refuse(w, unauthorized())
		return
	}
	if svc := r.PathValue("service"); svc != "Chat" {
		h.refuse(w, newFault(http.StatusNotFound, wire.FaultUnknownService, "", "unknown service %q: the only service is Chat", svc))
		return
	}
	name := r.PathValue("method")
	m, ok := methods[name]
	if !ok {
		h.refuse(w, newFault(http.StatusNotFound, wire.FaultUnknownMethod, "", "unknown method %q of service Chat", name))
		return
	}
	limit := h.opts.MaxBody()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, newFault(http.StatusRequestEntityTooLarge, wire.FaultTooLarge, "", "body larger than %d bytes (xml-request-max-size)", limit))
			return
		}
		h.refuse(w, newFault(http.StatusBadRequest, wire.FaultBadRequest, "", "read body: %v", err))
		return
	}
	p, f := decodeParams(body)
	if f != nil {
		h.refuse(w, f)
		return
	}
	reply, f := h.call(r.Context(), name, m, p)
	if f != nil {
		h.refuse(w, f)
		return
	}
	writeReply(w, reply)
}

func (h *Handler) refuse(w http.ResponseWriter, f *fault) {
	w.Header().Set("Content-Type", "application/json")
	if f.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="confab-esp"`)
	}
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(f.Fault)
}

// params are a request's parameters, every value a string (key-value
// parameters given as JSON objects are kept as their JSON text).
type params map[string]string

// kvParams may be given as JSON objects as well as strings.
var kvParams = map[string]bool{"EventAttributes": true, "UserData": true}

// decodeParams decodes a request body: a JSON object whose values are
// strings (or, for EventAttributes and UserData, objects). An empty body is
// an empty object.
func decodeParams(body []byte) (params, *fault) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return params{}, nil
	}
	if t[0] != '{' {
		return nil, newFault(http.StatusBadRequest, wire.FaultBadRequest, "", "the body must be a JSON object of string parameters")
	}
	if p, ok := decodeFlat(t); ok {
		return p, nil // no nesting: the depth check has nothing to refuse
	}
	return decodeParamsJSON(t)
}

// decodeParamsJSON is decodeParams through encoding/json, for the bodies
// decodeFlat does not take; t is the trimmed body and starts with '{'.
func decodeParamsJSON(t []byte) (params, *fault) {
	if kv.JSONDepth(t, kv.MaxDepth+1) > kv.MaxDepth+1 {
		return nil, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, "", "the body is nested deeper than %d levels (key-value parameters at most %d)", kv.MaxDepth+1, kv.MaxDepth)
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(t, &raw) != nil {
		// Only a malformed body takes the decoder (no buffer of its own
		// per request otherwise), for its more precise answers.
		dec := json.NewDecoder(bytes.NewReader(t))
		raw = nil
		if err := dec.Decode(&raw); err != nil {
			return nil, newFault(http.StatusBadRequest, wire.FaultBadRequest, "", "malformed JSON: %v", err)
		}
		if dec.More() {
			return nil, newFault(http.StatusBadRequest, wire.FaultBadRequest, "", "malformed JSON: trailing data after the object")
		}
		return nil, newFault(http.StatusBadRequest, wire.FaultBadRequest, "", "malformed JSON")
	}
	p := make(params, len(raw))
	for k, v := range raw {
		if !validate.JSONText(v) {
			return nil, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, k, "%s: %s", k, validate.ReasonUTF8)
		}
		switch {
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, newFault(http.StatusBadRequest, wire.FaultBadRequest, k, "parameter %s: %v", k, err)
			}
			p[k] = s
		case kvParams[k] && len(v) > 0 && v[0] == '{':
			p[k] = string(v) // kept as JSON text, checked as UTF-8 above
		default:
			return nil, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, k, "parameter %s must be a string", k)
		}
	}
	return p, nil
}

// boolean reads a boolean parameter: only "true" is true.
func (p params) boolean(k string) bool { return p[k] == "true" }

// kvParam parses a key-value parameter in the JSON or list-like form.
func (p params) kvParam(k string) (kv.Map, *fault) {
	s, ok := p[k]
	if !ok || strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m, err := kv.Parse(s)
	if err != nil {
		return nil, newFault(http.StatusBadRequest, wire.FaultInvalidParameter, k, "parameter %s: %v", k, err)
	}
	return m, nil
}

// kvChecked is kvParam after the shared rules for the field.
func (p params) kvChecked(k string, vf validate.Field, lim validate.Limits) (kv.Map, *fault) {
	m, f := p.kvParam(k)
	if f != nil {
		return nil, f
	}
	if pr := validate.KV(vf, m, lim); pr != nil {
		return nil, problemFault(k, pr)
	}
	return m, nil
}

// text returns parameter k after the shared rules for the field.
func (p params) text(k string, vf validate.Field, lim validate.Limits) (string, *fault) {
	v := p[k]
	if pr := validate.Text(vf, v, lim); pr != nil {
		return "", problemFault(k, pr)
	}
	return v, nil
}

// problemFault refuses parameter k for a shared-rule problem: the fault
// string is the parameter's name and the reason every API gives.
func problemFault(k string, pr *validate.Problem) *fault {
	status := http.StatusBadRequest
	if pr.Kind == validate.TooLong {
		status = http.StatusRequestEntityTooLarge
	}
	return newFault(status, wire.FaultInvalidParameter, k, "%s: %s", k, pr.Reason)
}

// limits are the shared field limits under the live xml-request-max-size.
func (h *Handler) limits() validate.Limits { return validate.LimitsFor(h.opts.MaxBody()) }

// method is one method of service Chat.
type method struct {
	// onClosed lets the method run on a closed (not yet purged) session.
	onClosed bool
	run      func(h *Handler, ctx context.Context, s *chat.Session, p params) (wire.Reply, *fault)
}

var methods = map[string]method{
	wire.MethodMessage:              {run: (*Handler).message},
	wire.MethodNotice:               {run: (*Handler).notice},
	wire.MethodPlaceOnHold:          {run: (*Handler).placeOnHold},
	wire.MethodCloseSession:         {run: (*Handler).closeSession, onClosed: true},
	wire.MethodGetSessionInfo:       {run: (*Handler).sessionInfo},
	wire.MethodIdleControlConfigure: {run: (*Handler).idleControl},
	wire.MethodConfigureSession:     {run: (*Handler).configure},
}

// call finds the session and runs the method.
func (h *Handler) call(ctx context.Context, name string, m method, p params) (wire.Reply, *fault) {
	id := p["InteractionId"]
	if id == "" {
		ud, f := p.kvParam("UserData")
		if f != nil {
			return wire.Reply{}, f
		}
		id = ud.String("InteractionId")
	}
	if id == "" {
		return wire.Reply{}, newFault(http.StatusBadRequest, wire.FaultMissingParameter, "InteractionId", "parameter InteractionId is required")
	}
	s, err := h.opts.Engine.Get(id)
	if err != nil {
		return wire.Reply{}, newFault(http.StatusNotFound, wire.FaultUnknownInteraction, "InteractionId", "no chat session for interaction %q on this node", id)
	}
	if !m.onClosed && s.State() == chat.Closed {
		return wire.Reply{}, newFault(http.StatusConflict, wire.FaultSessionClosed, "InteractionId", "the chat session of interaction %q is closed", id)
	}
	return m.run(h, ctx, s, p)
}

// actionFault turns an engine or router error met while acting into a fault.
func actionFault(err error, param string) *fault {
	switch {
	case errors.Is(err, chat.ErrNotFound), errors.Is(err, routing.ErrNotFound):
		return newFault(http.StatusNotFound, wire.FaultUnknownInteraction, "InteractionId", "%v", err)
	case errors.Is(err, chat.ErrClosed), errors.Is(err, routing.ErrClosed):
		return newFault(http.StatusConflict, wire.FaultSessionClosed, "InteractionId", "%v", err)
	case errors.Is(err, routing.ErrNotAsync):
		return newFault(http.StatusConflict, wire.FaultNotAsync, "", "%v", err)
	case errors.Is(err, chat.ErrRate):
		return newFault(http.StatusTooManyRequests, wire.FaultRateLimited, "", "%v", err)
	case errors.Is(err, chat.ErrFull):
		return newFault(http.StatusConflict, wire.FaultSessionFull, "", "%v", err)
	case errors.Is(err, chat.ErrInvalid), errors.Is(err, chat.ErrVisibility):
		return newFault(http.StatusBadRequest, wire.FaultInvalidParameter, param, "%v", err)
	}
	return newFault(http.StatusInternalServerError, wire.FaultInternal, "", "%v", err)
}

// durable waits until the receipts (first, then last) are durable, for at
// most durableTimeout (less at most a second: see durableWindow).
func (h *Handler) durable(first []chat.Receipt, last chat.Receipt) *fault {
	if last.Done() && len(first) == 0 {
		return nil
	}
	ctx := h.win.get()
	for _, rc := range first {
		if err := rc.Wait(ctx); err != nil {
			return storageFault(err)
		}
	}
	if err := last.Wait(ctx); err != nil {
		return storageFault(err)
	}
	return nil
}

func storageFault(err error) *fault {
	return newFault(http.StatusServiceUnavailable, wire.FaultStorage, "", "applied, but the store did not confirm it: %v", err)
}

// durableTimeout bounds a method's wait for the store's confirmation.
const durableTimeout = 30 * time.Second

// durableWindow is the handler's bound on waiting for durability: one
// context with a deadline durableTimeout ahead, shared by every request and
// renewed once it is a second old, so that a wait has at least
// durableTimeout less a second without a context and a timer per request.
// The wait does not end when the client goes away: it ends at the commit
// (milliseconds) or the bound, as an acknowledged change is applied anyway.
type durableWindow struct {
	mu     sync.Mutex // guards the following
	ctx    context.Context
	cancel context.CancelFunc
	made   time.Time
}

func (w *durableWindow) get() context.Context {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || now.Sub(w.made) > time.Second {
		// The old context is not cancelled: waits still on it keep their
		// deadline; its timer ends it then.
		w.ctx, w.cancel = context.WithTimeout(context.Background(), durableTimeout)
		w.made = now
	}
	return w.ctx
}

func (h *Handler) stamp(t time.Time) string { return t.UTC().Format(wire.TimeFormat) }
