package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/confab/confab/internal/kpi"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// Path is where the console's picture is served.
const Path = "/agent/v1/console"

const storeTimeout = 10 * time.Second

// Options configure a Handler.
type Options struct {
	Router *routing.Router
	// Agents are the accounts (token look-up, names).
	Agents store.Agents
	// HashToken is how agent tokens are stored (agent.HashToken).
	HashToken func(token string) []byte
	// AdminToken returns the live [admin] token, which sees every queue;
	// nil admits supervisors only.
	AdminToken func() string
	// Counters are the node's KPI counters; nil leaves kpi out.
	Counters *kpi.Set
	// Now is the clock (clock.Clock's Now); nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Handler serves the console's picture.
type Handler struct {
	opts Options
	log  *slog.Logger
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, log: opts.Log}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Register mounts GET /agent/v1/console.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, h.serve)
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodGet)
		refuse(w, http.StatusMethodNotAllowed, "method-not-allowed", r.Method+" "+Path+" is not allowed; use GET")
	})
}

// Picture is the console's answer.
type Picture struct {
	Time time.Time `json:"time"`
	// Supervisor is the account asking ("" with the admin token); Queues
	// its queues (every queue routing knows with the admin token).
	Supervisor   string        `json:"supervisor"`
	Queues       []Queue       `json:"queues"`
	Agents       []Agent       `json:"agents"`
	Interactions []Interaction `json:"interactions"`
	KPI          []Figure      `json:"kpi"`
}

// Queue is one queue's live figures.
type Queue struct {
	Name string `json:"name"`
	// Waiting counts the chats queued (not yet accepted), OldestSince the
	// creation time of the oldest of them and OldestWaitSeconds its wait.
	Waiting           int        `json:"waiting"`
	OldestSince       *time.Time `json:"oldestSince,omitempty"`
	OldestWaitSeconds int64      `json:"oldestWaitSeconds"`
	Offered           int        `json:"offered"`
	Agents            int        `json:"agents"`
	Available         int        `json:"available"`
	Unserved          bool       `json:"unserved"`
}

// Agent is a logged-in agent serving one of the queues.
type Agent struct {
	routing.AgentStatus
	Name string `json:"name"`
}

// Interaction is a live chat of one of the queues.
type Interaction struct {
	ID        string        `json:"id"`
	SessionID string        `json:"sessionId"`
	Queue     string        `json:"queue"`
	Subject   string        `json:"subject,omitempty"`
	State     routing.State `json:"state"`
	Async     bool          `json:"async"`
	AgentID   string        `json:"agentId,omitempty"`
	// Agents are the logged-in agents in the chat (by routing's load).
	Agents      []string  `json:"agents,omitempty"`
	Customer    string    `json:"customer,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	WaitSeconds int64     `json:"ageSeconds"`
	// UserData is the attached data, shown beside a monitored chat.
	UserData kv.Map `json:"userData"`
}

// Figure is one KPI counter.
type Figure struct {
	Name        string `json:"name"`
	Value       int64  `json:"value"`
	Description string `json:"description"`
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	queues, who, ok := h.auth(w, r)
	if !ok {
		return
	}
	now := h.opts.Now()
	mine := func(q string) bool { return queues == nil || slices.Contains(queues, q) }
	pic := Picture{Time: now, Supervisor: who, Queues: []Queue{}, Agents: []Agent{}, Interactions: []Interaction{}, KPI: []Figure{}}

	byName := map[string]*Queue{}
	order := []string{}
	get := func(name string) *Queue {
		if q := byName[name]; q != nil {
			return q
		}
		byName[name] = &Queue{Name: name}
		order = append(order, name)
		return byName[name]
	}
	for _, q := range queues {
		get(q)
	}
	for _, s := range h.opts.Router.Queues() {
		if !mine(s.Name) {
			continue
		}
		q := get(s.Name)
		q.Offered, q.Agents, q.Available, q.Unserved = s.Offered, s.Agents, s.Available, s.Unserved
	}
	for _, v := range h.opts.Router.Waiting("") {
		if !mine(v.Queue) {
			continue
		}
		q := get(v.Queue)
		q.Waiting++
		if q.OldestSince == nil || v.CreatedAt.Before(*q.OldestSince) {
			t := v.CreatedAt
			q.OldestSince = &t
			q.OldestWaitSeconds = max(0, int64(now.Sub(t)/time.Second))
		}
	}
	slices.Sort(order)
	for _, n := range order {
		pic.Queues = append(pic.Queues, *byName[n])
	}

	names := h.names(r.Context())
	inChat := map[string][]string{}
	for _, a := range h.opts.Router.Agents() {
		if !slices.ContainsFunc(a.Queues, mine) {
			continue
		}
		pic.Agents = append(pic.Agents, Agent{AgentStatus: a, Name: names[a.ID]})
		for _, id := range a.Interactions {
			inChat[id] = append(inChat[id], a.ID)
		}
	}
	for _, v := range h.opts.Router.Live("") {
		if !mine(v.Queue) {
			continue
		}
		pic.Interactions = append(pic.Interactions, Interaction{ID: v.ID, SessionID: v.SessionID, Queue: v.Queue, Subject: v.Subject,
			State: v.State, Async: v.Async, AgentID: v.AgentID, Agents: inChat[v.ID], Customer: customer(v),
			CreatedAt: v.CreatedAt, WaitSeconds: max(0, int64(now.Sub(v.CreatedAt)/time.Second)), UserData: v.UserData})
	}
	if h.opts.Counters != nil {
		desc := map[string]string{}
		for _, m := range h.opts.Counters.Metadata() {
			desc[m.Name] = m.Description
		}
		for _, v := range h.opts.Counters.NewReader().Snapshot(kpi.ContentAll) {
			pic.KPI = append(pic.KPI, Figure{Name: v.Name, Value: v.Value, Description: desc[v.Name]})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(pic)
}

// customer names the chat's customer from its user data.
func customer(v routing.Interaction) string {
	first, last := v.UserData.String("FirstName"), v.UserData.String("LastName")
	switch {
	case first != "" && last != "":
		return first + " " + last
	case first != "" || last != "":
		return first + last
	}
	return v.UserData.String("EmailAddress")
}

// names maps account ids to names; a store failure leaves names out.
func (h *Handler) names(ctx context.Context) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	list, err := h.opts.Agents.ListAgents(ctx)
	if err != nil {
		h.log.Warn("console: list agents", "err", err)
		return nil
	}
	m := make(map[string]string, len(list))
	for _, a := range list {
		m[a.ID] = a.Name
	}
	return m
}

// auth returns the queues the caller may see (nil: every queue) and its
// account id; it answers the refusal itself.
func (h *Handler) auth(w http.ResponseWriter, r *http.Request) (queues []string, who string, ok bool) {
	tok := bearer(r)
	if tok == "" {
		refuse(w, http.StatusUnauthorized, "unauthorized", "a supervisor's agent token (Authorization: Bearer) is required")
		return nil, "", false
	}
	if h.opts.AdminToken != nil {
		if adm := h.opts.AdminToken(); adm != "" {
			a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(adm))
			if subtle.ConstantTimeCompare(a[:], b[:]) == 1 {
				return nil, "", true
			}
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	acc, err := h.opts.Agents.GetAgentByTokenHash(ctx, h.opts.HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusUnauthorized, "unauthorized", "the token is not valid")
		return nil, "", false
	}
	if err != nil {
		h.log.Error("console: look up token", "err", err)
		refuse(w, http.StatusServiceUnavailable, "unavailable", "cannot check the token now")
		return nil, "", false
	}
	if acc.Type != store.UserSupervisor {
		refuse(w, http.StatusForbidden, "forbidden", "the console is for supervisors; account "+acc.ID+" is "+string(acc.Type))
		return nil, "", false
	}
	if acc.Queues == nil {
		acc.Queues = []string{} // a supervisor of no queue sees none, not all
	}
	return acc.Queues, acc.ID, true
}

func bearer(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > 7 && (a[:7] == "Bearer " || a[:7] == "bearer ") {
		return a[7:]
	}
	return r.URL.Query().Get("access_token")
}

func refuse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="confab-agent"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}
