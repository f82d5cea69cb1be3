package cometd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/confab/confab/internal/api/webapi"
)

// handlePost serves the long-polling transport: a JSON batch in the body,
// the replies (and deliveries) as a JSON array.
func (s *Server) handlePost(w http.ResponseWriter, r *http.Request) {
	s.cors.Apply(w.Header(), r)
	if !knownSuffix(r.PathValue("type")) {
		s.refuse(w, http.StatusNotFound, "", bayeuxError(404, "", "no such CometD path"))
		return
	}
	max := s.maxBody()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(max)))
	if err != nil {
		var tl *http.MaxBytesError
		if errors.As(err, &tl) {
			s.refuse(w, http.StatusRequestEntityTooLarge, "", bayeuxError(413, "", "request body too large"))
			return
		}
		s.refuse(w, http.StatusBadRequest, "", bayeuxError(400, "", "request body could not be read"))
		return
	}
	s.serveBatch(w, r, body, "", TransportLongPoll)
}

// handleGet serves the websocket transport (an upgrade) and the
// callback-polling one (JSONP: jsonp= names the callback, message= holds
// the batch).
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	if isUpgrade(r) {
		s.serveWS(w, r)
		return
	}
	s.cors.Apply(w.Header(), r)
	if !knownSuffix(r.PathValue("type")) {
		s.refuse(w, http.StatusNotFound, "", bayeuxError(404, "", "no such CometD path"))
		return
	}
	q := r.URL.Query()
	cb, msg, e := jsonpParams(q.Get("jsonp"), q.Get("message"), s.maxBody())
	if e != "" {
		s.refuse(w, http.StatusBadRequest, "", e)
		return
	}
	s.serveBatch(w, r, []byte(msg), cb, TransportCallback)
}

// knownSuffix reports whether the path suffix is one the clients append
// (the meta message type of a one-message batch) or none.
func knownSuffix(t string) bool {
	switch t {
	case "", "handshake", "connect", "disconnect", "subscribe", "unsubscribe":
		return true
	}
	return false
}

// callbackRE is a JSONP callback name: dot-separated JavaScript
// identifiers of ASCII letters, digits, _ and $ — nothing that can end the
// call expression and start another statement.
var callbackRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

// jsonpParams checks the callback-polling parameters: the callback name
// (at most 128 characters, callbackRE) and the batch (at most max bytes).
func jsonpParams(cb, msg string, max int) (string, string, string) {
	switch {
	case cb == "":
		return "", "", bayeuxError(400, "", "jsonp callback name missing")
	case len(cb) > 128 || !callbackRE.MatchString(cb):
		return "", "", bayeuxError(400, "", "jsonp callback name must be a JavaScript identifier")
	case msg == "":
		return "", "", bayeuxError(400, "", "message parameter missing")
	case len(msg) > max:
		return "", "", bayeuxError(413, "", "message parameter too large")
	}
	return cb, msg, ""
}

// serveBatch runs one HTTP request's batch and writes the replies: as JSON,
// or wrapped in callback(...) for callback-polling. A connect in the batch
// is held (at most one per request); its reply comes last, after what was
// delivered while it was held.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, body []byte, callback, transport string) {
	msgs, err := decodeBatch(body)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, callback, bayeuxError(400, "", "malformed Bayeux message"))
		return
	}
	browser := browserID(r)
	if hasHandshake(msgs) {
		browser = ensureBrowser(w, r)
	}
	var replies []Message
	var held *connectReq
	for i := range msgs {
		rep, cr := s.handle(webapi.WithClient(r.Context(), r), &msgs[i], transport, browser)
		if rep != nil {
			replies = append(replies, *rep)
			continue
		}
		if held != nil { // a second connect in one request: answer the first now
			replies = append(replies, *s.connectReply(held, heldTimeout, false))
		}
		held = cr
	}
	if held == nil {
		s.write(w, http.StatusOK, callback, replies)
		return
	}
	n := len(replies)
	replies = s.serveConnect(r.Context(), held, replies)
	// The client went away before its deliveries were written: keep them for
	// its next connect. Once written they are not requeued, even if the
	// connection closes right after (that would deliver them twice).
	if r.Context().Err() != nil {
		held.c.requeue(replies[n : len(replies)-1])
		return
	}
	if err := s.write(w, http.StatusOK, callback, replies); err != nil {
		held.c.requeue(replies[n : len(replies)-1])
	}
}

// serveConnect holds a connect for an HTTP transport and appends the
// deliveries and the connect reply.
func (s *Server) serveConnect(ctx context.Context, cr *connectReq, replies []Message) []Message {
	expired := closedChan() // timeout 0: deliver what is there and answer
	if cr.timeout > 0 {
		expired = make(chan struct{})
		t := s.clock.AfterFunc(cr.timeout, func() { close(expired) })
		defer t.Stop()
	}
	kick := cr.c.beginHold() // after the timer: a held connect has its timer
	defer cr.c.endHold()
	out, drop, why := cr.c.hold(ctx, kick, expired, replies)
	return append(out, *s.connectReply(cr, why, drop))
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func hasHandshake(msgs []Message) bool {
	for i := range msgs {
		if msgs[i].Channel == ChannelHandshake {
			return true
		}
	}
	return false
}

// refuse answers a request that could not be run as a batch with one
// error message, never a 5xx.
func (s *Server) refuse(w http.ResponseWriter, status int, callback, e string) {
	s.write(w, status, callback, []Message{{Channel: "/meta/unknown", Successful: boolp(false), Error: e}})
}

// write sends the replies as JSON, or as a JSONP call. An error means the
// client did not get them.
func (s *Server) write(w http.ResponseWriter, status int, callback string, msgs []Message) error {
	if msgs == nil {
		msgs = []Message{}
	}
	b, err := json.Marshal(msgs)
	if err != nil { // data members are valid JSON objects; cannot happen
		s.log.Error("cometd: encode replies", "err", err)
		b = []byte(`[]`)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if callback != "" {
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		b = append(append([]byte(callback+"("), b...), ");"...)
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// handleFiles serves /genesys/2/chat-ntf: the request must carry the
// BAYEUX_BROWSER cookie of a live CometD client; the operation is the REST
// file operation, found by secureKey. In a cluster a request whose client
// lives on another node is sent there (Options.ForwardFiles), whose answer
// carries its own CORS headers.
func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	live := s.liveBrowser(browserID(r))
	if !live && s.fwdFiles != nil && s.fwdFiles(w, r) {
		return
	}
	s.cors.Apply(w.Header(), r)
	if !live {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"errors":[{"code":401,"advice":"file operations need a live CometD client: handshake first and send its BAYEUX_BROWSER cookie"}]}`)
		return
	}
	s.api.ServeNotificationFiles(w, r)
}

// isUpgrade reports whether r asks for a WebSocket.
func isUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Upgrade") {
		if strings.EqualFold(strings.TrimSpace(v), "websocket") {
			return true
		}
	}
	return false
}
