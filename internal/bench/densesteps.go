package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// The dense session's timeline as a chain of steps on runtime timers: no
// goroutine waits through a session's gaps (about 35 s of a session's life
// is gaps), one runs only while a step makes its calls. A parked goroutine
// per session was a stack the generator's GC scanned every cycle and a
// goroutine its scheduler kept, 10,000 of them at 10,000 sessions; the
// steps, their order, the gaps between them and the calls are those of a
// goroutine sleeping between them (the next step starts its gap once the
// previous step's calls returned).

// stepTimers holds the steps waiting out a gap, so that the end of the
// run's context ends them at once, as it woke a sleeping session: each
// waiting step's session is then cleaned up (endSession) instead.
//
// Concurrency: safe for concurrent use; mu guards the following.
type stepTimers struct {
	mu      sync.Mutex
	waiting map[*denseRun]*time.Timer
	stopped bool
}

func newStepTimers(ctx context.Context) *stepTimers {
	st := &stepTimers{waiting: map[*denseRun]*time.Timer{}}
	context.AfterFunc(ctx, st.stop)
	return st
}

// after runs step on its own goroutine d from now, or ends the session
// (r.abort) at once when the run is over or as soon as it ends.
func (st *stepTimers) after(r *denseRun, d time.Duration, step func()) {
	st.mu.Lock()
	if st.stopped || r.ctx.Err() != nil {
		st.mu.Unlock()
		r.abort()
		return
	}
	st.waiting[r] = time.AfterFunc(d, func() {
		st.mu.Lock()
		_, mine := st.waiting[r]
		delete(st.waiting, r)
		st.mu.Unlock()
		if mine { // else stop took it and ends the session
			step()
		}
	})
	st.mu.Unlock()
}

// stop ends every waiting session (the run's context ended).
func (st *stepTimers) stop() {
	st.mu.Lock()
	st.stopped = true
	waiting := st.waiting
	st.waiting = map[*denseRun]*time.Timer{}
	st.mu.Unlock()
	for r, t := range waiting {
		t.Stop()
		go r.abort()
	}
}

// denseRun is one session's state between its steps; one step runs at a
// time (each is started by the end of the one before).
type denseRun struct {
	ctx    context.Context
	e      *env
	timers *stepTimers
	done   func() // called once the session is cleaned up
	g      time.Duration
	ts     *TSession
	c      *customer
	as     *agentSession
	closed bool
	turn   int // the exchange's round (0..2)
}

// startDenseSession starts session n's timeline: its first step runs on a
// goroutine of its own now, and done is called when the session is over.
func startDenseSession(ctx context.Context, e *env, timers *stepTimers, n int64, done func()) {
	// Spread the steps: a gap of length/8 with ±20% jitter per session.
	g := time.Duration(float64(e.o.SessionLength) / 8 * (0.8 + 0.4*rand.Float64()))
	r := &denseRun{ctx: ctx, e: e, timers: timers, done: done, g: g}
	go r.begin(n)
}

// abort cleans the session up where it stopped (a failure, or the run's end).
func (r *denseRun) abort() {
	if r.c != nil {
		endSession(r.ctx, r.e, r.ts, r.c, r.as, r.closed)
	}
	r.done()
}

// begin: the customer requests a chat and starts receiving, the workflow
// sends the greeting and the routing note, and the agent comes after the
// queue wait (or takes the server's offer).
func (r *denseRun) begin(n int64) {
	ctx, e := r.ctx, r.e
	r.ts = e.tr.NewSession()
	c, err := e.newCustomer(ctx, r.ts, n, false)
	if err != nil {
		r.done()
		return
	}
	r.c = c
	if c.startReceiving(ctx) != nil {
		r.abort()
		return
	}
	greet, note := r.ts.NewStream(nil, VisAll), r.ts.NewStream(nil, VisInt)
	if e.espMessage(ctx, c.id(), greet) != nil || e.espMessage(ctx, c.id(), note) != nil {
		r.abort()
		return
	}
	if e.o.Offers {
		if r.as, err = e.agents.acceptOffer(ctx, r.ts, c.id()); err != nil {
			r.abort()
			return
		}
		r.timers.after(r, r.g, r.agentTurn)
		return
	}
	r.timers.after(r, r.g, r.accept)
}

// accept: an agent accepts the interaction.
func (r *denseRun) accept() {
	as, err := r.e.agents.accept(r.ctx, r.ts, r.c.id())
	if err != nil {
		r.abort()
		return
	}
	r.as = as
	r.timers.after(r, r.g, r.agentTurn)
}

// agentTurn: the agent's message of this round (and, in the second, the
// coaching note the customer must never see).
func (r *denseRun) agentTurn() {
	if r.as.send(r.ctx, VisAll) != nil {
		r.abort()
		return
	}
	if r.turn == 1 && r.as.send(r.ctx, VisInt) != nil {
		r.abort()
		return
	}
	r.timers.after(r, r.g, r.customerTurn)
}

// customerTurn: the customer's message of this round; after the third,
// both sides wait until they have everything.
func (r *denseRun) customerTurn() {
	if r.c.send(r.ctx) != nil {
		r.abort()
		return
	}
	if r.turn++; r.turn < 3 {
		r.timers.after(r, r.g, r.agentTurn)
		return
	}
	if !waitBoth(r.ctx, r.e, r.c.party, r.as.party) {
		r.abort()
		return
	}
	r.timers.after(r, r.g, r.release)
}

// release: the agent releases with CLOSE_IF_NO_AGENTS, which closes the
// session, and the customer sees the chat end.
func (r *denseRun) release() {
	closed, err := r.as.release(r.ctx, "CLOSE_IF_NO_AGENTS")
	if err == nil && !closed {
		r.e.m.Error("session.not_closed", fmt.Errorf("release with CLOSE_IF_NO_AGENTS left session %s open", r.c.id()))
	}
	r.closed, r.as = closed, nil // released
	r.abort()
}
