package webapi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/cors"
	"github.com/confab/confab/internal/runq"
	"github.com/confab/confab/internal/store"
)

// Options configure an API. Engine and Config are required; zero values of
// the rest select the documented defaults.
type Options struct {
	Engine *chat.Engine
	// Config returns the live configuration; it is called once per request so
	// that reloaded options (xml-request-max-size, flex-disconnect-timeout,
	// endpoints) apply to the next request.
	Config func() *config.Config
	// Clock drives inactivity timers, long-poll deadlines and pings; default
	// the engine's clock.
	Clock clock.Clock
	Log   *slog.Logger // default: discard
	// CORS says which browser origins may call with credentials; nil is
	// the open policy (any origin, no credentials).
	CORS *cors.Policy
	// Alias is the value answers carry as alias and requests must send back;
	// default "1".
	Alias string

	// MaxBatch caps the events of one REST answer; a client asks again from
	// nextPosition for the rest. Default 1000.
	MaxBatch int
	// MaxBacklog is the most events a push connection may have pending: one
	// that falls further behind gets a resync frame and is closed. Default 1000.
	MaxBacklog int
	// MaxWait caps refresh's waitSeconds. Default 30 s.
	MaxWait time.Duration
	// PingInterval is how often an idle WebSocket is pinged. Default 25 s.
	PingInterval time.Duration
	// WriteTimeout bounds one WebSocket write or ping (wall clock). Default 10 s.
	WriteTimeout time.Duration
	// SlowConsumer, when set, is told each time a push connection is
	// closed for falling behind (the node's counters).
	SlowConsumer func()

	// Files keeps uploaded files; nil answers as a node with customer file
	// transfer off.
	Files store.Documents
	// Refreshed, if set, is told of every refresh a customer makes with the
	// nextPosition it was answered (push notifications count it as the
	// acknowledgement of what they announced).
	Refreshed func(sessionID, userID string, next int)
	// AuthFailed, when set, is told of every request answered as
	// unauthorised (credentials that match no chat; the node's counters).
	AuthFailed func()
	// LocateKey, in a cluster, brings to this node the chat of a CometD
	// file operation (/genesys/2/chat-ntf) whose secureKey the node's key
	// index does not know, and returns its id ("" when no chat has that
	// key: the operation is then refused as on one node); chatID is the
	// chatId the request sent, if any. Nil outside a cluster
	// (keys_cometd.go).
	LocateKey func(ctx context.Context, chatID, secureKey string) (string, error)
}

// Defaults of the Options limits.
const (
	DefaultMaxBatch     = 1000
	DefaultMaxBacklog   = 1000
	DefaultMaxWait      = 30 * time.Second
	DefaultPingInterval = 25 * time.Second
	DefaultWriteTimeout = 10 * time.Second
)

// secureKeyLen is the length of a secure key: 24 characters of [0-9A-Za-z],
// about 143 bits from crypto/rand.
const secureKeyLen = 24

// API is the customer Chat API v2 adapter. It is safe for concurrent use.
type API struct {
	engine     *chat.Engine
	config     func() *config.Config
	clock      clock.Clock
	log        *slog.Logger
	alias      string
	corsPolicy *cors.Policy
	maxBatch   int
	backlog    int
	maxWait    time.Duration
	ping       time.Duration
	wtimeout   time.Duration
	slow       func() // Options.SlowConsumer
	files      store.Documents
	refreshed  func(sessionID, userID string, next int)
	uploads    uploadGate
	uploaded   atomic.Int64
	downloaded atomic.Int64
	authFailed func() // Options.AuthFailed
	locateKey  func(ctx context.Context, chatID, secureKey string) (string, error)

	// decoy is compared against when there is no such chat or customer, so
	// that a wrong key and an unknown chat take the same work.
	decoy    []byte
	presence *presence
	keys     *keyIndex // secure key -> chat, for transports that send only the key
	guard    *guard
	done     chan struct{} // closed by Shutdown
	stopOnce sync.Once
	bufs     sync.Pool // *[]byte answer buffers
	events   sync.Pool // *[]chat.Event read buffers
	requests sync.Pool // *request of the session operations (handlers.go)
	// pushers run the push sockets' writers when woken (pushrun.go).
	pushers *runq.Pool[*pushRun]
	// beforePushCheck, set only by tests, runs between a push socket's
	// registration and its check that the engine still holds the chat.
	beforePushCheck func()

	mu      sync.Mutex // guards the following
	closing bool
	conns   map[*websocket.Conn]struct{}
	// pushRuns are the push sockets' writers, woken at Shutdown (pushrun.go).
	pushRuns map[*pushRun]struct{}
	live     sync.WaitGroup // WebSocket handlers; Add only under mu while !closing
}

// New returns an API for the engine.
func New(opts Options) *API {
	a := &API{
		engine:     opts.Engine,
		config:     opts.Config,
		clock:      opts.Clock,
		log:        opts.Log,
		alias:      opts.Alias,
		corsPolicy: opts.CORS,
		maxBatch:   opts.MaxBatch,
		backlog:    opts.MaxBacklog,
		maxWait:    opts.MaxWait,
		ping:       opts.PingInterval,
		wtimeout:   opts.WriteTimeout,
		slow:       opts.SlowConsumer,
		authFailed: opts.AuthFailed,
		decoy:      []byte(chat.NewSecret(secureKeyLen)),
		done:       make(chan struct{}),
		conns:      map[*websocket.Conn]struct{}{},
		pushRuns:   map[*pushRun]struct{}{},
		pushers:    runq.New(runq.DefaultRunners(), (*pushRun).run),
		files:      opts.Files,
		refreshed:  opts.Refreshed,
		locateKey:  opts.LocateKey,
	}
	if a.clock == nil {
		a.clock = a.engine.Clock()
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.corsPolicy == nil {
		a.corsPolicy = cors.New(nil)
	}
	if a.alias == "" {
		a.alias = "1"
	}
	if a.maxBatch <= 0 {
		a.maxBatch = DefaultMaxBatch
	}
	if a.backlog <= 0 {
		a.backlog = DefaultMaxBacklog
	}
	if a.maxWait <= 0 {
		a.maxWait = DefaultMaxWait
	}
	if a.ping <= 0 {
		a.ping = DefaultPingInterval
	}
	if a.wtimeout <= 0 {
		a.wtimeout = DefaultWriteTimeout
	}
	a.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	a.events.New = func() any { e := make([]chat.Event, 0, 16); return &e }
	a.presence = newPresence(a)
	a.keys = newKeyIndex(a.engine)
	a.guard = newGuard(a)
	return a
}

// Shutdown tells every WebSocket client that the server is going away
// (close code 1001), ends waiting long polls, stops the inactivity timers
// and waits until the push connections are closed or ctx ends, when it
// drops the remaining ones. It may be called more than once.
func (a *API) Shutdown(ctx context.Context) {
	a.stopOnce.Do(func() {
		a.mu.Lock()
		a.closing = true
		a.mu.Unlock()
		close(a.done)
		a.wakePushRuns()
		a.presence.stop()
	})
	waited := make(chan struct{})
	go func() {
		a.live.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		return
	case <-ctx.Done():
	}
	a.mu.Lock()
	for c := range a.conns {
		c.CloseNow()
	}
	a.mu.Unlock()
	<-waited
}

// stopping reports whether Shutdown has begun.
func (a *API) stopping() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// track registers a live WebSocket; it fails once Shutdown has begun.
func (a *API) track(c *websocket.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.conns[c] = struct{}{}
	a.live.Add(1)
	return true
}

func (a *API) untrack(c *websocket.Conn) {
	a.mu.Lock()
	delete(a.conns, c)
	a.mu.Unlock()
	a.live.Done()
}

func (a *API) getBuf() *[]byte { return a.bufs.Get().(*[]byte) }

func (a *API) putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return // keep the pool for ordinary answers
	}
	*b = (*b)[:0]
	a.bufs.Put(b)
}

func (a *API) getEvents() *[]chat.Event { return a.events.Get().(*[]chat.Event) }

func (a *API) putEvents(e *[]chat.Event) {
	if cap(*e) > 256 {
		return
	}
	clear(*e) // drop references to event texts and maps
	*e = (*e)[:0]
	a.events.Put(e)
}
