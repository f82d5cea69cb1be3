package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/confab/confab/client/agent"
)

// The dense scenario's offers variant (--offers): the agent accounts
// serve the queue with a capacity of SessionsPerAgent, each desk sets
// itself ready, and a session's agent is the one the server offers the
// chat to; it accepts at once. The time from the interaction's creation
// (when it is queued) to the offer frame's arrival at the desk is
// recorded as queued→offered (both clocks are this machine's).

// offerBoard hands offers to the sessions waiting for them. An offer may
// arrive before its session asks for it.
type offerBoard struct {
	mu      sync.Mutex // guards waiting
	waiting map[string]chan *agentConn
	latency Histogram // queued→offered, ns
}

func (b *offerBoard) slot(sid string) chan *agentConn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waiting == nil {
		b.waiting = map[string]chan *agentConn{}
	}
	ch := b.waiting[sid]
	if ch == nil {
		ch = make(chan *agentConn, 1)
		b.waiting[sid] = ch
	}
	return ch
}

func (b *offerBoard) drop(sid string) {
	b.mu.Lock()
	delete(b.waiting, sid)
	b.mu.Unlock()
}

// offered records an offer frame received by ac.
func (b *offerBoard) offered(ac *agentConn, f *agent.Frame) {
	if f.Interaction != nil {
		b.latency.RecordDuration(time.Since(f.Interaction.CreatedAt))
	}
	select {
	case b.slot(f.InteractionID) <- ac:
	default: // a second offer of the same chat (after an expiry): the first stands
	}
}

// ready sets every desk ready.
func (p *agentPool) ready(ctx context.Context) error {
	for _, ac := range p.conns {
		if err := ac.c.SetState(ctx, agent.StateReady, ""); err != nil {
			return fmt.Errorf("%s ready: %w", ac.name, err)
		}
	}
	return nil
}

// acceptOffer waits for the offer of session sid and accepts it on the
// desk that got it.
func (p *agentPool) acceptOffer(ctx context.Context, ts *TSession, sid string) (*agentSession, error) {
	ch := p.board.slot(sid)
	defer p.board.drop(sid)
	t := time.NewTimer(60 * time.Second)
	defer t.Stop()
	var ac *agentConn
	select {
	case ac = <-ch:
	case <-t.C:
		err := errors.New("no offer within 60s")
		p.e.m.Error("agent.no_offer", err)
		return nil, fmt.Errorf("session %s: %w", sid, err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	as := &agentSession{conn: ac, sessionID: sid, closed: make(chan struct{})}
	as.party = ts.AddParty(RoleAgent)
	as.out = ts.NewStream(as.party, VisAll)
	ac.mu.Lock()
	ac.sessions[sid] = as
	ac.mu.Unlock()
	if _, err := ac.c.Accept(ctx, sid, agent.JoinOptions{}); err != nil {
		ac.forget(sid)
		p.e.m.Error("agent.accept_offer", err)
		return nil, fmt.Errorf("%s accept offer %s: %w", ac.name, sid, err)
	}
	return as, nil
}

// offerResults adds the queued→offered percentiles to the result.
func (p *agentPool) offerResults(res *Result) {
	s := p.board.latency.Summary()
	res.Extra["offers"] = p.board.latency.Count()
	res.Extra["queued_to_offered_ms_p50"] = s.P50
	res.Extra["queued_to_offered_ms_p99"] = s.P99
	res.Extra["queued_to_offered_ms_max"] = s.Max
}
