package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/client/agent"
)

// agentPool is the run's agent desktops: one agent-protocol connection per
// agent account, each in up to perAgent sessions at once. Each connection
// has one goroutine reading its frames and routing transcript events to the
// session's tracker party.
type agentPool struct {
	e     *env
	conns []*agentConn
	rr    atomic.Uint64 // round robin over conns
	board offerBoard    // offers (dense --offers)
}

type agentConn struct {
	e    *env
	pool *agentPool
	name string
	c    *agent.Client
	done chan struct{} // closed when the frame reader returns

	mu       sync.Mutex // guards sessions and closing
	sessions map[string]*agentSession
	closing  bool
}

// agentSession is one agent's presence in one session.
type agentSession struct {
	conn      *agentConn
	sessionID string
	party     *Party
	out       *Stream // ALL messages
	coach     *Stream // INT messages (nil until used)
	closed    chan struct{}
	closeOnce sync.Once
}

// dialAgents connects one socket per token.
func (e *env) dialAgents(ctx context.Context, tokens []string) (*agentPool, error) {
	p := &agentPool{e: e}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	conns := make([]*agentConn, len(tokens))
	for i, tok := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ac := &agentConn{e: e, pool: p, name: "agent-" + strconv.Itoa(i), done: make(chan struct{}),
				sessions: map[string]*agentSession{}}
			c, err := agent.Dial(ctx, e.urls.Agent, tok, &agent.Options{HTTPClient: e.hc, FrameBuffer: 4096, OnFrame: ac.onFrame})
			if err != nil {
				e.m.Error("agent.dial", err)
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("agent %d: %w", i, err)
				}
				mu.Unlock()
				return
			}
			ac.c = c
			go ac.read()
			conns[i] = ac
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			p.conns = append(p.conns, c)
		}
	}
	if firstErr != nil {
		p.close()
		return nil, fmt.Errorf("connect agents: %w", firstErr)
	}
	return p, nil
}

// onFrame records an events frame on the client's reading goroutine
// (agent.Options.OnFrame: no hand-off to read); other frames go to read.
func (ac *agentConn) onFrame(f *agent.Frame) bool {
	if f.Type != agent.FrameEvents {
		return false
	}
	ac.mu.Lock()
	as := ac.sessions[f.SessionID]
	ac.mu.Unlock()
	if as == nil {
		return true // a session this agent already left
	}
	for i := range f.Events {
		if ev := &f.Events[i]; ev.Kind == "message" {
			as.party.Receive(ev.Text)
		}
	}
	if f.State == "closed" {
		as.markClosed()
	}
	return true
}

// read routes the connection's other frames until it ends.
func (ac *agentConn) read() {
	defer close(ac.done)
	for f := range ac.c.Frames() {
		switch f.Type {
		case agent.FrameEvents:
			ac.onFrame(&f)
		case agent.FrameOffer:
			ac.pool.board.offered(ac, &f)
		case agent.FrameError:
			ac.e.m.Error("agent.frame_error", fmt.Errorf("%s (%d): %s", f.Error, f.Code, f.Message))
		}
	}
	ac.mu.Lock()
	closing := ac.closing
	ac.mu.Unlock()
	if !closing {
		ac.e.m.Error("agent.connection_lost", fmt.Errorf("%s: %v", ac.name, ac.c.Err()))
	}
}

func (as *agentSession) markClosed() { as.closeOnce.Do(func() { close(as.closed) }) }

// pick returns the next connection, round robin.
func (p *agentPool) pick() *agentConn {
	return p.conns[int(p.rr.Add(1)-1)%len(p.conns)]
}

// accept has an agent claim the interaction of session sid (the interaction
// id is the session id) and join it. It retries briefly while the
// interaction is not yet waiting.
func (p *agentPool) accept(ctx context.Context, ts *TSession, sid string) (*agentSession, error) {
	ac := p.pick()
	as := &agentSession{conn: ac, sessionID: sid, closed: make(chan struct{})}
	as.party = ts.AddParty(RoleAgent)
	as.out = ts.NewStream(as.party, VisAll)
	ac.mu.Lock()
	ac.sessions[sid] = as
	ac.mu.Unlock()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var j agent.Joined
		j, err = ac.c.Accept(ctx, sid, agent.JoinOptions{})
		if err == nil {
			if j.SessionID != "" && j.SessionID != sid {
				err = fmt.Errorf("accepted interaction %s joined session %s", sid, j.SessionID)
				break
			}
			return as, nil
		}
		var ae *agent.Error
		if !errors.As(err, &ae) || (ae.Code != agent.CodeNoIxn && ae.Code != agent.CodeNotWaiting) || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ac.forget(sid)
	p.e.m.Error("agent.accept", err)
	return nil, fmt.Errorf("%s accept %s: %w", ac.name, sid, err)
}

func (ac *agentConn) forget(sid string) {
	ac.mu.Lock()
	delete(ac.sessions, sid)
	ac.mu.Unlock()
}

// send numbers and sends the agent's next message with visibility v.
func (as *agentSession) send(ctx context.Context, v Vis) error {
	st := as.out
	if v != VisAll {
		if as.coach == nil {
			as.coach = as.party.sess.NewStream(as.party, v)
		}
		st = as.coach
	}
	seq, text := st.Next()
	_, err := as.conn.c.Send(ctx, as.sessionID, agent.Message{Text: text, MsgType: "text", Visibility: v.String()})
	if err != nil {
		as.conn.e.m.Error("agent.send", err)
		return fmt.Errorf("%s send on %s: %w", as.conn.name, as.sessionID, err)
	}
	st.Ack(seq)
	return nil
}

// sendUntil sends the agent's messages one after the other (the next once
// the previous is acknowledged) until stop ends or a send fails, then calls
// finished once. No goroutine waits per send: each answer arrives on the
// connection's reading goroutine (agent.Client.SendAsync), which sends the
// next message, and the sends of every session of a connection answered
// together go out in one write.
func (as *agentSession) sendUntil(stop context.Context, finished func()) {
	st := as.out
	var next func()
	next = func() {
		if stop.Err() != nil {
			finished()
			return
		}
		seq, text := st.Next()
		as.conn.c.SendAsync(as.sessionID, agent.Message{Text: text, MsgType: "text", Visibility: "ALL"}, func(_ agent.Ack, err error) {
			if err != nil {
				as.conn.e.m.Error("agent.send", err)
				finished()
				return
			}
			st.Ack(seq)
			next()
		})
	}
	next()
}

// release leaves the session with an after-action and reports whether the
// session closed.
func (as *agentSession) release(ctx context.Context, afterAction string) (bool, error) {
	a, err := as.conn.c.Release(ctx, as.sessionID, afterAction, "")
	as.conn.forget(as.sessionID)
	if err != nil {
		var ae *agent.Error
		if errors.As(err, &ae) && ae.Code == agent.CodeClosed {
			return true, nil
		}
		as.conn.e.m.Error("agent.release", err)
		return false, fmt.Errorf("%s release %s: %w", as.conn.name, as.sessionID, err)
	}
	return a.Closed, nil
}

// close closes every connection.
func (p *agentPool) close() {
	for _, ac := range p.conns {
		ac.mu.Lock()
		ac.closing = true
		ac.mu.Unlock()
		ac.c.Close()
		<-ac.done
	}
}
