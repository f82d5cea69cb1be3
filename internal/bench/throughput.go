package bench

import (
	"context"
	"sync"
	"time"
)

// The throughput scenario sets up Sessions sessions, each with a customer
// receiving in the run's mode and an agent that accepted it, then has both
// sides of every session send as fast as they can (each sender one message
// at a time: the next goes once the previous was acknowledged, hence
// durable) for Duration. Every message has one recipient, the other side.
// The rates are taken over the sending phase plus the drain that follows.
// With Rate set, a fixed-rate phase (rated.go) comes first on the same
// sessions; the full-speed window starts after it.

func throughputAgents(o *Options) int { return agentsFor(o.Sessions, o.SessionsPerAgent) }

func runThroughput(ctx context.Context, e *env, res *Result) error {
	o := e.o
	type pair struct {
		ts *TSession
		c  *customer
		as *agentSession
	}
	pairs := make([]*pair, o.Sessions)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := &pair{ts: e.tr.NewSession()}
			c, err := e.newCustomer(ctx, p.ts, int64(i+1), false)
			if err != nil {
				return
			}
			p.c = c
			if c.startReceiving(ctx) != nil {
				endSession(ctx, e, p.ts, c, nil, false)
				return
			}
			if p.as, err = e.agents.accept(ctx, p.ts, c.id()); err != nil {
				endSession(ctx, e, p.ts, c, nil, false)
				return
			}
			pairs[i] = p
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var parties []*Party
	for _, p := range pairs {
		if p != nil {
			parties = append(parties, p.c.party, p.as.party)
		}
	}
	if o.Rate > 0 {
		var senders []pacedSender
		for _, p := range pairs {
			if p != nil {
				senders = append(senders, p.c.send, func(ctx context.Context) error { return p.as.send(ctx, VisAll) })
			}
		}
		runRated(ctx, e, res, senders, parties)
	}
	e.logf("throughput: %d sessions ready; sending for %v", e.m.Concurrent(), o.Duration)

	w := e.startWindow()
	sendCtx, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	// The agents' sends run on their connections' reading goroutines
	// (sendUntil); agentsLeft counts the sessions still sending.
	var agentsLeft sync.WaitGroup
	for _, p := range pairs {
		if p == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sendCtx.Err() == nil && p.c.send(ctx) == nil {
			}
		}()
		agentsLeft.Add(1)
		p.as.sendUntil(sendCtx, agentsLeft.Done)
	}
	wg.Wait()
	if !waitGroupCtx(ctx, &agentsLeft) {
		return ctx.Err()
	}
	// Drain: every acknowledged message must arrive.
	waitAll(ctx, e, parties, 15*time.Second)
	e.endWindow(w, res)
	for _, p := range pairs {
		if p == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			closed, err := p.as.release(ctx, "CLOSE_IF_NO_AGENTS")
			as := p.as
			if err == nil {
				as = nil
			}
			endSession(ctx, e, p.ts, p.c, as, closed)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// waitGroupCtx waits for wg or the end of ctx; it reports whether wg was
// done.
func waitGroupCtx(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
