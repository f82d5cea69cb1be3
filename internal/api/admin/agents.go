package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// maxAgentBody bounds the body of an agent request.
const maxAgentBody = 16 << 10

func (h *Handler) registerAgents(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/agents", h.auth(h.listAgents))
	mux.HandleFunc("POST /api/v1/agents", h.auth(h.addAgent))
	mux.HandleFunc("GET /api/v1/agents/{id}", h.auth(h.getAgent))
	mux.HandleFunc("PATCH /api/v1/agents/{id}", h.auth(h.updateAgent))
	mux.HandleFunc("DELETE /api/v1/agents/{id}", h.auth(h.removeAgent))
	mux.HandleFunc("GET /api/v1/routing", h.auth(h.routingStatus))
	mux.HandleFunc("/api/v1/agents", h.auth(methodNotAllowed("GET, POST")))
	mux.HandleFunc("/api/v1/agents/{id}", h.auth(methodNotAllowed("GET, PATCH, DELETE")))
	mux.HandleFunc("/api/v1/routing", h.auth(methodNotAllowed(http.MethodGet)))
}

// agentJSON is an account as the API shows it, with its live routing
// status when the agent is logged in.
type agentJSON struct {
	ID        string               `json:"id"`
	Name      string               `json:"name"`
	Type      store.UserType       `json:"type"`
	Queues    []string             `json:"queues"`
	Capacity  int                  `json:"capacity"`
	CreatedAt time.Time            `json:"createdAt"`
	Status    *routing.AgentStatus `json:"status,omitempty"`
	// Token is set once, in the answer that created or rotated it.
	Token string `json:"token,omitempty"`
}

func toJSON(a store.Agent, live map[string]routing.AgentStatus) agentJSON {
	j := agentJSON{ID: a.ID, Name: a.Name, Type: a.Type, Queues: a.Queues, Capacity: a.Capacity, CreatedAt: a.CreatedAt}
	if j.Queues == nil {
		j.Queues = []string{}
	}
	if s, ok := live[a.ID]; ok {
		j.Status = &s
	}
	return j
}

func (h *Handler) live() map[string]routing.AgentStatus {
	m := map[string]routing.AgentStatus{}
	for _, s := range h.opts.Router.Agents() {
		m[s.ID] = s
	}
	return m
}

// agentBody is the body of POST and PATCH /api/v1/agents. Absent fields
// of a PATCH keep their values.
type agentBody struct {
	ID          *string   `json:"id"`
	Name        *string   `json:"name"`
	Type        *string   `json:"type"`
	Queues      *[]string `json:"queues"`
	Capacity    *int      `json:"capacity"`
	RotateToken bool      `json:"rotateToken"`
}

// fieldError is a refused request body naming the field.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.msg }

// decodeAgentBody decodes and checks an agent request body.
func decodeAgentBody(data []byte) (agentBody, error) {
	var b agentBody
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return b, &fieldError{te.Field, fmt.Sprintf("field %s has the wrong JSON type", te.Field)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return b, &fieldError{f, fmt.Sprintf("unknown field %q", f)}
		}
		return b, &fieldError{"", "the body must be one JSON object: " + err.Error()}
	}
	if dec.More() {
		return b, &fieldError{"", "trailing data after the JSON object"}
	}
	if b.ID != nil && (strings.TrimSpace(*b.ID) == "" || len(*b.ID) > 128 || strings.ContainsAny(*b.ID, "/?#\x00")) {
		return b, &fieldError{"id", "id must be 1 to 128 characters without / ? # or NUL"}
	}
	if b.Name != nil && len(*b.Name) > 256 {
		return b, &fieldError{"name", "name is longer than 256 bytes"}
	}
	if b.Type != nil {
		switch store.UserType(strings.ToUpper(*b.Type)) {
		case store.UserAgent, store.UserSupervisor, store.UserBot:
		default:
			return b, &fieldError{"type", "type must be AGENT, SUPERVISOR or BOT"}
		}
	}
	if b.Capacity != nil && (*b.Capacity < 1 || *b.Capacity > store.MaxCapacity) {
		return b, &fieldError{"capacity", fmt.Sprintf("capacity must be 1 to %d", store.MaxCapacity)}
	}
	if b.Queues != nil {
		if len(*b.Queues) > 256 {
			return b, &fieldError{"queues", "at most 256 queues"}
		}
		for _, q := range *b.Queues {
			if strings.TrimSpace(q) == "" || strings.ContainsAny(q, ",\x00") || len(q) > 128 {
				return b, &fieldError{"queues", "queue names must be 1 to 128 characters without commas"}
			}
		}
	}
	return b, nil
}

func (b *agentBody) apply(a *store.Agent) {
	if b.Name != nil {
		a.Name = *b.Name
	}
	if b.Type != nil {
		a.Type = store.UserType(strings.ToUpper(*b.Type))
	}
	if b.Queues != nil {
		a.Queues = *b.Queues
	}
	if b.Capacity != nil {
		a.Capacity = *b.Capacity
	}
}

func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (agentBody, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxAgentBody+1))
	if err != nil {
		refuse(w, http.StatusBadRequest, "bad-request", "", "cannot read the body")
		return agentBody{}, false
	}
	if len(data) > maxAgentBody {
		refuse(w, http.StatusRequestEntityTooLarge, "too-large", "", fmt.Sprintf("the body is larger than %d bytes", maxAgentBody))
		return agentBody{}, false
	}
	b, err := decodeAgentBody(data)
	if err != nil {
		var fe *fieldError
		errors.As(err, &fe)
		refuse(w, http.StatusBadRequest, "bad-request", fe.field, fe.msg)
		return agentBody{}, false
	}
	return b, true
}

func (h *Handler) agentsOr404(w http.ResponseWriter) bool {
	if h.opts.Agents == nil {
		refuse(w, http.StatusNotFound, "not-found", "", "this node keeps no agent accounts")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *Handler) storeFailed(w http.ResponseWriter, what string, err error) {
	h.log.Error("admin: "+what, "err", err)
	refuse(w, http.StatusServiceUnavailable, "unavailable", "", "cannot "+what+" now")
}

func (h *Handler) listAgents(w http.ResponseWriter, r *http.Request) {
	if !h.agentsOr404(w) {
		return
	}
	list, err := h.opts.Agents.ListAgents(r.Context())
	if err != nil {
		h.storeFailed(w, "list the agents", err)
		return
	}
	live := h.live()
	out := make([]agentJSON, 0, len(list))
	for _, a := range list {
		out = append(out, toJSON(a, live))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getAgent(w http.ResponseWriter, r *http.Request) {
	if !h.agentsOr404(w) {
		return
	}
	a, err := h.opts.Agents.GetAgent(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", "no agent "+r.PathValue("id"))
		return
	}
	if err != nil {
		h.storeFailed(w, "read the agent", err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(a, h.live()))
}

func (h *Handler) addAgent(w http.ResponseWriter, r *http.Request) {
	if !h.agentsOr404(w) {
		return
	}
	b, ok := h.readBody(w, r)
	if !ok {
		return
	}
	if b.ID == nil {
		refuse(w, http.StatusBadRequest, "bad-request", "id", "id is required")
		return
	}
	if b.RotateToken {
		refuse(w, http.StatusBadRequest, "bad-request", "rotateToken", "a new account always gets a new token")
		return
	}
	a := store.Agent{ID: *b.ID, Name: *b.ID, Type: store.UserAgent}
	b.apply(&a)
	tok, hash := h.opts.NewToken()
	a.TokenHash = hash
	err := h.opts.Agents.AddAgent(r.Context(), a)
	if errors.Is(err, store.ErrExists) {
		refuse(w, http.StatusConflict, "exists", "id", "agent "+a.ID+" already exists")
		return
	}
	if errors.Is(err, store.ErrInvalid) {
		refuse(w, http.StatusBadRequest, "bad-request", "", err.Error())
		return
	}
	if err != nil {
		h.storeFailed(w, "add the agent", err)
		return
	}
	a, err = h.opts.Agents.GetAgent(r.Context(), a.ID)
	if err != nil {
		h.storeFailed(w, "read the agent", err)
		return
	}
	j := toJSON(a, nil)
	j.Token = tok
	writeJSON(w, http.StatusCreated, j)
}

func (h *Handler) updateAgent(w http.ResponseWriter, r *http.Request) {
	if !h.agentsOr404(w) {
		return
	}
	b, ok := h.readBody(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if b.ID != nil && *b.ID != id {
		refuse(w, http.StatusBadRequest, "bad-request", "id", "the id of an account cannot change")
		return
	}
	a, err := h.opts.Agents.GetAgent(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", "no agent "+id)
		return
	}
	if err != nil {
		h.storeFailed(w, "read the agent", err)
		return
	}
	b.apply(&a)
	a.TokenHash = nil
	var tok string
	if b.RotateToken {
		tok, a.TokenHash = h.opts.NewToken()
	}
	if err := h.opts.Agents.UpdateAgent(r.Context(), a); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			refuse(w, http.StatusBadRequest, "bad-request", "", err.Error())
			return
		}
		h.storeFailed(w, "update the agent", err)
		return
	}
	a, err = h.opts.Agents.GetAgent(r.Context(), id)
	if err != nil {
		h.storeFailed(w, "read the agent", err)
		return
	}
	j := toJSON(a, h.live())
	j.Token = tok
	writeJSON(w, http.StatusOK, j)
}

func (h *Handler) removeAgent(w http.ResponseWriter, r *http.Request) {
	if !h.agentsOr404(w) {
		return
	}
	err := h.opts.Agents.RemoveAgent(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusNotFound, "not-found", "id", "no agent "+r.PathValue("id"))
		return
	}
	if err != nil {
		h.storeFailed(w, "remove the agent", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// routingStatus serves GET /api/v1/routing: the queues (with the unserved
// ones marked), the logged-in agents and routing's counters.
func (h *Handler) routingStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"queues":   h.opts.Router.Queues(),
		"agents":   h.opts.Router.Agents(),
		"counters": h.opts.Router.Counters(),
	})
}
