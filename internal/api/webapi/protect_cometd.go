package webapi

import (
	"context"

	"github.com/confab/confab/internal/limiter"
)

// HandshakeAdmission is the answer to a CometD handshake's bounds: the
// client address it is charged to, whether the address is within
// cometd-handshake-rate, and the most live clients the address may hold
// (cometd-clients-per-address, 0: no limit).
type HandshakeAdmission struct {
	Addr    string
	Allowed bool
	MaxLive int
}

// AdmitHandshake charges one CometD handshake to the client address of the
// request WithClient attached to ctx (the peer, or the forwarded address
// behind a trusted proxy, as for chat-create-rate). Without a request the
// handshake is charged to nobody and allowed.
func (a *API) AdmitHandshake(ctx context.Context) HandshakeAdmission {
	cfg := a.config()
	p := cfg.Protection
	r := clientOf(ctx)
	if r == nil {
		return HandshakeAdmission{Allowed: true}
	}
	addr := limiter.ClientAddr(r, a.guard.trusted(cfg)).String()
	ok := a.guard.handshakes.Allow(addr, float64(p.CometdHandshakeRate)/60, p.CometdHandshakeBurst)
	if !ok {
		a.refusalLog("cometd handshake refused: handshake rate", "client", addr)
	}
	return HandshakeAdmission{Addr: addr, Allowed: ok, MaxLive: p.CometdClientsPerAddr}
}

// PushPerParty returns [protection] push-connections-per-party: how many
// push channels (WebSockets, CometD clients following the chat) one
// customer may hold.
func (a *API) PushPerParty() int { return a.config().Protection.PushPerParty }

// refusalLog logs a refusal at debug level, at most 10 lines a second: a
// flood repeats its refusals thousands of times a second.
func (a *API) refusalLog(msg string, args ...any) {
	if ok, held := a.guard.refusals.Allow(a.clock.Now()); ok {
		a.log.Debug(msg, append(args, "not_logged_before", held)...)
	}
}
