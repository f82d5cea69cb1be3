package webapi

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/limiter"
	"github.com/confab/confab/internal/validate"
)

// CloseReplaced is the close code of a push connection replaced by a newer
// one of the same customer ([protection] push-connections-per-party).
const CloseReplaced websocket.StatusCode = 4009

// guard holds the adapter's per-client bounds: chat creation per client
// address and push connections per customer. See [protection] in
// docs/configuration.md.
type guard struct {
	creates    *limiter.Keyed
	handshakes *limiter.Keyed // CometD handshakes per client address
	pushOpens  *limiter.Keyed // push WebSockets opened, per chat
	refusals   limiter.Gate   // bounds the refusals' log lines
	dropped    atomic.Int64   // server-owned user-data keys dropped

	proxyMu  sync.Mutex // guards the following
	proxyCfg *config.Config
	proxies  []netip.Prefix

	pushMu sync.Mutex                   // guards the following
	pushes map[string][]*websocket.Conn // by chat id, oldest first
}

func newGuard(a *API) *guard {
	return &guard{creates: limiter.NewKeyed(a.clock, 0), handshakes: limiter.NewKeyed(a.clock, 0), pushOpens: limiter.NewKeyed(a.clock, 0), pushes: map[string][]*websocket.Conn{}}
}

// trusted returns the trusted proxies of cfg, parsed once per configuration.
func (g *guard) trusted(cfg *config.Config) []netip.Prefix {
	g.proxyMu.Lock()
	defer g.proxyMu.Unlock()
	if g.proxyCfg != cfg {
		g.proxies, _ = cfg.Protection.Proxies()
		g.proxyCfg = cfg
	}
	return g.proxies
}

// allowCreate charges one chat creation to the request's client address; a
// refusal is HTTP 429 with Retry-After.
func (a *API) allowCreate(w http.ResponseWriter, r *http.Request, cfg *config.Config) bool {
	p := cfg.Protection
	if p.ChatCreateRate <= 0 {
		return true
	}
	addr := limiter.ClientAddr(r, a.guard.trusted(cfg))
	if a.guard.creates.Allow(addr.String(), float64(p.ChatCreateRate)/60, p.ChatCreateBurst) {
		return true
	}
	a.refusalLog("chat refused: creation rate", "client", addr)
	w.Header().Set("Retry-After", "60")
	a.fail(w, &failure{status: http.StatusTooManyRequests, errs: []apiError{{codeRateLimited,
		fmt.Sprintf("too many new chats from this address (chat-create-rate %d per minute); try again later", p.ChatCreateRate)}}})
	return false
}

// addPush records a customer's new push connection and returns the ones
// it replaces: the oldest beyond push-connections-per-party, which the
// caller closes with CloseReplaced.
func (g *guard) addPush(chatID string, c *websocket.Conn, max int) []*websocket.Conn {
	g.pushMu.Lock()
	defer g.pushMu.Unlock()
	list := append(g.pushes[chatID], c)
	var old []*websocket.Conn
	if n := len(list) - max; max > 0 && n > 0 {
		old = append(old, list[:n]...)
		list = append([]*websocket.Conn(nil), list[n:]...)
	}
	g.pushes[chatID] = list
	return old
}

// dropPush forgets a push connection that ended.
func (g *guard) dropPush(chatID string, c *websocket.Conn) {
	g.pushMu.Lock()
	defer g.pushMu.Unlock()
	list := g.pushes[chatID]
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(g.pushes, chatID)
	} else {
		g.pushes[chatID] = list
	}
}

// DroppedKeys returns how many server-owned user-data keys customers sent
// and the API dropped (a metric for the node's counters).
func (a *API) DroppedKeys() int64 { return a.guard.dropped.Load() }

// dropOwned removes the server-owned keys from user data a customer sent,
// counting them and logging a warning.
func (a *API) dropOwned(ud kv.Map, chatID string) {
	if n := validate.DropServerOwned(ud); n > 0 {
		a.guard.dropped.Add(int64(n))
		a.log.Warn("customer user data: server-owned keys dropped", "chat", chatID, "keys", n)
	}
}

// clientKey is the context key of WithClient.
type clientKey struct{}

// WithClient returns ctx carrying the HTTP request a transport's calls
// come from (its peer address and X-Forwarded-For), so that a Call's
// requestChat is charged to that client's chat-create-rate as REST's is.
// Transports on the operation layer (CometD) attach it to the context
// they call with; a Call without one is not rate limited.
func WithClient(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, clientKey{}, r)
}

// clientOf returns the request WithClient attached, or nil.
func clientOf(ctx context.Context) *http.Request {
	r, _ := ctx.Value(clientKey{}).(*http.Request)
	return r
}

// throttled reports whether the chat named by a request's URL has every
// customer out of party-send-rate tokens, so that a charged operation can
// be refused before its body is read or decoded (a flood of large sends
// then costs the node no parsing). It charges nothing: a request that is
// let through is charged, and authenticated, as before.
func (a *API) throttled(chatID string) bool {
	if chatID == "" {
		return false
	}
	s, err := a.engine.Get(chatID)
	return err == nil && s.Throttled()
}

// rateRefused answers a charged operation over party-send-rate: HTTP 429
// with Retry-After, the same answer before and after the body is read.
func (a *API) rateRefused(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	a.fail(w, &failure{status: http.StatusTooManyRequests, errs: []apiError{{codeRateLimited, "sending too fast (party-send-rate); wait a moment and try again"}}})
}
