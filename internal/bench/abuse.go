package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/client/chatv2"
)

// The abuse scenario runs issue 12's attacks against a server that keeps
// its [protection] defaults, while Sessions well-behaved customers chat,
// and compares the well-behaved customers' latency and errors without and
// with the floods. It runs two phases of Duration/2: a baseline with only
// the well-behaved customers, then the same customers while these floods
// run:
//
//   - creation: 4 workers from one client address start 2,000 chats a
//     second (refused by chat-create-rate);
//   - messages: one chat sends 500 messages of 14.7 KB a second (refused
//     by party-send-rate, then by session-max-transcript-bytes);
//   - slow bodies: 1,000 connections send headers with Content-Length:
//     32000 and then nothing (cut off by body-timeout);
//   - push sockets: one chat's credentials open 200 WebSockets a second
//     (each past push-connections-per-party replaces the oldest, 4009).
//
// Client addresses come from X-Forwarded-For, believed because the server
// trusts 127.0.0.1 as a proxy (as behind a load balancer): every
// well-behaved customer has an address of its own, each flood one. After
// the phases, the server is restarted with 200 stalled connections open:
// its graceful shutdown must be quick and clean. The goal: the well-behaved
// customers' errors stay 0 and their p99 at most doubles.

// abuseConfig is appended to the bench configuration: the protections on,
// at their defaults, with the generator trusted as a proxy.
const abuseConfig = `
[protection]
chat-create-rate = 30
party-send-rate = 5
trusted-proxies = 127.0.0.1, ::1
`

// abuseCustomer is one well-behaved customer: a chat every few seconds,
// a message every 500 ms, and a refresh, from its own address.
func (e *env) abuseCustomer(ctx context.Context, addr string, until time.Time, lat *Histogram, n *atomic.Int64) {
	c := chatv2.New(e.urls.WebAPI+"/genesys/2/chat", chatv2.Options{HTTPClient: forwardedClient(e.hc, addr)})
	for ctx.Err() == nil && time.Now().Before(until) {
		t0 := time.Now()
		ch, _, err := c.RequestChat(ctx, e.service, chatv2.ChatRequest{Nickname: "Polite", UserData: map[string]string{"EmailAddress": addr + "@example.com"}})
		if err != nil {
			e.m.Error("abuse.customer.request", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		lat.RecordDuration(time.Since(t0))
		e.m.SessionOpened()
		n.Add(1)
		for i := 0; i < 8 && ctx.Err() == nil && time.Now().Before(until); i++ {
			sleepCtx(ctx, 500*time.Millisecond)
			t0 = time.Now()
			if _, err := ch.Send(ctx, fmt.Sprintf("message %d from a patient customer", i), nil); err != nil {
				e.m.Error("abuse.customer.send", err)
				continue
			}
			lat.RecordDuration(time.Since(t0))
			t0 = time.Now()
			if _, err := ch.Refresh(ctx, 1); err != nil {
				e.m.Error("abuse.customer.refresh", err)
				continue
			}
			lat.RecordDuration(time.Since(t0))
		}
		if _, err := ch.Disconnect(ctx); err != nil && ctx.Err() == nil {
			e.m.Error("abuse.customer.disconnect", err)
			e.m.SessionAbandoned()
		} else {
			e.m.SessionClosed()
		}
	}
}

// phase runs the well-behaved customers for d and returns their latency.
func (e *env) abusePhase(ctx context.Context, d time.Duration, tag int) (Percentiles, int64) {
	var lat Histogram
	var chats atomic.Int64
	until := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < e.o.Sessions; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.abuseCustomer(ctx, fmt.Sprintf("198.18.%d.%d", tag, i+1), until, &lat, &chats)
		}()
	}
	wg.Wait()
	return lat.Summary(), chats.Load()
}

func runAbuse(ctx context.Context, e *env, res *Result) error {
	half := e.o.Duration / 2
	errs0 := e.m.ErrorTotal()
	base, baseChats := e.abusePhase(ctx, half, 1)
	errsBase := e.m.ErrorTotal() - errs0
	e.logf("baseline: %d chats, p50 %.1f ms, p99 %.1f ms, %d errors", baseChats, base.P50, base.P99, errsBase)

	fctx, stop := context.WithCancel(ctx)
	var fl floodCounts
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); e.floodCreate(fctx, &fl) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); e.floodMessages(fctx, &fl) }()
	wg.Add(1)
	go func() { defer wg.Done(); e.floodSlowBodies(fctx, 1000, &fl) }()
	wg.Add(1)
	go func() { defer wg.Done(); e.floodPush(fctx, &fl) }()
	errs1 := e.m.ErrorTotal()
	flood, floodChats := e.abusePhase(ctx, half, 2)
	errsFlood := e.m.ErrorTotal() - errs1
	stop()
	wg.Wait()
	e.logf("flood: %d chats, p50 %.1f ms, p99 %.1f ms, %d errors", floodChats, flood.P50, flood.P99, errsFlood)

	x := res.Extra
	x["wellbehaved_customers"] = e.o.Sessions
	x["baseline_chats"], x["baseline_p50_ms"], x["baseline_p99_ms"], x["baseline_errors"] = baseChats, base.P50, base.P99, errsBase
	x["flood_chats"], x["flood_p50_ms"], x["flood_p99_ms"], x["flood_errors"] = floodChats, flood.P50, flood.P99, errsFlood
	if base.P99 > 0 {
		x["p99_ratio"] = round1(flood.P99 / base.P99)
	}
	x["flood_create_ok"], x["flood_create_429"] = fl.createOK.Load(), fl.create429.Load()
	x["flood_msg_ok"], x["flood_msg_429"], x["flood_msg_full"] = fl.msgOK.Load(), fl.msg429.Load(), fl.msgFull.Load()
	x["flood_slow_conns_opened"], x["flood_slow_conns_cut"] = fl.slowOpened.Load(), fl.slowCut.Load()
	x["flood_push_opened"], x["flood_push_replaced"] = fl.pushOpened.Load(), fl.pushReplaced.Load()
	x["flood_other_answers"] = fl.other.Load()
	if errsFlood > 0 || errsBase > 0 {
		res.addFailure("well-behaved customers saw %d errors at baseline and %d during the floods", errsBase, errsFlood)
	}
	return ctx.Err()
}

// verifyAbuse restarts the server with 200 stalled connections open: the
// shutdown must be clean (exit 0) and quick.
func verifyAbuse(ctx context.Context, e *env, res *Result) error {
	if e.proc == nil {
		return nil
	}
	var fl floodCounts
	conns := stallConns(e.urls.WebAPI, 200, &fl)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	t0 := time.Now()
	stopErr, startErr := e.proc.Restart(ctx, 15*time.Second)
	res.Extra["shutdown_with_stalled_seconds"] = round1(time.Since(t0).Seconds())
	res.Extra["shutdown_stalled_conns"] = len(conns)
	res.Extra["shutdown_clean"] = stopErr == nil
	if stopErr != nil {
		res.addFailure("shutdown with %d stalled connections: %v", len(conns), stopErr)
	}
	if startErr != nil {
		return fmt.Errorf("restart after the shutdown check: %w", startErr)
	}
	e.urls = e.proc.URLs
	return nil
}

// floodCounts are the floods' answers, by kind.
type floodCounts struct {
	createOK, create429             atomic.Int64
	msgOK, msg429, msgFull          atomic.Int64
	slowOpened, slowCut             atomic.Int64
	pushOpened, pushReplaced, other atomic.Int64
}

// Flood paces, per worker: the generator shares the machine's CPUs with
// the server, so an unpaced flood would measure the generator's own CPU
// use as much as the server's. 4 × 500 requests per second of creation is
// five times the "1,000 chats in 0.4 s".
const (
	createEvery = 2 * time.Millisecond // per creation worker
	msgEvery    = 2 * time.Millisecond
	pushEvery   = 5 * time.Millisecond
)

// floodCreate starts chats from one address, 500 requests a second.
func (e *env) floodCreate(ctx context.Context, fl *floodCounts) {
	hc := forwardedClient(e.hc, "203.0.113.7")
	tick := time.NewTicker(createEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.urls.WebAPI+"/genesys/2/chat/"+e.service,
			strings.NewReader("nickname=Flood"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			fl.createOK.Add(1)
		case http.StatusTooManyRequests:
			fl.create429.Add(1)
		default:
			fl.other.Add(1)
		}
	}
}

// floodMessages sends 14.7 KB messages from one chat, 500 a second.
func (e *env) floodMessages(ctx context.Context, fl *floodCounts) {
	c := chatv2.New(e.urls.WebAPI+"/genesys/2/chat", chatv2.Options{HTTPClient: forwardedClient(e.hc, "203.0.113.8")})
	ch, _, err := c.RequestChat(ctx, e.service, chatv2.ChatRequest{Nickname: "Flood"})
	if err != nil {
		return
	}
	text := strings.Repeat("x", 14700)
	tick := time.NewTicker(msgEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, err := ch.Send(ctx, text, nil)
		var ae *chatv2.APIError
		switch {
		case err == nil:
			fl.msgOK.Add(1)
		case errors.As(err, &ae) && ae.HTTPStatus == http.StatusTooManyRequests:
			fl.msg429.Add(1)
		case errors.As(err, &ae) && ae.StatusCode == 2 && ae.Has(204):
			fl.msgFull.Add(1)
		case ctx.Err() == nil:
			fl.other.Add(1)
		}
	}
}

// floodSlowBodies holds n connections that stopped sending their body,
// opening a new one whenever the server cuts one off.
func (e *env) floodSlowBodies(ctx context.Context, n int, fl *floodCounts) {
	conns := stallConns(e.urls.WebAPI, n, fl)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c.SetReadDeadline(time.Now().Add(time.Second))
				_, err := c.Read(make([]byte, 512))
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				fl.slowCut.Add(1) // answered or closed by the server
				c.Close()
				if c = stallConn(e.urls.WebAPI, fl); c == nil {
					return
				}
			}
			c.Close()
		}()
	}
	wg.Wait()
}

// floodPush opens push sockets for one chat without end.
func (e *env) floodPush(ctx context.Context, fl *floodCounts) {
	c := chatv2.New(e.urls.WebAPI+"/genesys/2/chat", chatv2.Options{HTTPClient: forwardedClient(e.hc, "203.0.113.9")})
	ch, _, err := c.RequestChat(ctx, e.service, chatv2.ChatRequest{Nickname: "Sockets"})
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		sub, err := ch.Subscribe(ctx, 0)
		if err != nil {
			sleepCtx(ctx, 10*time.Millisecond)
			continue
		}
		fl.pushOpened.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sub.Close()
			for {
				_, err := sub.Next(ctx)
				var ce *chatv2.ClosedError
				if errors.As(err, &ce) && ce.Code == 4009 {
					fl.pushReplaced.Add(1)
					return
				}
				if err != nil {
					return
				}
			}
		}()
		sleepCtx(ctx, pushEvery)
	}
}

// stallConns opens n stalled connections.
func stallConns(base string, n int, fl *floodCounts) []net.Conn {
	var out []net.Conn
	for range n {
		if c := stallConn(base, fl); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// stallConn opens a connection that sends a request's headers with
// Content-Length: 32000 and a few bytes of body, then nothing.
func stallConn(base string, fl *floodCounts) net.Conn {
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return nil
	}
	fmt.Fprintf(c, "POST /genesys/2/chat/customer-support HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 32000\r\n\r\nnickname=", u.Host)
	fl.slowOpened.Add(1)
	return c
}

// forwardedClient returns a client that sends every request as if a proxy
// forwarded it for addr.
func forwardedClient(hc *http.Client, addr string) *http.Client {
	return &http.Client{Transport: forwarded{base: hc.Transport, addr: addr}, Timeout: hc.Timeout}
}

type forwarded struct {
	base http.RoundTripper
	addr string
}

func (f forwarded) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.base.RoundTrip(r)
}
