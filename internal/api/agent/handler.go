package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/wsbatch"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/runq"
	"github.com/confab/confab/internal/store"
)

// AgentStore finds agents by the hash of their token, and by id (the
// targets of transfers and invitations).
type AgentStore interface {
	GetAgentByTokenHash(ctx context.Context, hash []byte) (store.Agent, error)
	GetAgent(ctx context.Context, id string) (store.Agent, error)
}

// Options configure a Handler.
type Options struct {
	Engine *chat.Engine
	Router *routing.Router
	Agents AgentStore
	// MaxFrame returns the largest frame read (xml-request-max-size);
	// default 32768.
	MaxFrame func() int
	// OriginPatterns are the browser origins allowed besides the server's
	// own (see websocket.AcceptOptions); non-browser clients send none.
	OriginPatterns []string
	// Queue is how many frames may wait for a slow socket; default 256.
	// Session watchers hold back while it is over half full
	// (backpressure.go); a full queue closes the socket (4001).
	Queue int
	// QueueBytes is the size in bytes of queued frames over half of which
	// watchers hold back too; default 4 MiB.
	QueueBytes int
	// Clock times how long watchers may stay held back (WriteTimeout)
	// before the socket is closed as a slow consumer; default the wall
	// clock.
	Clock clock.Clock
	// WriteTimeout bounds every write, and how long watchers may stay
	// held back by a backlogged queue before the socket is closed as a
	// slow consumer; default 10s.
	WriteTimeout time.Duration
	// PingInterval is how often an idle socket is pinged; default 30s.
	PingInterval time.Duration
	// MaxSessions caps the sessions one socket may be in; default 100.
	MaxSessions int
	// Runners is how many goroutines at most run the sockets' session
	// watchers (internal/runq); default twice GOMAXPROCS.
	Runners int
	// History reads the contact's earlier interactions (op history); nil
	// answers op history with an empty list.
	History store.Interactions
	// KnownQueue reports whether a queue exists (configured, or served by
	// an agent account); transfers and invitations to other queues are
	// refused. Nil accepts every queue.
	KnownQueue func(string) bool
	Log        *slog.Logger
	// Connected and SlowConsumer, when set, are told when a socket opens
	// (true) or closes (false), and when one is closed as a slow consumer:
	// the node's counters.
	Connected    func(open bool)
	SlowConsumer func()
	// Files completes file-uploaded notices (documents.go); nil passes them
	// unchanged.
	Files FileAttacher
	// Cluster, when set, locates sessions that live on other nodes: the
	// socket's operations on them are relayed there (relay.go).
	Cluster Cluster
	// Frame, when set, is told of every request frame: its op (one of the
	// known ops, or "invalid" for a frame that did not decode), how long
	// applying it took (not the wait until it is durable) and whether it
	// was answered with an error.
	Frame func(op string, took time.Duration, failed bool)
}

// counted reports one request frame to Options.Frame.
func (h *Handler) counted(op string, began time.Time, failed bool) {
	if h.opts.Frame != nil {
		h.opts.Frame(op, time.Since(began), failed)
	}
}

// Handler serves the agent WebSocket.
type Handler struct {
	opts Options
	log  *slog.Logger
	// dropped counts server-owned user-data keys agents sent at join.
	dropped atomic.Int64
	// bufs recycles encoded frames (*[]byte) once the writer sent them.
	bufs sync.Pool
	// ackPool recycles the *pendingAck carried to the acknowledgers.
	ackPool sync.Pool
	// watchBufs recycles the watchers' read buffers (watchbuf.go).
	watchBufs watchBufs
	// runners run the sockets' session watchers (internal/runq).
	runners *runq.Pool[*watcher]
	// fastFrames: the hand-made frame encoder knows the wire types.
	fastFrames bool

	mu       sync.Mutex // guards the following
	conns    map[*conn]struct{}
	stopping bool
	wg       sync.WaitGroup // one per live connection
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.MaxFrame == nil {
		opts.MaxFrame = func() int { return 32768 }
	}
	if opts.Queue <= 0 {
		opts.Queue = 256
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = defaultQueueBytes
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 100
	}
	if opts.Runners <= 0 {
		opts.Runners = runq.DefaultRunners()
	}
	h := &Handler{opts: opts, log: opts.Log, conns: make(map[*conn]struct{}), fastFrames: wireLayoutKnown(),
		runners: runq.New(opts.Runners, (*watcher).resume)}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// DroppedKeys returns how many server-owned user-data keys agents sent at
// join and the handler dropped (a metric for the node's counters).
func (h *Handler) DroppedKeys() int64 { return h.dropped.Load() }

// Register mounts the WebSocket endpoint; other methods on its path get a
// JSON 405.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+wire.Path, h.serveWS)
	mux.HandleFunc(wire.Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodGet)
		refuse(w, http.StatusMethodNotAllowed, "method-not-allowed", "use GET with a WebSocket handshake on "+wire.Path)
	})
}

// notUpgrade says why r is not a WebSocket handshake the library will
// accept ("" if it is), so that a plain GET gets a JSON answer rather than
// the library's plain text.
func notUpgrade(r *http.Request) string {
	switch {
	case !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket"):
		return "this is a WebSocket endpoint: send a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "Sec-WebSocket-Version must be 13"
	case r.Header.Get("Sec-WebSocket-Key") == "":
		return "Sec-WebSocket-Key is missing"
	}
	return ""
}

// headerHas reports whether a comma-separated header lists token (any case).
func headerHas(hd http.Header, name, token string) bool {
	for _, v := range hd.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// HashToken is how agent tokens are stored: SHA-256 of the token. Tokens are
// long random strings, so a fast hash is enough.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// NewToken returns a new random agent token (256 bits, URL-safe base64).
func NewToken() string {
	var b [32]byte
	rand.Read(b[:])
	return "cfa_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// BearerToken returns the token of an "Authorization: Bearer" header, or
// of the access_token query parameter when there is no header.
func BearerToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		return strings.TrimSpace(tok)
	}
	return r.URL.Query().Get("access_token")
}

func (h *Handler) serveWS(w http.ResponseWriter, r *http.Request) {
	tok := BearerToken(r)
	if tok == "" {
		refuse(w, http.StatusUnauthorized, "unauthorized", "an agent token is required (Authorization: Bearer <token>)")
		return
	}
	a, err := h.opts.Agents.GetAgentByTokenHash(r.Context(), HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		refuse(w, http.StatusUnauthorized, "unauthorized", "the agent token is not valid")
		return
	}
	if err != nil {
		h.log.Error("agent: look up token", "err", err)
		refuse(w, http.StatusServiceUnavailable, "unavailable", "cannot check the token now")
		return
	}
	if why := notUpgrade(r); why != "" {
		w.Header().Set("Upgrade", "websocket")
		refuse(w, http.StatusUpgradeRequired, "upgrade-required", why)
		return
	}
	h.mu.Lock()
	stopping := h.stopping
	if !stopping {
		h.wg.Add(1)
	}
	h.mu.Unlock()
	if stopping {
		refuse(w, http.StatusServiceUnavailable, "unavailable", "the server is shutting down")
		return
	}
	defer h.wg.Done()
	// The socket is corkable: the writer sends the frames queued at one
	// moment (several sessions' events, answers) in one write.
	ws, cork, err := wsbatch.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.opts.OriginPatterns})
	if err != nil {
		return // Accept has answered the request
	}
	ws.SetReadLimit(-1) // the reader enforces the frame limit itself
	c := newConn(h, ws, a)
	c.token, c.forwarded = tok, r.Header.Get(ForwardedBy) != ""
	c.cork = cork
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	began := time.Now()
	h.log.Info("agent connected", "agent", a.ID, "type", a.Type, "remote", r.RemoteAddr)
	if h.opts.Connected != nil {
		h.opts.Connected(true)
	}
	h.runners.Acquire()
	c.serve()
	h.runners.Release() // after teardown: none of c's watchers runs any more
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	if h.opts.Connected != nil {
		h.opts.Connected(false)
	}
	h.log.Info("agent disconnected", "agent", a.ID, "connected_for", time.Since(began).Round(time.Millisecond))
}

// Shutdown closes every socket with 1001 (going away), which removes the
// agents' parties from their sessions, and waits until they are gone or ctx
// ends. New sockets are refused from then on. It may be called repeatedly.
func (h *Handler) Shutdown(ctx context.Context) {
	h.mu.Lock()
	h.stopping = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.kill(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// refuse answers a request that is not upgraded.
func refuse(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="confab-agent"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}
