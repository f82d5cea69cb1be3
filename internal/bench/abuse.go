package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
// with the floods. The run is cut into windows of about abuseWindow that
// alternate, baseline first: baseline windows have only the well-behaved
// customers; flood windows start these floods afresh and stop them at the
// window's end:
//
//   - creation: 4 workers from one client address start 2,000 chats a
//     second (refused by chat-create-rate);
//   - messages: one chat sends 500 messages of 14.7 KB a second (refused
//     by party-send-rate, then by session-max-transcript-bytes);
//   - slow bodies: 1,000 connections send headers with Content-Length:
//     32000 and then nothing (cut off by body-timeout);
//   - push sockets: one chat's credentials open 200 WebSockets a second
//     (each past push-connections-per-party replaces the oldest, 4009;
//     past push-connect-rate the handshake is refused with 429).
//
// Interleaving the windows puts both kinds under the same machine state
// (the other work on a shared machine drifts over a run), and the
// customers chat without pause across them. A round trip is counted in
// the window it started and ended in; one that spans a switch, or falls in
// the settling pause after a flood window (its floods stopping and their
// connections closing), is counted apart ("transition"), in neither.
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
push-connect-rate = 60
cometd-handshake-rate = 60
cometd-clients-per-address = 100
trusted-proxies = 127.0.0.1, ::1
`

// abuseWindow is the length of one baseline or flood window, and
// abuseSettle the pause after a flood window that counts for neither.
const (
	abuseWindow = 10 * time.Second
	abuseSettle = time.Second
)

// Phases of the abuse run, as abuseMeter.phase holds them.
const (
	phaseTransition = iota
	phaseBaseline
	phaseFlood
	phaseCount
)

// abuseMeter sorts the well-behaved customers' round trips and errors by
// the phase they happened in.
type abuseMeter struct {
	phase  atomic.Int32
	lat    [phaseCount]Histogram
	errs   [phaseCount]atomic.Int64
	chats  [phaseCount]atomic.Int64
	window [phaseCount]atomic.Int64 // windows run, by phase
}

// timed runs one round trip and records it in its phase's histogram (or
// its error in its phase's count).
func (m *abuseMeter) timed(e *env, kind string, f func() error) error {
	p0 := m.phase.Load()
	t0 := time.Now()
	err := f()
	d := time.Since(t0)
	p := p0
	if m.phase.Load() != p0 {
		p = phaseTransition
	}
	if err != nil {
		e.m.Error(kind, err)
		m.errs[p].Add(1)
		return err
	}
	m.lat[p].RecordDuration(d)
	return nil
}

// abuseCustomer is one well-behaved customer: a chat every few seconds,
// a message every 500 ms, and a refresh, from its own address.
func (e *env) abuseCustomer(ctx context.Context, addr string, until time.Time, m *abuseMeter) {
	c := chatv2.New(e.urls.WebAPI+"/genesys/2/chat", chatv2.Options{HTTPClient: forwardedClient(e.hc, addr)})
	for ctx.Err() == nil && time.Now().Before(until) {
		var ch *chatv2.Chat
		err := m.timed(e, "abuse.customer.request", func() (err error) {
			ch, _, err = c.RequestChat(ctx, e.service, chatv2.ChatRequest{Nickname: "Polite", UserData: map[string]string{"EmailAddress": addr + "@example.com"}})
			return err
		})
		if err != nil {
			sleepCtx(ctx, time.Second)
			continue
		}
		e.m.SessionOpened()
		m.chats[m.phase.Load()].Add(1)
		for i := 0; i < 8 && ctx.Err() == nil && time.Now().Before(until); i++ {
			sleepCtx(ctx, 500*time.Millisecond)
			text := fmt.Sprintf("message %d from a patient customer", i)
			if m.timed(e, "abuse.customer.send", func() error { _, err := ch.Send(ctx, text, nil); return err }) != nil {
				continue
			}
			m.timed(e, "abuse.customer.refresh", func() error { _, err := ch.Refresh(ctx, 1); return err })
		}
		if _, err := ch.Disconnect(ctx); err != nil && ctx.Err() == nil {
			e.m.Error("abuse.customer.disconnect", err)
			m.errs[m.phase.Load()].Add(1)
			e.m.SessionAbandoned()
		} else {
			e.m.SessionClosed()
		}
	}
}

// runFloods starts every flood and returns the function that stops them
// and waits until they have ended.
func (e *env) runFloods(ctx context.Context, fl *floodCounts) (stop func()) {
	fctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); e.floodCreate(fctx, fl) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); e.floodMessages(fctx, fl) }()
	wg.Add(1)
	go func() { defer wg.Done(); e.floodSlowBodies(fctx, 1000, fl) }()
	wg.Add(1)
	go func() { defer wg.Done(); e.floodPush(fctx, fl) }()
	return func() { cancel(); wg.Wait() }
}

// abuseWindows is how many windows a run of d has: an even number (as
// many flood windows as baseline ones), at least 2.
func abuseWindows(d time.Duration) int {
	n := int((d + abuseWindow/2) / abuseWindow)
	return max(2, n+n%2)
}

func runAbuse(ctx context.Context, e *env, res *Result) error {
	windows := abuseWindows(e.o.Duration)
	win := e.o.Duration / time.Duration(windows)
	m := &abuseMeter{}
	m.phase.Store(phaseBaseline)
	until := time.Now().Add(e.o.Duration + time.Duration(windows/2)*abuseSettle)
	var cwg sync.WaitGroup
	for i := 0; i < e.o.Sessions; i++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			e.abuseCustomer(ctx, fmt.Sprintf("198.18.%d.%d", i/250+1, i%250+1), until, m)
		}()
	}
	var fl floodCounts
	for w := 0; w < windows && ctx.Err() == nil; w++ {
		if w%2 == 0 {
			m.phase.Store(phaseBaseline)
			m.window[phaseBaseline].Add(1)
			sleepCtx(ctx, win)
			continue
		}
		m.phase.Store(phaseFlood)
		m.window[phaseFlood].Add(1)
		stop := e.runFloods(ctx, &fl)
		sleepCtx(ctx, win)
		m.phase.Store(phaseTransition)
		stop()
		sleepCtx(ctx, abuseSettle)
	}
	m.phase.Store(phaseTransition)
	cwg.Wait()

	base, flood, trans := m.lat[phaseBaseline].Summary(), m.lat[phaseFlood].Summary(), m.lat[phaseTransition].Summary()
	errsBase, errsFlood, errsTrans := m.errs[phaseBaseline].Load(), m.errs[phaseFlood].Load(), m.errs[phaseTransition].Load()
	e.logf("baseline: %d windows, %d round trips, p50 %.1f ms, p99 %.1f ms, %d errors", windows/2, m.lat[phaseBaseline].Count(), base.P50, base.P99, errsBase)
	e.logf("flood: %d windows, %d round trips, p50 %.1f ms, p99 %.1f ms, %d errors", windows/2, m.lat[phaseFlood].Count(), flood.P50, flood.P99, errsFlood)

	x := res.Extra
	x["wellbehaved_customers"] = e.o.Sessions
	x["windows"], x["window_seconds"] = windows, round1(win.Seconds())
	x["baseline_chats"], x["baseline_p50_ms"], x["baseline_p99_ms"], x["baseline_errors"] = m.chats[phaseBaseline].Load(), base.P50, base.P99, errsBase
	x["baseline_round_trips"] = m.lat[phaseBaseline].Count()
	x["flood_chats"], x["flood_p50_ms"], x["flood_p99_ms"], x["flood_errors"] = m.chats[phaseFlood].Load(), flood.P50, flood.P99, errsFlood
	x["flood_round_trips"] = m.lat[phaseFlood].Count()
	x["transition_round_trips"], x["transition_p99_ms"], x["transition_errors"] = m.lat[phaseTransition].Count(), trans.P99, errsTrans
	if base.P99 > 0 {
		x["p99_ratio"] = round1(flood.P99 / base.P99)
	}
	x["flood_create_ok"], x["flood_create_429"] = fl.createOK.Load(), fl.create429.Load()
	x["flood_msg_ok"], x["flood_msg_429"], x["flood_msg_full"] = fl.msgOK.Load(), fl.msg429.Load(), fl.msgFull.Load()
	x["flood_slow_conns_opened"], x["flood_slow_conns_cut"] = fl.slowOpened.Load(), fl.slowCut.Load()
	x["flood_push_opened"], x["flood_push_replaced"], x["flood_push_refused"] = fl.pushOpened.Load(), fl.pushReplaced.Load(), fl.pushRefused.Load()
	x["flood_other_answers"] = fl.other.Load()
	if errsFlood > 0 || errsBase > 0 || errsTrans > 0 {
		res.addFailure("well-behaved customers saw %d errors at baseline, %d during the floods and %d between", errsBase, errsFlood, errsTrans)
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
	pushRefused                     atomic.Int64
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

// floodCreate starts chats from one address, 500 requests a second, on a
// kept-alive connection (rawClient: the generator's CPU per request is
// kept small; the server sees an ordinary client).
func (e *env) floodCreate(ctx context.Context, fl *floodCounts) {
	u, err := url.Parse(e.urls.WebAPI)
	if err != nil {
		return
	}
	body := "nickname=Flood"
	c := newRawClient(u.Host, fmt.Appendf(nil, "POST /genesys/2/chat/%s HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nX-Forwarded-For: 203.0.113.7\r\nContent-Length: %d\r\n\r\n%s",
		e.service, u.Host, len(body), body))
	defer c.close()
	tick := time.NewTicker(createEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		status, err := c.do()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				fl.other.Add(1)
			}
		case status == http.StatusOK:
			fl.createOK.Add(1)
		case status == http.StatusTooManyRequests:
			fl.create429.Add(1)
		default:
			fl.other.Add(1)
		}
	}
}

// floodMessages sends 14.7 KB messages from one chat, 500 a second, on a
// kept-alive connection (rawClient).
func (e *env) floodMessages(ctx context.Context, fl *floodCounts) {
	c := chatv2.New(e.urls.WebAPI+"/genesys/2/chat", chatv2.Options{HTTPClient: forwardedClient(e.hc, "203.0.113.8")})
	ch, _, err := c.RequestChat(ctx, e.service, chatv2.ChatRequest{Nickname: "Flood"})
	if err != nil {
		return
	}
	u, err := url.Parse(e.urls.WebAPI)
	if err != nil {
		return
	}
	form := url.Values{"userId": {ch.UserID}, "secureKey": {ch.SecureKey}, "alias": {ch.Alias()}, "message": {strings.Repeat("x", 14700)}}
	body := form.Encode()
	rc := newRawClient(u.Host, fmt.Appendf(nil, "POST /genesys/2/chat/%s/%s/send HTTP/1.1\r\nHost: %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nX-Forwarded-For: 203.0.113.8\r\nContent-Length: %d\r\n\r\n%s",
		e.service, ch.ID, u.Host, len(body), body))
	defer rc.close()
	tick := time.NewTicker(msgEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		status, err := rc.do()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				fl.other.Add(1)
			}
		case status == http.StatusTooManyRequests:
			fl.msg429.Add(1)
		case status == http.StatusOK && bytes.Contains(rc.body, []byte(`"statusCode":0`)):
			fl.msgOK.Add(1)
		case status == http.StatusOK && bytes.Contains(rc.body, []byte(`"statusCode":2`)) && bytes.Contains(rc.body, []byte(`"code":204`)):
			fl.msgFull.Add(1)
		default:
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
			if ctx.Err() == nil {
				fl.pushRefused.Add(1) // push-connect-rate: 429 before the upgrade
			}
			sleepCtx(ctx, pushEvery)
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
