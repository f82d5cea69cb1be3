package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The dense scenario is the reference's benchmark shape: sessions of about
// SessionLength (35 s) each, started at a steady rate so that Sessions of
// them are open at once. Each session: the customer requests a chat and
// starts receiving; the workflow sends a greeting (ALL) and a routing note
// (INT, for the agent only); after a queue wait an agent accepts the
// interaction; agent and customer exchange 3 messages each, and the agent
// adds one coaching note (INT) the customer must never see; both sides wait
// until they have everything; the agent releases with CLOSE_IF_NO_AGENTS,
// which closes the session, and the customer sees the chat end.

func denseAgents(o *Options) int { return agentsFor(o.Sessions, o.SessionsPerAgent) }

func runDense(ctx context.Context, e *env, res *Result) error {
	o := e.o
	rate := float64(o.Sessions) / o.SessionLength.Seconds() // arrivals per second
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	deadline := start.Add(o.Duration)
	var wg sync.WaitGroup
	timers := newStepTimers(ctx)
	var n int64
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n++
		wg.Add(1)
		startDenseSession(ctx, e, timers, n, wg.Done)
		sleepUntil(ctx, start.Add(time.Duration(n)*interval))
	}
	wg.Wait()
	res.Extra["arrival_rate_per_sec"] = round1(rate)
	return ctx.Err()
}

// waitBoth waits until both parties hold every message they may see.
func waitBoth(ctx context.Context, e *env, a, b *Party) bool {
	return waitAll(ctx, e, []*Party{a, b}, 15*time.Second)
}

// waitAll waits until every party holds every message it may see, for at
// most timeout in all; a timeout is counted as an error (the messages still
// missing are counted lost when the parties finish).
func waitAll(ctx context.Context, e *env, parties []*Party, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for _, p := range parties {
		if !p.WaitCaughtUp(ctx, time.Until(deadline)) {
			if ctx.Err() == nil {
				e.m.Error("session.delivery_timeout", fmt.Errorf("messages still missing after %v", timeout))
			}
			return false
		}
	}
	return true
}

// endSession cleans a session up whatever happened: an agent still in it
// force-closes it, a customer whose chat did not end disconnects, the
// customer stops receiving once it saw the end, the parties are finished
// (counting what they never received) and the session leaves the gauge.
func endSession(ctx context.Context, e *env, ts *TSession, c *customer, as *agentSession, closed bool) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if as != nil {
		// An aborted session: let what was acknowledged arrive, then close.
		as.party.WaitCaughtUp(cctx, 2*time.Second)
		c.party.WaitCaughtUp(cctx, 2*time.Second)
		if ok, err := as.release(cctx, "FORCE_CLOSE"); err == nil && ok {
			closed = true
		}
	}
	if !closed && !c.isEnded() {
		if c.disconnect(cctx) == nil {
			closed = true
		}
	}
	if c.stopRecv != nil && closed && !c.waitEnded(cctx, 10*time.Second) && ctx.Err() == nil {
		e.m.Error("customer.end_not_seen", fmt.Errorf("chat %s closed but the customer never saw chatEnded", c.id()))
	}
	c.stopReceiving()
	ts.Finish()
	if closed {
		e.m.SessionClosed()
	} else {
		e.m.SessionAbandoned()
	}
}

// sleepCtx sleeps for d unless ctx ends first; it reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool { return sleepCtx(ctx, time.Until(t)) }
