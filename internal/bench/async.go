package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// The async scenario holds many concurrent sessions of which 1 in
// ActiveEvery is active. A dormant session is a customer that requested a
// chat, got the workflow's greeting (read with one refresh) and went quiet:
// no connection, no polling, as an async chat's customer whose app is
// closed. An active session has its customer receiving in the run's mode and
// an agent who accepted it, both sending a message every MessageInterval
// until the hold ends. Sessions are created by a bounded pool of workers as
// fast as the server takes them; once all exist they are held for Duration;
// then the active ones are released with close. Dormant sessions stay open
// until the server stops.

func asyncAgents(o *Options) int {
	return agentsFor((o.Sessions+o.ActiveEvery-1)/o.ActiveEvery, o.SessionsPerAgent)
}

func runAsync(ctx context.Context, e *env, res *Result) error {
	o := e.o
	holdCtx, endHold := context.WithCancel(ctx)
	defer endHold()
	var next atomic.Int64
	var created, dormant atomic.Int64
	var active sync.WaitGroup
	var workers sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < 64; w++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > int64(o.Sessions) {
					return
				}
				ts := e.tr.NewSession()
				c, err := e.newCustomer(ctx, ts, n, false)
				if err != nil {
					continue
				}
				created.Add(1)
				if e.espMessage(ctx, c.id(), ts.NewStream(nil, VisAll)) != nil {
					ts.Finish()
					continue
				}
				if n%int64(o.ActiveEvery) == 0 {
					active.Add(1)
					go func() {
						defer active.Done()
						asyncActive(ctx, holdCtx, e, ts, c)
					}()
					continue
				}
				// Dormant: read the greeting once, then nothing.
				if c.refreshOnce(ctx) == nil {
					dormant.Add(1)
				}
				c.party.Finish()
			}
		}()
	}
	workers.Wait()
	ramp := time.Since(t0)
	e.logf("async: %d sessions created in %v (%.0f/s); holding for %v", created.Load(), ramp.Round(time.Millisecond),
		float64(created.Load())/ramp.Seconds(), o.Duration)
	sleepCtx(ctx, o.Duration)
	if e.proc != nil {
		if st, err := e.proc.Stat(); err == nil {
			res.Extra["server_rss_held_bytes"] = st.RSS
		}
	}
	endHold()
	active.Wait()
	res.Extra["ramp_sec"] = round1(ramp.Seconds())
	res.Extra["sessions_dormant"] = dormant.Load()
	res.Extra["sessions_active"] = created.Load() - dormant.Load()
	return ctx.Err()
}

// asyncActive runs one active session until holdCtx ends.
func asyncActive(ctx, holdCtx context.Context, e *env, ts *TSession, c *customer) {
	var as *agentSession
	closed := false
	defer func() { endSession(ctx, e, ts, c, as, closed) }()
	if err := c.startReceiving(ctx); err != nil {
		return
	}
	var err error
	if as, err = e.agents.accept(ctx, ts, c.id()); err != nil {
		return
	}
	half := e.o.MessageInterval / 2
	for holdCtx.Err() == nil {
		j := time.Duration(float64(half) * (0.8 + 0.4*rand.Float64()))
		if !sleepCtx(holdCtx, j) || as.send(ctx, VisAll) != nil {
			break
		}
		if !sleepCtx(holdCtx, j) || c.send(ctx) != nil {
			break
		}
	}
	if ctx.Err() != nil || !waitBoth(ctx, e, c.party, as.party) {
		return
	}
	closed, err = as.release(ctx, "CLOSE_IF_NO_AGENTS")
	if err == nil {
		as = nil
	}
}
