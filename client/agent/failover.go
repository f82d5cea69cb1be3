package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/client/internal/wsconn"
)

// errLost is a request's connection ending before its answer;
// errRejoining a send or notice held back while its session is being
// joined again.
var (
	errLost      = fmt.Errorf("%w: connection lost", ErrClosed)
	errRejoining = errors.New("agent: the session is being joined again")
)

// heldLocked reports whether a request must wait until its session is
// joined again.
func (c *Client) heldLocked(req Request) bool {
	if req.Op != OpSend && req.Op != OpNotify {
		return false
	}
	s := c.sessions[req.SessionID]
	return s != nil && !s.isUp
}

// session is a session this client is in: how to join it again.
type session struct {
	userID string
	token  string  // ChatServerWebapiToken, sent when joining again
	join   Request // op join with the first join's user type, visibility, nickname
	ready  chan struct{}
	isUp   bool // ready is closed
	gen    int  // joins so far
	busy   bool // a rejoin is running
}

// joinTemplate is how to join again a session entered with req.
func joinTemplate(req Request) Request {
	j := Request{Op: OpJoin, SessionID: req.SessionID, UserType: req.UserType, Visibility: req.Visibility, Nickname: req.Nickname}
	if req.Op == OpAccept {
		j.SessionID = req.InteractionID
	}
	switch req.Op {
	case OpMonitor:
		j.UserType, j.Visibility = "SUPERVISOR", "VIP"
	case OpCoach:
		j.UserType, j.Visibility = "SUPERVISOR", "INT"
	}
	return j
}

// answered keeps the sessions this client is in up to date.
func (c *Client) answered(req Request, f Frame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch req.Op {
	case OpAccept, OpJoin, OpMonitor, OpCoach:
		if f.SessionID == "" || f.UserID == "" {
			return
		}
		s := c.sessions[f.SessionID]
		if s == nil {
			s = &session{join: joinTemplate(req), ready: make(chan struct{})}
			c.sessions[f.SessionID] = s
		}
		s.userID = f.UserID
		if f.WebapiToken != "" {
			s.token = f.WebapiToken
		} else if f.Interaction != nil {
			if t, ok := f.Interaction.UserData[KeyWebapiToken].(string); ok {
				s.token = t
			}
		}
		s.gen++
		if !s.isUp {
			close(s.ready)
			s.isUp = true
		}
	case OpBargeIn:
		if s := c.sessions[req.SessionID]; s != nil {
			s.join.Visibility = "ALL"
		}
	case OpRelease, OpHold:
		c.dropLocked(req.SessionID)
	}
}

// dropLocked forgets a session; whoever waits for it to be joined again
// goes on (and is told by the server that this client is not in it).
func (c *Client) dropLocked(id string) {
	if s := c.sessions[id]; s != nil {
		if !s.isUp {
			close(s.ready)
			s.isUp = true
		}
		delete(c.sessions, id)
	}
}

// unreadyLocked marks a session as not joined on the current connection.
func (s *session) unreadyLocked() {
	if s.isUp {
		s.ready = make(chan struct{})
		s.isUp = false
	}
}

// observe filters an unsolicited frame before it is delivered: events
// already delivered (a replay after joining again) are dropped, and a
// restored frame has the session joined again. It reports whether the
// frame is delivered.
func (c *Client) observe(f *Frame) bool {
	switch f.Type {
	case FrameEvents:
		c.mu.Lock()
		defer c.mu.Unlock()
		next := c.next[f.SessionID]
		kept := f.Events // usually every event is new: no copy then
		for i := range f.Events {
			if f.Events[i].Pos < next {
				kept = append(f.Events[:0:0], f.Events[:i]...)
				for _, ev := range f.Events[i+1:] {
					if ev.Pos >= next {
						kept = append(kept, ev)
					}
				}
				break
			}
		}
		if len(kept) < len(f.Events) {
			f.Replay = false // a continuation of what was delivered
		}
		dropped := len(kept) == 0 && len(f.Events) > 0
		f.Events = kept
		if f.Next > next {
			c.next[f.SessionID] = f.Next
		}
		if s := c.sessions[f.SessionID]; s != nil {
			gone := f.State == "closed"
			for _, ev := range kept {
				if ev.Kind == "partyLeft" && ev.From.UserID == s.userID && ev.Reason != nil && ev.Reason.Code != 3 && ev.Reason.Code != 8 {
					gone = true // removed for good (by a party, idle, ...)
				}
			}
			if gone {
				c.dropLocked(f.SessionID)
			}
		}
		return !dropped
	case FrameRestored:
		c.mu.Lock()
		s := c.sessions[f.SessionID]
		if s != nil {
			if f.State == "closed" {
				c.dropLocked(f.SessionID)
				s = nil
			} else {
				s.unreadyLocked()
			}
		}
		c.mu.Unlock()
		if s != nil {
			go c.rejoin(f.SessionID)
		}
	}
	return true
}

// deliberate reports whether the server closed the socket on purpose for
// this client (slow consumer, oversized frame, protocol error): no
// failover then.
func deliberate(err error) bool {
	code, _ := CloseStatus(err)
	switch code {
	case CloseSlowConsumer, int(websocket.StatusMessageTooBig), int(websocket.StatusProtocolError),
		int(websocket.StatusPolicyViolation), int(websocket.StatusUnsupportedData):
		return true
	}
	return false
}

func (c *Client) quitting() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// failover replaces a failed connection by one to the next node, and has
// every session joined again; nil when the client ends instead.
func (c *Client) failover(old *wsconn.Conn, cause error) *wsconn.Conn {
	if len(c.urls) < 2 || c.quitting() || deliberate(cause) {
		c.fail(cause)
		return nil
	}
	old.CloseNow()
	c.mu.Lock()
	lost := c.dropPendingLocked() // the caller's Do decides whether to send it again
	for _, s := range c.sessions {
		s.unreadyLocked()
	}
	i := c.cur
	c.mu.Unlock()
	notifyLost(lost)
	deadline := time.Now().Add(c.opts.FailoverTimeout)
	pause := 100 * time.Millisecond
	var last error
	for time.Now().Before(deadline) {
		i = (i + 1) % len(c.urls)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ws, hello, err := c.dial(ctx, c.urls[i])
		cancel()
		if err == nil {
			c.mu.Lock()
			c.ws, c.hello, c.cur = ws, hello, i
			close(c.moved)
			c.moved = make(chan struct{})
			ids := make([]string, 0, len(c.sessions))
			for id := range c.sessions {
				ids = append(ids, id)
			}
			c.mu.Unlock()
			if c.quitting() {
				ws.CloseNow()
				c.fail(cause)
				return nil
			}
			for _, id := range ids {
				go c.rejoin(id)
			}
			return ws
		}
		last = err
		if i == c.cur || len(c.urls) == 1 {
			// A round over every node failed: wait a little more.
			select {
			case <-time.After(pause):
			case <-c.quit:
				c.fail(cause)
				return nil
			}
			pause = min(2*pause, 2*time.Second)
		}
	}
	c.fail(fmt.Errorf("agent: failover after %v: no node answered: %w", cause, last))
	return nil
}

// rejoin joins a session again as the same party, retrying while the
// session cannot be reached yet (its failed owner's lease has not ended,
// nobody has restored it yet), up to FailoverTimeout.
func (c *Client) rejoin(sessionID string) {
	c.mu.Lock()
	s := c.sessions[sessionID]
	if s == nil || s.busy {
		c.mu.Unlock()
		return
	}
	s.busy = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		s.busy = false
		c.mu.Unlock()
	}()
	deadline := time.Now().Add(c.opts.FailoverTimeout)
	for time.Now().Before(deadline) && !c.quitting() {
		c.mu.Lock()
		if c.sessions[sessionID] != s {
			c.mu.Unlock()
			return
		}
		req := s.join
		req.UserID = s.userID
		if s.token != "" {
			req.UserData = map[string]any{KeyWebapiToken: s.token}
		}
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_, err := c.Do(ctx, req)
		cancel()
		var e *Error
		switch {
		case err == nil:
			return
		case errors.Is(err, errLost):
			return // the next failover joins again
		case errors.As(err, &e) && e.Code == CodeJoined:
			// The old party is still there (its node has not noticed the
			// lost connection yet): try again.
		case errors.As(err, &e) && e.Code != CodeNoSession && e.Code != CodeNodeDown && e.Code != CodeNoIxn:
			c.mu.Lock()
			if c.sessions[sessionID] == s {
				c.dropLocked(sessionID)
			}
			c.mu.Unlock()
			return
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-c.quit:
			return
		}
	}
}

// resendable are the operations Do sends again after a failover: reads,
// and send, which the server applies once per request id.
var resendable = map[string]bool{OpSend: true, OpPing: true, OpList: true, OpWorkbin: true, OpHistory: true}

// sessionGen is how many times a session was joined so far (0: not in it).
func (c *Client) sessionGen(id string) int {
	if id == "" {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sessions[id]; s != nil {
		return s.gen
	}
	return 0
}

// retry reports whether Do sends req again: it was lost with its
// connection ws (failover), or its node did not answer (CodeNodeDown); a
// send waits until its session is joined again (gen: the joins before the
// try).
func (c *Client) retry(ctx context.Context, req Request, ws *wsconn.Conn, gen int, err error) bool {
	if err == nil || !resendable[req.Op] && !(req.Op == OpNotify && errors.Is(err, errRejoining)) {
		// A notice has no id the server keeps: it is sent again only when
		// it was held back, never after it may have been applied.
		return false
	}
	var e *Error
	lost := (errors.Is(err, errLost) && len(c.urls) > 1) || errors.Is(err, errRejoining)
	down := errors.As(err, &e) && e.Code == CodeNodeDown
	if !lost && !down {
		return false
	}
	c.mu.Lock()
	moved, cur := c.moved, c.ws
	var ready chan struct{}
	if req.Op == OpSend || req.Op == OpNotify {
		s := c.sessions[req.SessionID]
		if s == nil {
			c.mu.Unlock()
			return false
		}
		if down && s.gen == gen {
			s.unreadyLocked() // a restored frame follows: it joins again
		}
		ready = s.ready
	}
	failed := c.err != nil
	c.mu.Unlock()
	switch {
	case failed:
		return false
	case ready == nil && down:
		return false
	case ready == nil && cur != ws:
		return true // the failover is over already
	case ready == nil:
		ready = moved
	}
	select {
	case <-ready:
		return true
	case <-ctx.Done():
		return false
	case <-c.done:
		return false
	}
}
