package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The cometd scenario holds Sessions CometD (Bayeux) customers, half on
// websocket and half on long-polling, each with a chat requested over
// /service/chatV2/customer-support and a /meta/connect always held. Once all
// exist, for Duration the workflow (ESP) writes to 1 in ActiveEvery of the
// chats every MessageInterval, and the latency from that write to its
// delivery through the customer's held connect is measured; every message
// must arrive once, in order. Then the customers disconnect.

func runCometD(ctx context.Context, e *env, res *Result) error {
	o := e.o
	base := e.urls.WebAPI + "/genesys/cometd"
	type cust struct {
		b     *bayeux
		ts    *TSession
		party *Party
		sid   string
		key   string
		st    *Stream
	}
	custs := make([]*cust, o.Sessions)
	holdCtx, endHold := context.WithCancel(ctx)
	defer endHold()
	var next atomic.Int64
	var ws, lp atomic.Int64
	var loops, workers sync.WaitGroup
	t0 := time.Now()
	for range 64 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > int64(o.Sessions) {
					return
				}
				useWS := n%2 == 0
				b, err := dialBayeux(ctx, base, e.hc, useWS)
				if err != nil {
					e.m.Error("cometd.handshake", err)
					continue
				}
				if _, err := b.connect(ctx); err != nil { // the first connect is answered at once
					e.m.Error("cometd.connect", err)
					b.close()
					continue
				}
				if err := b.subscribe(ctx); err != nil {
					e.m.Error("cometd.subscribe", err)
					b.close()
					continue
				}
				c := &cust{b: b, ts: e.tr.NewSession()}
				c.party = c.ts.AddParty(RoleCustomer)
				out, err := b.publish(ctx, map[string]any{"operation": "requestChat", "nickname": "customer-" + itoa(n),
					"userData": map[string]string{"BenchRun": e.runID}})
				if err != nil {
					e.m.Error("cometd.request_chat", err)
					b.close()
					continue
				}
				// The answer is queued for the next connect (or came with
				// the publish frame on websocket).
				for c.sid == "" && ctx.Err() == nil {
					for _, d := range deliveries(out) {
						if d.ChatID != "" {
							c.sid, c.key = d.ChatID, d.SecureKey
						}
					}
					if c.sid != "" {
						break
					}
					if out, err = b.connect(ctx); err != nil {
						break
					}
				}
				if c.sid == "" {
					e.m.Error("cometd.request_chat", err)
					b.close()
					continue
				}
				e.m.SessionOpened()
				if useWS {
					ws.Add(1)
				} else {
					lp.Add(1)
				}
				c.st = c.ts.NewStream(nil, VisAll)
				custs[n-1] = c
				loops.Add(1)
				go func() {
					defer loops.Done()
					for holdCtx.Err() == nil {
						out, err := c.b.connect(holdCtx)
						for _, d := range deliveries(out) {
							for i := range d.Messages {
								if d.Messages[i].Type == "Message" {
									c.party.Receive(d.Messages[i].Text)
								}
							}
						}
						if err != nil && holdCtx.Err() == nil {
							e.m.Error("cometd.connect", err)
							return
						}
					}
				}()
			}
		}()
	}
	workers.Wait()
	ramp := time.Since(t0)
	e.logf("cometd: %d clients (%d websocket, %d long-polling) with a chat in %v; writing to 1 in %d for %v",
		ws.Load()+lp.Load(), ws.Load(), lp.Load(), ramp.Round(time.Millisecond), o.ActiveEvery, o.Duration)
	if e.proc != nil {
		if st, err := e.proc.Stat(); err == nil {
			res.Extra["server_rss_held_bytes"] = st.RSS
		}
	}
	w := e.startWindow()
	sendCtx, stop := context.WithTimeout(ctx, o.Duration)
	var senders sync.WaitGroup
	for i, c := range custs {
		if c == nil || i%o.ActiveEvery != 0 {
			continue
		}
		senders.Add(1)
		go func() {
			defer senders.Done()
			// Spread the first writes over one interval.
			if !sleepCtx(sendCtx, time.Duration(i%1000)*o.MessageInterval/1000) {
				return
			}
			for sendCtx.Err() == nil {
				if e.espMessage(ctx, c.sid, c.st) != nil || !sleepCtx(sendCtx, o.MessageInterval) {
					return
				}
			}
		}()
	}
	senders.Wait()
	stop()
	var parties []*Party
	for _, c := range custs {
		if c != nil {
			parties = append(parties, c.party)
		}
	}
	waitAll(ctx, e, parties, 15*time.Second)
	e.endWindow(w, res)
	endHold()
	loops.Wait()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range custs {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.party.Finish()
			c.ts.Finish()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			c.b.publish(dctx, map[string]any{"operation": "disconnect", "secureKey": c.key})
			c.b.disconnect(dctx)
			e.m.SessionClosed()
		}()
	}
	wg.Wait()
	res.Extra["ramp_sec"] = round1(ramp.Seconds())
	res.Extra["clients_websocket"] = ws.Load()
	res.Extra["clients_long_polling"] = lp.Load()
	return ctx.Err()
}
