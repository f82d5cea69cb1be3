package cometd

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/api/webapi"
)

// serveWS serves the websocket transport: each text frame the client
// sends is a batch; every reply and delivery goes back as a frame holding
// a JSON array. A connect is held as over long-polling: it is answered,
// after the deliveries, as soon as there are any, or when it times out;
// the other messages of the client are answered at once.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	browser := ensureBrowser(w, r) // the upgrade answer may set the cookie
	opts := &websocket.AcceptOptions{InsecureSkipVerify: s.cors.Open()}
	if !s.cors.Open() {
		opts.OriginPatterns = s.cors.Patterns()
	}
	conn, err := websocket.Accept(w, r, opts)
	if err != nil {
		s.log.Debug("cometd websocket accept", "err", err)
		return // Accept has answered
	}
	if !s.track(conn) {
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer s.untrack(conn)
	conn.SetReadLimit(int64(s.maxBody()))
	ws := &wsConn{srv: s, conn: conn, connects: make(chan *connectReq, 1)}
	// The upgrade request names the client its calls are charged to
	// ([protection] chat-create-rate).
	ctx, cancel := context.WithCancel(webapi.WithClient(context.Background(), r))
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ws.writer(ctx)
	}()
	code, reason := ws.reader(ctx, browser, &wg)
	if code == 0 {
		conn.CloseNow()
	} else {
		conn.Close(code, reason)
	}
	cancel()
	wg.Wait()
}

// wsConn is one Bayeux WebSocket: the reader handles the client's batches,
// the writer holds its connects. Writes are serialised by mu.
type wsConn struct {
	srv      *Server
	conn     *websocket.Conn
	connects chan *connectReq // the newest connect for the writer

	mu sync.Mutex // serialises writes
}

// reader reads batches until the socket closes or the server stops; it
// returns the close code to send (0: the socket is broken).
func (ws *wsConn) reader(ctx context.Context, browser string, wg *sync.WaitGroup) (websocket.StatusCode, string) {
	type frame struct {
		b   []byte
		err error
	}
	frames := make(chan frame)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			_, b, err := ws.conn.Read(ctx)
			select {
			case frames <- frame{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		var f frame
		select {
		case f = <-frames:
		case <-ws.srv.done:
			return websocket.StatusGoingAway, "server shutting down"
		}
		if f.err != nil {
			return 0, ""
		}
		msgs, err := decodeBatch(f.b)
		if err != nil {
			ws.write(ctx, []Message{{Channel: "/meta/unknown", Successful: boolp(false), Error: bayeuxError(400, "", "malformed Bayeux message")}})
			continue
		}
		var replies []Message
		for i := range msgs {
			rep, cr := ws.srv.handle(ctx, &msgs[i], TransportWebSocket, browser)
			if rep != nil {
				replies = append(replies, *rep)
				continue
			}
			// The newest connect replaces a waiting one, which is answered.
			select {
			case old := <-ws.connects:
				replies = append(replies, *ws.srv.connectReply(old, heldTimeout, false))
			default:
			}
			ws.connects <- cr
		}
		if len(replies) > 0 && !ws.write(ctx, replies) {
			return 0, ""
		}
	}
}

// writer holds each connect the reader hands over and writes its answer. A socket that closes ends the hold; the client stays (it
// may come back on another transport) until it expires.
func (ws *wsConn) writer(ctx context.Context) {
	for {
		var cr *connectReq
		select {
		case cr = <-ws.connects:
		case <-ctx.Done():
			return
		}
		if !ws.holdConnect(ctx, cr) {
			return
		}
	}
}

// holdConnect holds one connect; false means stop writing.
func (ws *wsConn) holdConnect(ctx context.Context, cr *connectReq) bool {
	s := ws.srv
	expired := closedChan()
	if cr.timeout > 0 {
		expired = make(chan struct{})
		t := s.clock.AfterFunc(cr.timeout, func() { close(expired) })
		defer t.Stop()
	}
	kick := cr.c.beginHold() // after the timer: a held connect has its timer
	defer cr.c.endHold()
	out, drop, why := cr.c.hold(ctx, kick, expired, nil)
	if why == heldAborted {
		return false
	}
	n := len(out)
	out = append(out, *s.connectReply(cr, why, drop))
	if !ws.write(ctx, out) {
		cr.c.requeue(out[:n]) // the socket went: keep the deliveries for the next transport
		return false
	}
	return true
}

// write sends one frame within the write timeout.
func (ws *wsConn) write(ctx context.Context, msgs []Message) bool {
	b, err := json.Marshal(msgs)
	if err != nil {
		ws.srv.log.Error("cometd: encode frame", "err", err)
		return false
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, ws.srv.wtimeout)
	defer cancel()
	return ws.conn.Write(wctx, websocket.MessageText, b) == nil
}
