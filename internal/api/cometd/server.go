package cometd

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/api/webapi"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/cors"
)

// Path is where the Bayeux server listens.
const Path = "/genesys/cometd"

// BrowserCookie is the cookie that binds client ids to a browser.
const BrowserCookie = "BAYEUX_BROWSER"

// Options configure a Server. API is required; zero values of the rest
// select the documented defaults.
type Options struct {
	API   *webapi.API
	Clock clock.Clock  // default: the real clock
	Log   *slog.Logger // default: discard
	CORS  *cors.Policy // default: the open policy

	// Timeout is how long a /meta/connect is held when nothing is to be
	// delivered (the advice timeout). Default 30 s.
	Timeout time.Duration
	// Interval is the advice interval: how long a client waits between a
	// connect answer and its next connect. Default 0.
	Interval time.Duration
	// Grace is how long past Timeout+Interval a client may stay without a
	// connect before it expires. Default 10 s.
	Grace time.Duration
	// MaxQueue bounds the deliveries waiting for a client; one more drops
	// the client (slow consumer). Default 256.
	MaxQueue int
	// MaxClients bounds the live clients; a handshake beyond it is refused
	// with 503. Default 100000.
	MaxClients int
	// MaxBody returns the largest request body or WebSocket frame accepted;
	// default 64 KiB.
	MaxBody func() int
	// WriteTimeout bounds one WebSocket write (wall clock). Default 10 s.
	WriteTimeout time.Duration

	// Locate, in a cluster, brings a chat an operation names to this node
	// when its engine does not hold it (cluster.go); elsewhere says this
	// node takes no chats (it drains) and the client is to go to another.
	// secureKey is the key the operation carries: a chat is moved only for
	// its own customer. Nil: one node.
	Locate func(ctx context.Context, chatID, secureKey string) (elsewhere bool, err error)
	// ChatOfKey, in a cluster, returns the id of the live chat whose
	// customer's secure key is secureKey ("" when none), for operations
	// published with the key alone (no chatId, as the Java SDK does) that
	// the node's key index does not know; Locate then brings the chat
	// here (cluster.go). Nil: one node.
	ChatOfKey func(ctx context.Context, secureKey string) (string, error)
	// ForwardFiles, in a cluster, serves a /genesys/2/chat-ntf request
	// whose BAYEUX_BROWSER client does not live on this node by sending it
	// to the node of its chat (where its client lives), and reports whether
	// it did; otherwise it is refused here (403). Nil: one node.
	ForwardFiles func(w http.ResponseWriter, r *http.Request) bool
	// Draining, when set, reports that the node drains: requestChat is
	// refused (as over REST) so that new chats start on another node.
	Draining func() bool
	// HandingOver, when set, reports that the node drains into other live
	// nodes: handshakes are refused too, so that clients go to them. (A node
	// draining alone keeps its chats, and its clients must be able to come
	// back to it.)
	HandingOver func() bool
}

// Defaults of the Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultGrace        = 10 * time.Second
	DefaultMaxQueue     = 256
	DefaultMaxClients   = 100000
	DefaultMaxBody      = 64 << 10
	DefaultWriteTimeout = 10 * time.Second
)

// Server is the Bayeux server. It is safe for concurrent use.
type Server struct {
	api      *webapi.API
	clock    clock.Clock
	log      *slog.Logger
	cors     *cors.Policy
	timeout  time.Duration
	interval time.Duration
	grace    time.Duration
	maxQueue int
	maxCl    int
	maxBody  func() int
	wtimeout time.Duration
	chat     *chatService
	locate   func(ctx context.Context, chatID, secureKey string) (bool, error)
	chatOf   func(ctx context.Context, secureKey string) (string, error) // Options.ChatOfKey
	fwdFiles func(w http.ResponseWriter, r *http.Request) bool           // Options.ForwardFiles
	draining func() bool
	handing  func() bool

	done     chan struct{} // closed by Shutdown
	stopOnce sync.Once

	mu       sync.Mutex // guards the following
	clients  map[string]*Client
	byAddr   map[string]int // live clients by client address (cometd-clients-per-address)
	closing  bool
	conns    map[*websocket.Conn]struct{}
	live     sync.WaitGroup // WebSocket handlers; Add only under mu while !closing
	dropped  int            // clients dropped as slow consumers
	expired  int            // clients expired for not connecting
	replaced int            // clients replaced by a newer one of the same customer
	moved    int            // clients dropped because their chat left the node
	// replacedIDs remembers the ids of the last maxReplacedIDs replaced
	// clients, so a replaced client that was not waiting in a connect
	// still learns it was replaced (409, advice none) rather than being
	// advised to handshake again and take its chat back.
	replacedIDs   map[string]struct{}
	replacedOrder []string
}

// maxReplacedIDs bounds the replaced client ids remembered.
const maxReplacedIDs = 4096

// noteReplaced remembers a replaced client's id; s.mu is held.
func (s *Server) noteReplacedLocked(id string) {
	if s.replacedIDs == nil {
		s.replacedIDs = map[string]struct{}{}
	}
	if len(s.replacedOrder) >= maxReplacedIDs {
		delete(s.replacedIDs, s.replacedOrder[0])
		s.replacedOrder = append(s.replacedOrder[:0], s.replacedOrder[1:]...)
	}
	s.replacedIDs[id] = struct{}{}
	s.replacedOrder = append(s.replacedOrder, id)
}

// wasReplacedID reports whether id is a recently replaced client's.
func (s *Server) wasReplacedID(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.replacedIDs[id]
	return ok
}

// New returns a Server for the API.
func New(opts Options) *Server {
	s := &Server{
		api: opts.API, clock: opts.Clock, log: opts.Log, cors: opts.CORS,
		timeout: opts.Timeout, interval: opts.Interval, grace: opts.Grace,
		maxQueue: opts.MaxQueue, maxCl: opts.MaxClients, maxBody: opts.MaxBody, wtimeout: opts.WriteTimeout,
		locate: opts.Locate, chatOf: opts.ChatOfKey, fwdFiles: opts.ForwardFiles, draining: opts.Draining, handing: opts.HandingOver,
		done: make(chan struct{}), clients: map[string]*Client{}, byAddr: map[string]int{}, conns: map[*websocket.Conn]struct{}{},
	}
	if s.clock == nil {
		s.clock = clock.Real()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cors == nil {
		s.cors = cors.New(nil)
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.interval < 0 {
		s.interval = 0
	}
	if s.grace <= 0 {
		s.grace = DefaultGrace
	}
	if s.maxQueue <= 0 {
		s.maxQueue = DefaultMaxQueue
	}
	if s.maxCl <= 0 {
		s.maxCl = DefaultMaxClients
	}
	if s.maxBody == nil {
		s.maxBody = func() int { return DefaultMaxBody }
	}
	if s.wtimeout <= 0 {
		s.wtimeout = DefaultWriteTimeout
	}
	s.chat = &chatService{srv: s, api: s.api, follow: map[binding][]*Client{}, byChat: map[string]map[string]struct{}{}}
	return s
}

// Register mounts the routes:
//
//	POST    /genesys/cometd[/[{type}]] long-polling (type: handshake, connect, …)
//	GET     /genesys/cometd[/{type}]  websocket (an upgrade) or callback-polling (jsonp=, message=)
//	OPTIONS /genesys/cometd[/{type}]  CORS preflight
//	POST    /genesys/2/chat-ntf       file operations of a live CometD client
func (s *Server) Register(mux *http.ServeMux) {
	for _, p := range []string{Path, Path + "/{$}", Path + "/{type}"} {
		mux.HandleFunc("POST "+p, s.handlePost)
		mux.HandleFunc("GET "+p, s.handleGet)
		mux.HandleFunc("OPTIONS "+p, s.cors.Preflight)
	}
	mux.HandleFunc("POST "+webapi.NotificationFilesPath, s.handleFiles)
	mux.HandleFunc("OPTIONS "+webapi.NotificationFilesPath, s.cors.Preflight)
}

// Shutdown ends held connects (advising the clients to handshake again,
// with another node), closes the WebSocket connections once their last
// answer is written or ctx ends, and drops every client. It may be called
// more than once.
func (s *Server) Shutdown(ctx context.Context) {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		close(s.done)
	})
	waited := make(chan struct{})
	go func() {
		s.live.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.CloseNow()
		}
		s.mu.Unlock()
		<-waited
	}
	s.mu.Lock()
	cls := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		cls = append(cls, c)
	}
	s.mu.Unlock()
	for _, c := range cls {
		s.remove(c, "server shutting down")
	}
}

func (s *Server) stopping() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Clients reports the number of live clients.
func (s *Server) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// Stats are the server's counters.
type Stats struct {
	Clients       int // live clients
	SlowConsumers int // clients dropped because they fell behind
	Expired       int // clients expired because they stopped connecting
	Replaced      int // clients replaced by a newer one following the same customer
	Moved         int // clients dropped because their chat left the node (cluster)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Clients: len(s.clients), SlowConsumers: s.dropped, Expired: s.expired, Replaced: s.replaced, Moved: s.moved}
}

// newID returns 24 random bytes in URL-safe base64 (192 bits).
func newID() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// browserID returns the request's BAYEUX_BROWSER cookie ("" if none).
func browserID(r *http.Request) string {
	c, err := r.Cookie(BrowserCookie)
	if err != nil || len(c.Value) > 64 {
		return ""
	}
	return c.Value
}

// ensureBrowser returns the request's browser id, issuing a new cookie on
// w when it has none. Cross-site widgets need SameSite=None, which
// browsers accept only with Secure, so that is set on TLS requests.
func ensureBrowser(w http.ResponseWriter, r *http.Request) string {
	if id := browserID(r); id != "" {
		return id
	}
	id := newID()
	ck := &http.Cookie{Name: BrowserCookie, Value: id, Path: "/", HttpOnly: true}
	if r.TLS != nil {
		ck.Secure, ck.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, ck)
	return id
}

// lookup returns the live client id bound to browser, or nil: a client id
// used from another browser is as unknown as a made-up one.
func (s *Server) lookup(id, browser string) *Client {
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || c.browser != browser {
		return nil
	}
	return c
}

// liveBrowser reports whether a live client is bound to browser.
func (s *Server) liveBrowser(browser string) bool {
	if browser == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		if c.browser == browser {
			return true
		}
	}
	return false
}

// add registers a new client for browser, charged to the client address
// addr ("" for none), or returns nil when the server is full or shutting
// down; full is set when addr already holds maxLive live clients (0: no
// limit).
func (s *Server) add(browser, addr string, maxLive int) (c *Client, full bool) {
	c = newClient(s, browser)
	c.addr = addr
	s.mu.Lock()
	defer s.mu.Unlock()
	if addr != "" && maxLive > 0 && s.byAddr[addr] >= maxLive {
		return nil, true
	}
	if s.closing || len(s.clients) >= s.maxCl {
		return nil, false
	}
	s.clients[c.id] = c
	if addr != "" {
		s.byAddr[addr]++
	}
	c.touch()
	return c, false
}

// remove drops a client: its source is closed, a held connect is answered.
func (s *Server) remove(c *Client, why string) {
	s.mu.Lock()
	_, ok := s.clients[c.id]
	delete(s.clients, c.id)
	if ok && c.addr != "" {
		if s.byAddr[c.addr]--; s.byAddr[c.addr] <= 0 {
			delete(s.byAddr, c.addr)
		}
	}
	switch why {
	case whySlow:
		s.dropped++
	case whyExpired:
		s.expired++
	case whyReplaced:
		s.replaced++
		if ok {
			s.noteReplacedLocked(c.id)
		}
	case whyMoved:
		s.moved++
	}
	s.mu.Unlock()
	if ok {
		s.log.Debug("cometd client removed", "client", c.id, "why", why)
	}
	c.close()
}

// Reasons for remove that are counted.
const (
	whySlow     = "slow consumer"
	whyExpired  = "expired"
	whyReplaced = "replaced"
)

// track registers a live WebSocket; it fails once Shutdown has begun.
func (s *Server) track(c *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	s.live.Add(1)
	return true
}

func (s *Server) untrack(c *websocket.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.live.Done()
}
