package webapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/wsbatch"
)

// WebSocket close codes of the push channel, besides 1000 (the chat ended)
// and 1001 (the server is going away); CloseReplaced (4009) and CloseMoved
// (4010) are defined next to their causes.
const (
	// CloseResync: the connection fell more than MaxBacklog events behind;
	// the last frame named the index to resume from (resyncFrom).
	CloseResync websocket.StatusCode = 4008
	// CloseUnauthorized: the credentials matched no chat; the one frame sent
	// was the 401 answer.
	CloseUnauthorized websocket.StatusCode = 4401
)

// handleWS serves the push channel GET /genesys/2/chat/{serviceName}/{chatId}/ws.
//
// The query carries what a REST call carries in its form: userId,
// secureKey, alias, and transcriptPosition, the first index wanted (absent
// or 1: the whole transcript; 0: only what happens from now on; -1: the
// newest event and what follows). Each frame the server sends is a common
// response body: the first at once with what is already there (possibly no
// messages), then one per batch of new events. The server pings the
// connection when idle. The open socket alone is not the customer's
// activity: each frame the client sends (a keepalive, content ignored) is,
// for flex-disconnect-timeout, so a client sends one at least that often
// (the widget and client/chatv2 every 15 s). The server pings only a
// connection it has not heard from (no keepalive) for the ping interval:
// a client that sends keepalives is known to be there, and is not pinged. The last frame has chatEnded true
// and is followed by close code 1000, or is a resync frame followed by 4008,
// or the server closes with 1001 when it shuts down. A client that
// reconnects with transcriptPosition = the last frame's nextPosition misses
// nothing and receives nothing twice.
func (a *API) handleWS(w http.ResponseWriter, r *http.Request) {
	cfg := a.config()
	rq := &request{w: w, r: r, cfg: cfg, lim: limitsFor(cfg), chatID: r.PathValue("chatId"), service: r.PathValue("service"), form: &form{}}
	if len(r.URL.RawQuery) > rq.lim.body {
		a.fail(w, tooLarge(rq.lim.body))
		return
	}
	if fl := rq.form.parseURLEncoded(r.URL.RawQuery); fl != nil {
		a.fail(w, fl)
		return
	}
	start, fl := startFor(rq.form, 0)
	if fl == nil {
		fl = sessionFields(rq.form)
	}
	if fl != nil {
		a.fail(w, fl)
		return
	}
	if why := notUpgrade(r); why != "" {
		w.Header().Set("Upgrade", "websocket")
		a.fail(w, &failure{status: http.StatusUpgradeRequired, errs: []apiError{{codeInvalid, why}}})
		return
	}
	authorized := a.authenticate(rq)
	if p := cfg.Protection; authorized && !a.guard.pushOpens.Allow(rq.chatID, float64(p.PushConnectRate)/60, p.PushPerParty+10) {
		// Refused before the upgrade: a flood of sockets costs no hijack,
		// goroutine or first frame.
		a.refusalLog("push socket refused: push-connect-rate", "chat", rq.chatID)
		w.Header().Set("Retry-After", "10")
		a.fail(w, &failure{status: http.StatusTooManyRequests, errs: []apiError{{codeRateLimited,
			fmt.Sprintf("too many push connections opened for this chat (push-connect-rate %d per minute); try again later", p.PushConnectRate)}}})
		return
	}
	c, cc, err := wsbatch.AcceptSmall(w, r, &websocket.AcceptOptions{ // it mostly writes: small buffers
		// Widgets run on customers' sites, not on this origin, and the
		// credentials travel in the URL, not in cookies, so a cross-site
		// page gains nothing from connecting: any origin may.
		InsecureSkipVerify: true,
	})
	if err != nil {
		a.log.Debug("websocket accept", "err", err)
		return // Accept has answered
	}
	if !a.track(c) {
		c.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	// The socket outlives this handler: once it returns, net/http lets go
	// of the connection's buffered reader and writer, the response's
	// buffer and the request (about 10 KB per push socket), and the
	// socket's goroutine starts with a small stack of its own. It keeps
	// only what the push needs of the request: a pushSock (112 bytes),
	// not a request (about 1 KB, with its form and the whole participant).
	sock := &pushSock{
		chatID: rq.chatID, sess: rq.sess, userID: rq.me.UserID, secret: rq.me.Secret, left: rq.me.Left,
		readLimit: rq.lim.body, perParty: cfg.Protection.PushPerParty,
	}
	go a.serveWS(c, cc, sock, authorized, start)
}

// pushSock is what a push socket keeps of its handshake for its life.
type pushSock struct {
	chatID         string
	sess           *chat.Session // nil when the handshake was not authorized
	userID, secret string        // the customer, as of authentication
	left           bool          // the customer had left by then
	readLimit      int           // bytes of a frame from the client
	perParty       int           // [protection] push-per-party
}

// serveWS runs an accepted push socket until it ends; handleWS tracked it
// (a.track), serveWS untracks it. Its goroutine is the socket's only one
// while it is idle: it sends the first frame, then reads the client's
// keepalives (readKeepalives) until the socket ends; the writer has none
// of its own between the session's changes (pushRun).
func (a *API) serveWS(c *websocket.Conn, cc *wsbatch.Conn, rq *pushSock, authorized bool, start int) {
	defer a.untrack(c)
	c.SetReadLimit(int64(rq.readLimit))
	if !authorized {
		go a.readKeepalives(func() {}, c, nil) // the close handshake needs a reader
		a.writeFrame(context.Background(), c, cc, unauthorizedBody())
		c.Close(CloseUnauthorized, "unauthorized")
		return
	}
	for _, old := range a.guard.addPush(rq.chatID, c, rq.perParty) {
		go old.Close(CloseReplaced, "replaced by a newer connection of the same customer")
	}
	defer a.guard.dropPush(rq.chatID, c)
	if a.beforePushCheck != nil {
		a.beforePushCheck()
	}
	if !a.stillHeld(rq.chatID, rq.sess) {
		go a.readKeepalives(func() {}, c, nil)
		c.Close(CloseMoved, movedReason) // dropped while this socket opened
		return
	}
	rq.sess.Touch(rq.userID) // the handshake is a request
	detach := a.presence.attach(rq.chatID)
	defer detach()
	a.pushers.Acquire()
	defer a.pushers.Release() // after the writer's end: it runs no more
	r := a.newPushRun(c, cc, rq, start)
	a.addPushRun(r)
	defer a.dropPushRun(r)
	// The first frame is sent by a runner too: this goroutine, which
	// stays for the socket's life, then never takes the encoder's deep
	// stack (a stack grown once is kept while a quarter of it is used).
	r.wake(wakeChange)
	sess, userID := rq.sess, rq.userID
	a.readKeepalives(func() { r.wake(wakeGone) }, c, func(now time.Time) {
		sess.Touch(userID)
		r.heard.Store(now.UnixNano()) // no ping while the client is heard (pushRun.run)
	})
	<-r.ended
	c.CloseNow() // when the writer ended for the reader's end, it left the close here
	r.pings.Wait()
}

// keepaliveEvery is how often a push socket's frames count as the
// customer's activity: more frames in between are read and dropped.
const keepaliveEvery = time.Second

// readKeepalives reads what the client sends on its push socket until it
// goes away (then it calls stop): any data frame (its content is ignored,
// `{}` by convention) is a keepalive and counts as a request of the
// customer for flex-disconnect-timeout, at most once per keepaliveEvery.
// Control frames (pongs, the close) are handled by the read too.
//
// The reads take no cancellable context: every way serveWS ends closes
// the socket, which ends the read, and a cancellable one would cost each
// socket a context.AfterFunc registration (the library's read timeout) for
// as long as a read waits, which is all the time.
func (a *API) readKeepalives(stop func(), c *websocket.Conn, touch func(now time.Time)) {
	defer stop()
	var last time.Time
	for {
		_, r, err := c.Reader(context.Background())
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return // over the read limit: the library has closed the socket
		}
		if now := a.clock.Now(); touch != nil && now.Sub(last) >= keepaliveEvery {
			last = now
			touch(now)
		}
	}
}

// notUpgrade says why r is not a WebSocket handshake the library will
// accept ("" if it is), so that a plain GET gets a JSON answer.
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
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// writeFrame sends b as one text frame within the write timeout (the
// unauthorized answer: pushRun.send sends the others). On a
// corkable connection (cc) the frame is written by wsbatch (one hold of
// its lock, no per-write timeout context, the library's writer bypassed)
// under a socket deadline.
func (a *API) writeFrame(ctx context.Context, c *websocket.Conn, cc *wsbatch.Conn, b *body) bool {
	buf := a.getBuf()
	defer a.putBuf(buf)
	*buf = appendBody(*buf, b)
	if cc != nil {
		return cc.SendText(*buf, time.Now().Add(a.wtimeout)) == nil
	}
	wctx, cancel := context.WithTimeout(ctx, a.wtimeout)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, *buf) == nil
}
