package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/client/internal/wsconn"
)

// Error is a request the server refused (an error frame).
type Error struct {
	Code    int    // one of the Code* constants
	Name    string // its name, e.g. "already-accepted"
	Message string
	Field   string // the request field at fault, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("agent: %s (%d): %s", e.Name, e.Code, e.Message)
	if e.Field != "" {
		s += " [field " + e.Field + "]"
	}
	return s
}

// HTTPError is a refused WebSocket handshake, e.g. 401 for a wrong token.
type HTTPError struct {
	StatusCode int
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("agent: handshake refused: HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// ErrClosed is returned by requests on a closed client.
var ErrClosed = errors.New("agent: connection closed")

// Options tune a Client. The zero value is ready to use.
type Options struct {
	// HTTPClient makes the handshake; default http.DefaultClient.
	HTTPClient *http.Client
	// FrameBuffer is how many unsolicited frames (events, stray answers)
	// wait for Frames to be read before the client stops reading the
	// socket; default 1024.
	FrameBuffer int
	// Header is added to the handshake (besides Authorization).
	Header http.Header
	// Nodes are further agent URLs of the same cluster. With Nodes set,
	// a connection that fails (not one the server closed on purpose, nor
	// Close) is replaced by one to the next node in turn, and the client
	// joins its sessions again as the same parties (failover.go): events
	// go on from the last position delivered, with no gap and no
	// duplicate, and a send that was in flight is sent again with its id,
	// which the server applies at most once.
	Nodes []string
	// OnFrame, when set, is called on the client's reading goroutine with
	// each frame before it would go to Frames; a frame it reports handled
	// (true) does not go to Frames. It spares a program that only records
	// frames (a load generator) a goroutine hand-off per frame. It must
	// return quickly and must not wait for anything the reading goroutine
	// does, such as the answer to one of this client's requests. The
	// frame is the callee's to keep.
	OnFrame func(*Frame) bool
	// FailoverTimeout bounds how long the client tries to reconnect, and
	// to join a session again (a failed node's session is restored once
	// its lease ends); default 2 minutes.
	FailoverTimeout time.Duration
}

// Client is one agent-protocol connection. Its methods are safe for
// concurrent use. Read Frames (events and frames nobody waits for) for as
// long as the client lives; a client whose frames are not read stops reading
// its socket and is eventually dropped by the server as a slow consumer.
type Client struct {
	urls   []string
	token  string
	opts   Options
	hello  Frame
	frames chan Frame
	done   chan struct{}
	quit   chan struct{} // closed by Close: stop delivering frames
	moved  chan struct{} // replaced at each failover (closed: a new socket is up)

	quitOnce sync.Once

	mu       sync.Mutex // guards the following
	ws       *wsconn.Conn
	cur      int // index of the current URL
	pending  map[string]*call
	nextID   int
	err      error
	sessions map[string]*session // sessions this client is in (failover.go)
	next     map[string]int      // per session, the position after the last event delivered
}

// call is a request waiting for its answer: on ch, or (SendAsync) by a
// call of async on the reading goroutine.
type call struct {
	req   Request
	data  []byte
	ch    chan Frame // closed: the connection ended
	async func(f *Frame, err error)
}

// Dial connects to the agent protocol at url (ws://host:port or
// http://host:port; Path is added when url has no path) with an agent
// token, and waits for the server's hello.
func Dial(ctx context.Context, url, token string, opts *Options) (*Client, error) {
	if opts == nil {
		opts = &Options{}
	}
	o := *opts
	if o.FrameBuffer <= 0 {
		o.FrameBuffer = 1024
	}
	if o.FailoverTimeout <= 0 {
		o.FailoverTimeout = 2 * time.Minute
	}
	c := &Client{urls: append([]string{url}, o.Nodes...), token: token, opts: o,
		frames: make(chan Frame, o.FrameBuffer), done: make(chan struct{}), quit: make(chan struct{}),
		moved: make(chan struct{}), pending: make(map[string]*call),
		sessions: make(map[string]*session), next: make(map[string]int)}
	ws, hello, err := c.dial(ctx, url)
	if err != nil {
		return nil, err
	}
	c.ws, c.hello = ws, hello
	go c.readLoop()
	return c, nil
}

// wsURL is the WebSocket URL of a node's address.
func wsURL(url string) string {
	switch {
	case strings.HasPrefix(url, "http://"):
		url = "ws://" + strings.TrimPrefix(url, "http://")
	case strings.HasPrefix(url, "https://"):
		url = "wss://" + strings.TrimPrefix(url, "https://")
	}
	if rest := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(url, "ws://"), "wss://"), "/", 2); len(rest) == 1 || rest[1] == "" {
		url = strings.TrimSuffix(url, "/") + Path
	}
	return url
}

// dial opens one socket and reads its hello.
func (c *Client) dial(ctx context.Context, url string) (*wsconn.Conn, Frame, error) {
	url = wsURL(url)
	h := c.opts.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	ws, resp, err := wsconn.Dial(ctx, url, c.opts.HTTPClient, h)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, Frame{}, &HTTPError{StatusCode: resp.StatusCode}
		}
		return nil, Frame{}, fmt.Errorf("agent: dial %s: %w", url, err)
	}
	ws.SetReadLimit(-1)
	stop := context.AfterFunc(ctx, func() { ws.CloseNow() })
	_, data, err := ws.Read(nil)
	if !stop() && err != nil {
		err = ctx.Err()
	}
	var hello Frame
	if err == nil {
		if json.Unmarshal(data, &hello) != nil || hello.Type != FrameHello {
			err = fmt.Errorf("agent: first frame is not a hello: %.200s", data)
		}
	} else {
		err = fmt.Errorf("agent: read hello: %w", err)
	}
	if err != nil {
		ws.CloseNow()
		return nil, Frame{}, err
	}
	return ws, hello, nil
}

// Hello returns the server's first frame: the authenticated account and
// the largest frame the server reads (of the current connection).
func (c *Client) Hello() Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hello
}

func (c *Client) conn() *wsconn.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws
}

func (c *Client) readLoop() {
	defer close(c.done)
	defer close(c.frames)
	ws := c.conn()
	var data []byte // ReadEach's buffer for the frames it reads through Read
	for {
		// ReadEach hands the frames over on this goroutine and, between
		// them, waits for the socket without a read that finds nothing.
		var bad error
		err := ws.ReadEach(data[:0], func(_ websocket.MessageType, msg []byte) bool {
			var f Frame
			if err := decodeFrame(msg, &f); err != nil { // decodeFrame copies what it keeps
				bad = err
				return false
			}
			c.dispatch(&f)
			return true
		})
		if bad != nil {
			c.fail(fmt.Errorf("agent: undecodable frame from server: %w", bad))
			ws.Close(websocket.StatusProtocolError, "undecodable frame")
			return
		}
		if err == nil {
			continue
		}
		if ws = c.failover(ws, err); ws == nil {
			return
		}
	}
}

// dispatch hands a frame to the request it answers, the client's state,
// OnFrame or Frames.
func (c *Client) dispatch(f *Frame) {
	if (f.Type == FrameResult || f.Type == FrameError) && f.ID != "" {
		c.mu.Lock()
		cl := c.pending[f.ID]
		delete(c.pending, f.ID)
		c.mu.Unlock()
		if cl != nil {
			if cl.async != nil {
				cl.async(f, nil)
			} else {
				cl.ch <- *f
			}
			return
		}
	}
	if !c.observe(f) {
		return
	}
	if c.opts.OnFrame != nil && c.opts.OnFrame(f) {
		return
	}
	select {
	case c.frames <- *f:
	case <-c.quit:
	}
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	lost := c.dropPendingLocked()
	c.mu.Unlock()
	notifyLost(lost)
}

// dropPendingLocked ends every request waiting for an answer: the waiting
// ones are told at once, those of SendAsync are returned, to be told
// (notifyLost) once c.mu is released.
func (c *Client) dropPendingLocked() (async []*call) {
	for id, cl := range c.pending {
		if cl.async != nil {
			async = append(async, cl)
		} else {
			close(cl.ch)
		}
		delete(c.pending, id)
	}
	return async
}

func notifyLost(calls []*call) {
	for _, cl := range calls {
		cl.async(nil, fmt.Errorf("%w while waiting for %s %s", errLost, cl.req.Op, cl.req.ID))
	}
}

// Frames delivers events frames and every frame no request waits for
// (answers to ids sent with WriteRaw, error frames without an id, restored
// frames). It is closed when the connection ends.
func (c *Client) Frames() <-chan Frame { return c.frames }

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (nil while it is open). A close by
// the server carries its status code and reason: see CloseStatus.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// CloseStatus returns the WebSocket close code and reason the server sent,
// or -1 if the connection did not end with a close frame.
func CloseStatus(err error) (code int, reason string) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code), ce.Reason
	}
	return -1, ""
}

// Close closes the connection normally. The server removes this agent's
// parties from their sessions at once (reason 3, disconnect).
func (c *Client) Close() error {
	c.quitOnce.Do(func() { close(c.quit) })
	err := c.conn().Close(websocket.StatusNormalClosure, "bye")
	<-c.done
	if err != nil && !errors.Is(err, context.Canceled) {
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return nil
		}
		return err
	}
	return nil
}

// Do sends req and waits for its answer. An empty req.ID is filled in. An
// error frame is returned as *Error. With Options.Nodes, a send whose
// connection fails (or whose node did not answer, CodeNodeDown) is sent
// again, with the same id, once its session is joined again.
func (c *Client) Do(ctx context.Context, req Request) (Frame, error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return Frame{}, fmt.Errorf("%w: %v", ErrClosed, c.err)
	}
	if req.ID == "" {
		c.nextID++
		req.ID = "c" + strconv.Itoa(c.nextID)
	}
	c.mu.Unlock()
	data, err := encodeRequest(&req)
	if err != nil {
		return Frame{}, fmt.Errorf("agent: encode %s: %w", req.Op, err)
	}
	for {
		gen := c.sessionGen(req.SessionID)
		f, ws, err := c.do(ctx, req, data)
		if !c.retry(ctx, req, ws, gen, err) {
			if err == nil {
				c.answered(req, f)
			}
			return f, err
		}
	}
}

// do sends one try of a request and waits for its answer.
func (c *Client) do(ctx context.Context, req Request, data []byte) (Frame, *wsconn.Conn, error) {
	cl := &call{req: req, data: data, ch: make(chan Frame, 1)}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return Frame{}, nil, fmt.Errorf("%w: %v", ErrClosed, c.err)
	}
	if c.heldLocked(req) {
		ws := c.ws
		c.mu.Unlock()
		return Frame{}, ws, errRejoining
	}
	c.pending[req.ID] = cl
	ws := c.ws
	c.mu.Unlock()
	err := ws.Write(ctx, websocket.MessageText, data)
	if err != nil {
		c.mu.Lock()
		if c.pending[req.ID] == cl {
			delete(c.pending, req.ID)
		}
		c.mu.Unlock()
		return Frame{}, ws, fmt.Errorf("%w: send %s: %v", errLost, req.Op, err)
	}
	select {
	case f, ok := <-cl.ch:
		if !ok {
			return Frame{}, ws, fmt.Errorf("%w while waiting for %s %s", errLost, req.Op, req.ID)
		}
		if f.Type == FrameError {
			return f, ws, &Error{Code: f.Code, Name: f.Error, Message: f.Message, Field: f.Field}
		}
		return f, ws, nil
	case <-ctx.Done():
		c.mu.Lock()
		if c.pending[req.ID] == cl {
			delete(c.pending, req.ID)
		}
		c.mu.Unlock()
		return Frame{}, ws, fmt.Errorf("agent: %s %s: %w", req.Op, req.ID, ctx.Err())
	}
}

// WriteRaw sends data as one text (or binary) frame without waiting for
// anything; answers arrive on Frames. It is for tests and diagnostics.
func (c *Client) WriteRaw(ctx context.Context, data []byte, binary bool) error {
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	return c.conn().Write(ctx, typ, data)
}

// List returns the interactions waiting in queue ("" for every queue).
func (c *Client) List(ctx context.Context, queue string) ([]Interaction, error) {
	f, err := c.Do(ctx, Request{Op: OpList, Queue: queue})
	return f.Interactions, err
}

// JoinOptions describe how to appear in a session.
type JoinOptions struct {
	UserType   string // AGENT (default: the account's type) or SUPERVISOR
	Visibility string // ALL (default), INT or VIP
	Nickname   string // default: the account's name
	// UserData may carry GCTI_Chat_SetPartyStyle=BOT and
	// GCTI_Chat_SessionPassword.
	UserData map[string]any
	Text     string // greeting carried on the newParty event
}

// Joined is the result of Accept or Join.
type Joined struct {
	SessionID   string
	UserID      string
	Interaction *Interaction // set by Accept
}

// Accept claims a waiting interaction and joins its session. When another
// agent was first, the error is an *Error with Code CodeTaken.
func (c *Client) Accept(ctx context.Context, interactionID string, o JoinOptions) (Joined, error) {
	f, err := c.Do(ctx, Request{Op: OpAccept, InteractionID: interactionID, UserType: o.UserType,
		Visibility: o.Visibility, Nickname: o.Nickname, UserData: o.UserData, Text: o.Text})
	return Joined{SessionID: f.SessionID, UserID: f.UserID, Interaction: f.Interaction}, err
}

// Join joins a session directly.
func (c *Client) Join(ctx context.Context, sessionID string, o JoinOptions) (Joined, error) {
	f, err := c.Do(ctx, Request{Op: OpJoin, SessionID: sessionID, UserType: o.UserType,
		Visibility: o.Visibility, Nickname: o.Nickname, UserData: o.UserData, Text: o.Text})
	return Joined{SessionID: f.SessionID, UserID: f.UserID}, err
}

// Ack is the answer to a request that appended an event.
type Ack struct {
	Pos     int // position of the (last) event appended
	EventID int
	Closed  bool // the session closed (release)
}

func ack(f Frame, err error) (Ack, error) {
	a := Ack{EventID: f.EventID, Closed: f.Closed}
	if f.Pos != nil {
		a.Pos = *f.Pos
	}
	return a, err
}

// Message is a message to send.
type Message struct {
	Text       string
	MsgType    string // free-form, e.g. "text"
	TreatAs    string // NORMAL or SYSTEM
	Visibility string // ALL (default), INT, VIP
	ReceiverID string // makes it a direct message
	// EventAttributes carry rich content; Text is then the plain fallback.
	EventAttributes map[string]any
}

// Send appends a message to a session.
func (c *Client) Send(ctx context.Context, sessionID string, m Message) (Ack, error) {
	return ack(c.Do(ctx, Request{Op: OpSend, SessionID: sessionID, Text: m.Text, MsgType: m.MsgType,
		TreatAs: m.TreatAs, Visibility: m.Visibility, ReceiverID: m.ReceiverID, EventAttributes: m.EventAttributes}))
}

// Notice is a notice to send.
type Notice struct {
	// Type is TYPING_STARTED, TYPING_STOPPED, USER_PUSHED_URL, USER_CUSTOM,
	// SYS_COMMAND or USER_UPDATE_NICK (Text is then the new nickname).
	Type            string
	Text            string
	Visibility      string
	ReceiverID      string
	UserData        map[string]any
	EventAttributes map[string]any
}

// Notify appends a notice to a session.
func (c *Client) Notify(ctx context.Context, sessionID string, n Notice) (Ack, error) {
	return ack(c.Do(ctx, Request{Op: OpNotify, SessionID: sessionID, NoticeType: n.Type, Text: n.Text,
		Visibility: n.Visibility, ReceiverID: n.ReceiverID, UserData: n.UserData, EventAttributes: n.EventAttributes}))
}

// ChangeNickname renames this agent's party in a session.
func (c *Client) ChangeNickname(ctx context.Context, sessionID, nick string) (Ack, error) {
	return c.Notify(ctx, sessionID, Notice{Type: "USER_UPDATE_NICK", Text: nick})
}

// Release leaves a session with an after-action: KEEP_ALIVE (default),
// CLOSE_IF_NO_AGENTS or FORCE_CLOSE. Ack.Closed reports whether the session
// closed.
func (c *Client) Release(ctx context.Context, sessionID, afterAction, farewell string) (Ack, error) {
	return ack(c.Do(ctx, Request{Op: OpRelease, SessionID: sessionID, AfterAction: afterAction, Text: farewell}))
}

// Ping asks the server for an answer.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.Do(ctx, Request{Op: OpPing})
	return err
}
