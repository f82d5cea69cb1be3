package agent

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
	"github.com/confab/confab/internal/wsbatch"
)

// Tuning of one connection.
const (
	ackQueue     = 64   // requests applied but not yet answered
	answersKept  = 1024 // request ids remembered for duplicate detection
	readBatch    = 256  // events per events frame
	ackTimeout   = 30 * time.Second
	hardFrameMul = 64 // a frame this many times the limit closes the socket
)

var (
	errTooLarge  = errors.New("frame too large")
	errHardLimit = errors.New("frame far too large")
)

// conn is one agent socket.
type conn struct {
	h     *Handler
	ws    *websocket.Conn
	agent store.Agent
	// token is the socket's bearer token (relay.go dials other nodes
	// with it); forwarded marks a socket another node opened for its own.
	token     string
	forwarded bool

	ctx    context.Context // ends when the socket is torn down
	cancel context.CancelFunc
	cork   *wsbatch.Conn // the socket under ws
	out    chan *[]byte  // encoded frames for the writer (from h.bufs)
	// acks carries applied requests, in order, to the acknowledger: as
	// pointers (pooled, Handler.ackPool), so that the channel's buffer is
	// 64 words, not 64 pendingAcks of 680 bytes that every GC cycle scans
	// on every agent socket.
	acks chan *pendingAck
	// acking counts the requests sent to acks and not yet answered: at 0
	// the read loop answers a request with nothing to wait for itself.
	acking atomic.Int64
	killed chan struct{}  // closed by kill: the writer closes the socket
	wg     sync.WaitGroup // writer, acknowledger, pinger, pump, watchers

	backlog backlog // the watchers' backpressure (backpressure.go)

	notes    chan *routing.Notice // routing's notices for the pump (as pointers: a buffer of 256 words, not of 256 104-byte notices)
	overflow chan struct{}        // closed when notes overflowed
	overOnce sync.Once

	killOnce   sync.Once
	killCode   websocket.StatusCode // set before killed is closed
	killReason string

	mu      sync.Mutex           // guards the following
	desk    *routing.Desk        // nil when the account's routing state is on another socket
	guest   *routing.Desk        // a forwarded socket's guest desk, made on first use (deskFor)
	members map[string]*member   // by session id
	answers map[string][]byte    // request id → its answer, encoded for a duplicate (kept.go); nil until answered
	order   []string             // ids in answers, oldest first
	remotes map[string]*remote   // sessions served by another node, by id (relay.go)
	ups     map[string]*upstream // sockets to other nodes, by URL
}

// member is this socket's party in one session.
type member struct {
	sess   *chat.Session
	userID string
	// joinPos is the position of its newParty: a user id that joined
	// again (a rejoin) has an earlier partyLeft that is not its own.
	joinPos int
	stop    chan struct{} // closed when the session moved away (Moved)
}

// pendingAck is an applied request waiting to be answered.
type pendingAck struct {
	id    string
	dup   bool // answer with the earlier answer to id
	frame wire.Frame
	wait  chat.Receipt // what must become durable first, when waits
	waits bool
	relay *relayWait // a request relayed to another node: its answer
	after func()     // run once the answer is queued
	// stamped: the answer is a result naming the event it appended, at
	// pos and at; answer points the frame's Pos and Time at them.
	stamped bool
	pos     int
	at      time.Time
}

// keptAnswer is an answer as it is queued and kept for duplicate
// detection, with the values its frame points to: one allocation.
type keptAnswer struct {
	f   wire.Frame
	pos int
	at  time.Time
}

func newConn(h *Handler, ws *websocket.Conn, a store.Agent) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		h: h, ws: ws, agent: a, ctx: ctx, cancel: cancel,
		out:      make(chan *[]byte, h.opts.Queue),
		acks:     make(chan *pendingAck, ackQueue),
		killed:   make(chan struct{}),
		members:  make(map[string]*member),
		answers:  make(map[string][]byte),
		remotes:  make(map[string]*remote),
		ups:      make(map[string]*upstream),
		notes:    make(chan *routing.Notice, noteQueue),
		overflow: make(chan struct{}),
	}
}

// noteQueue is how many routing notices may wait for the pump.
const noteQueue = 256

// sink is the desk's routing.Sink: it never blocks (routing calls it
// with its lock held); a socket whose notices overflow is dropped as a
// slow consumer by the pump.
func (c *conn) sink(n routing.Notice) {
	select {
	case c.notes <- &n:
	default:
		c.overOnce.Do(func() { close(c.overflow) })
	}
}

// pump turns routing's notices into frames, in order.
func (c *conn) pump() {
	defer c.wg.Done()
	for {
		select {
		case n := <-c.notes:
			if !c.enqueue(encodeNotice(*n)) {
				return
			}
		case <-c.overflow:
			if c.h.opts.SlowConsumer != nil {
				c.h.opts.SlowConsumer()
			}
			c.kill(wire.CloseSlowConsumer, "slow consumer")
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// serve runs the connection until the socket ends, then removes the
// agent's parties from their sessions and waits for its goroutines.
func (c *conn) serve() {
	c.wg.Add(4)
	go c.writer()
	go c.acknowledger()
	go c.pinger()
	go c.pump()
	hello := wire.Frame{Type: wire.FrameHello, MaxFrameSize: c.h.opts.MaxFrame(),
		Agent: &wire.AgentInfo{ID: c.agent.ID, Name: c.agent.Name, UserType: c.userType().String(),
			Type: string(c.agent.Type), Queues: c.agent.Queues, Capacity: c.agent.Capacity}}
	c.enqueue(hello)
	// The desk starts not-ready; its first state frame follows hello. A
	// second socket of the same account has no desk.
	if c.forwarded {
		// Another node's socket for its own: routing state lives there.
	} else if desk, err := c.h.opts.Router.Login(routing.AccountOf(c.agent), c.sink); err == nil {
		c.mu.Lock()
		c.desk = desk
		c.mu.Unlock()
	}
	c.readLoop()
	c.teardown()
}

func (c *conn) readLoop() {
	var buf []byte // reused: a request is decoded (its strings copied) before the next read
	for {
		// No context: a read ends when the socket closes (teardown, or the
		// writer's close after kill), and one with a Done channel would
		// cost the library a timer registration per frame.
		typ, r, err := c.ws.Reader(context.Background())
		if err != nil {
			return
		}
		limit := c.h.opts.MaxFrame()
		if cap(buf) > maxPooledFrame {
			buf = nil
		}
		data, err := readFrameInto(buf[:0], r, limit)
		buf = data
		switch {
		case errors.Is(err, errTooLarge):
			c.enqueue(errorFrame("", "", fail(wire.CodeTooLarge, "", "frame larger than %d bytes (xml-request-max-size)", limit)))
			continue
		case errors.Is(err, errHardLimit):
			c.ws.Close(websocket.StatusMessageTooBig, "frame far too large")
			return
		case err != nil:
			return
		}
		if typ != websocket.MessageText {
			c.enqueue(errorFrame("", "", fail(wire.CodeBadFrame, "", "frames must be text (JSON), not binary")))
			continue
		}
		if !c.handle(data) {
			return
		}
	}
}

// readFrameInto reads one message of at most limit bytes. A larger message is
// read to its end and discarded (errTooLarge), unless it is larger than
// hardFrameMul times the limit (errHardLimit).
//
// The frame is appended to buf (which it may grow).
func readFrameInto(buf []byte, r io.Reader, limit int) ([]byte, error) {
	lr := io.LimitedReader{R: r, N: int64(limit) + 1} // concrete: stays on the stack
	data, err := readAllInto(buf, &lr)
	if err != nil {
		return nil, err
	}
	if len(data) <= limit {
		return data, nil
	}
	hard := int64(limit) * hardFrameMul
	n, err := io.Copy(io.Discard, io.LimitReader(r, hard))
	if err != nil {
		return nil, err
	}
	if n == hard {
		return nil, errHardLimit
	}
	return nil, errTooLarge
}

// readAllInto is io.ReadAll appending to buf.
func readAllInto(buf []byte, r *io.LimitedReader) ([]byte, error) {
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if err == io.EOF {
				return buf, nil
			}
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
	}
}

// handle decodes and applies one frame and queues its answer. It reports
// false when the connection is ending.
func (c *conn) handle(data []byte) bool {
	began := time.Now()
	req, ferr := decodeRequest(data)
	req.raw = data
	if ferr != nil {
		c.h.counted("invalid", began, true)
		c.enqueue(errorFrame(req.ID, req.Op, ferr))
		return true
	}
	c.mu.Lock()
	_, seen := c.answers[req.ID]
	if !seen {
		c.answers[req.ID] = nil
		c.order = append(c.order, req.ID)
		if len(c.order) > answersKept {
			delete(c.answers, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.mu.Unlock()
	a := pendingAck{id: req.ID, dup: true}
	if !seen {
		a = c.apply(&req)
	}
	c.h.counted(req.Op, began, a.frame.Type == wire.FrameError)
	if a.ready() && c.acking.Load() == 0 {
		// Nothing to wait for and no answer before it pending: answered
		// here, in order, without a trip through the acknowledger.
		c.answer(a, nil)
		return true
	}
	c.acking.Add(1)
	p := c.h.getAck()
	*p = a
	select {
	case c.acks <- p:
		return true
	case <-c.ctx.Done():
		c.h.putAck(p)
		return false
	}
}

// getAck returns a pendingAck to carry to the acknowledger; putAck gives
// it back, cleared (so the pool pins none of its frame's strings).
func (h *Handler) getAck() *pendingAck {
	if p, ok := h.ackPool.Get().(*pendingAck); ok {
		return p
	}
	return new(pendingAck)
}

func (h *Handler) putAck(p *pendingAck) {
	*p = pendingAck{}
	h.ackPool.Put(p)
}

// ready reports whether a can be answered at once: it waits for no other
// node and for nothing to become durable.
func (a *pendingAck) ready() bool { return a.relay == nil && (!a.waits || a.wait.Done()) }

// acknowledger answers applied requests in order, each once what it
// appended is durable.
func (c *conn) acknowledger() {
	defer c.wg.Done()
	var w ackWindow
	defer w.stop()
	for {
		select {
		case p := <-c.acks:
			c.answer(*p, &w)
			c.h.putAck(p)
			c.acking.Add(-1)
		case <-c.ctx.Done():
			return
		}
	}
}

// ackWindow is the acknowledger's bound on waiting for durability: one
// context with a deadline ackTimeout ahead, renewed once a second, so that
// every wait is bounded by ackTimeout less at most a second without a
// timer per answer.
type ackWindow struct {
	ctx    context.Context
	cancel context.CancelFunc
	made   time.Time
}

func (w *ackWindow) get(parent context.Context) context.Context {
	now := time.Now()
	if w.ctx == nil || now.Sub(w.made) > time.Second {
		w.stop()
		w.ctx, w.cancel = context.WithTimeout(parent, ackTimeout)
		w.made = now
	}
	return w.ctx
}

func (w *ackWindow) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

func (c *conn) answer(a pendingAck, w *ackWindow) {
	if a.dup {
		c.mu.Lock()
		kept := c.answers[a.id]
		c.mu.Unlock()
		if kept != nil {
			c.enqueueEncoded(kept)
		}
		return
	}
	if a.relay != nil {
		c.waitRelay(&a)
		if c.ctx.Err() != nil {
			return
		}
	}
	if a.waits && !a.wait.Done() { // w is nil only for a ready answer (handle)
		err := a.wait.Wait(w.get(c.ctx))
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			a.frame = errorFrame(a.id, a.frame.Op, fail(wire.CodeNotDurable, "", "applied, but the store did not confirm it: %v", err))
		}
	}
	ka := &keptAnswer{f: a.frame}
	if a.stamped && ka.f.Type == wire.FrameResult {
		ka.pos, ka.at = a.pos, a.at
		ka.f.Pos, ka.f.Time = &ka.pos, &ka.at
	}
	keep := false
	c.mu.Lock()
	if ka.f.Type == wire.FrameError && ka.f.Code == wire.CodeNodeDown {
		// Nothing was applied here: the same id may be sent again.
		delete(c.answers, a.id)
	} else {
		_, keep = c.answers[a.id]
	}
	c.mu.Unlock()
	if !keep {
		c.enqueue(ka.f)
	} else {
		buf, kept := c.encodeKept(&ka.f) // encoded outside mu
		c.mu.Lock()
		if _, ok := c.answers[a.id]; ok {
			c.answers[a.id] = kept
		}
		c.mu.Unlock()
		if buf != nil {
			c.backlog.queued.Add(1)
			c.queueEncoded(buf)
		} else {
			c.enqueue(ka.f) // logs the encoding error
		}
	}
	if a.after != nil {
		a.after()
	}
}

func (c *conn) pinger() {
	defer c.wg.Done()
	t := time.NewTicker(c.h.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(c.ctx, c.h.opts.WriteTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.ws.CloseNow()
				return
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// teardown removes the agent's parties from their sessions (reason 3,
// disconnect), stops the goroutines and closes the socket.
func (c *conn) teardown() {
	c.leaveAll()
	c.mu.Lock()
	c.cancel() // under mu: no goroutine is added (goLocked) after it
	c.mu.Unlock()
	c.ws.CloseNow()
	c.wg.Wait()
	c.releaseWatchers() // stops a stall timer left by the last held-back watcher
}

// leaveAll removes the agent's parties from their sessions with reason 3
// (disconnect); the socket is no longer in any session afterwards.
func (c *conn) leaveAll() {
	if d := c.routingDesk(); d != nil {
		d.Logout()
	}
	c.mu.Lock()
	guest := c.guest
	c.mu.Unlock()
	if guest != nil {
		guest.Logout()
	}
	c.closeUpstreams()
	c.mu.Lock()
	members := c.members
	c.members = map[string]*member{}
	c.mu.Unlock()
	for _, m := range members {
		_, _, err := m.sess.Leave(chat.LeaveRequest{UserID: m.userID, After: chat.KeepAlive, Reason: chat.LeftDisconnect})
		if err != nil && !errors.Is(err, chat.ErrClosed) && !errors.Is(err, chat.ErrNotParticipant) {
			c.h.log.Warn("agent: remove disconnected party", "session", m.sess.ID(), "err", err)
		}
	}
}

// checkMember refuses a join when the socket is in the session already or
// in too many sessions.
func (c *conn) checkMember(sessionID string) *opError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.members[sessionID] != nil {
		return fail(wire.CodeJoined, "sessionId", "this socket is already in session %s", sessionID)
	}
	if len(c.members) >= c.h.opts.MaxSessions {
		return fail(wire.CodeLimit, "", "this socket is in %d sessions, the most allowed", len(c.members))
	}
	return nil
}

func (c *conn) addMember(m *member) {
	c.mu.Lock()
	if m.stop == nil {
		m.stop = make(chan struct{})
	}
	c.members[m.sess.ID()] = m
	c.mu.Unlock()
}

func (c *conn) member(sessionID string) *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[sessionID]
}

func (c *conn) dropMember(m *member) {
	c.mu.Lock()
	if c.members[m.sess.ID()] == m {
		delete(c.members, m.sess.ID())
	}
	c.mu.Unlock()
}

// userType is the user type the account joins sessions as by default.
func (c *conn) userType() chat.UserType {
	if c.agent.Type == store.UserSupervisor {
		return chat.Supervisor
	}
	return chat.Agent
}

// routingDesk returns the socket's desk, or nil.
func (c *conn) routingDesk() *routing.Desk {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.desk
}
