package agent_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/routing"
)

// Backpressure on the agent socket's watchers (backpressure.go). The
// sockets of these tests have kernel buffers of 128 KiB on both sides
// (more than loopback's segment size of 64 KiB: smaller ones make the
// connection crawl on zero-window probes), so a client that stops reading
// blocks the server's writer after about a MiB and the queue fills from the
// session watchers: without backpressure a burst of one-message frames
// overflows the queue (4001).

const sockBuf = 128 << 10

// smallBuffers shrinks the kernel buffers of the sockets it accepts.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(sockBuf)
		tc.SetReadBuffer(sockBuf)
	}
	return c, err
}

// slowEnv is an agent handler on the fake clock behind a small-buffered
// listener, with its slow-consumer count and connections open.
type slowEnv struct {
	engine  *chat.Engine
	handler *agent.Handler
	clock   *clock.Fake
	url     string
	slow    atomic.Int64
	open    atomic.Int64
}

const slowWriteTimeout = time.Minute // the stall bound (and the real bound of each write)

func newSlowEnv(t *testing.T, queue, queueBytes int, tune ...func(*agent.Options)) *slowEnv {
	t.Helper()
	var journals chat.Journals
	e := &slowEnv{engine: chat.New(chat.Options{Journal: &journals}), clock: clock.NewFake(time.Unix(1_000_000, 0))}
	router := routing.New(routing.Options{Engine: e.engine})
	journals = append(journals, router)
	opts := agent.Options{Engine: e.engine, Router: router, Agents: testAgents,
		MaxFrame: func() int { return 64 << 10 }, Queue: queue, QueueBytes: queueBytes, MaxSessions: 64,
		Clock: e.clock, WriteTimeout: slowWriteTimeout,
		SlowConsumer: func() { e.slow.Add(1) },
		Connected: func(open bool) {
			if open {
				e.open.Add(1)
			} else {
				e.open.Add(-1)
			}
		}}
	for _, f := range tune {
		f(&opts)
	}
	e.handler = agent.New(opts)
	mux := http.NewServeMux()
	e.handler.Register(mux)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	e.url = srv.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.handler.Shutdown(ctx)
		srv.Close()
		router.Flush(ctx)
	})
	return e
}

// pausedReader is an agent client with a small receive buffer whose frames
// are consumed by a goroutine that can be paused: paused, the client stops
// reading its socket.
type pausedReader struct {
	c    *wire.Client
	hold sync.Mutex // held while paused

	mu   sync.Mutex       // guards the following
	got  map[string][]int // message numbers received, by session
	n    int
	want int
	all  chan struct{} // closed once n reaches want
}

// wantInOrder checks, with r.mu held, that each of ss got rounds messages,
// numbered 0 on in order: none lost, duplicated or reordered.
func (r *pausedReader) wantInOrder(t *testing.T, ss []*chat.Session, rounds int) {
	t.Helper()
	for i, s := range ss {
		got := r.got[s.ID()]
		if len(got) != rounds {
			t.Errorf("session %d: %d messages, want %d", i, len(got), rounds)
			continue
		}
		for k, n := range got {
			if n != k {
				t.Errorf("session %d: message %d is number %d (lost, duplicated or reordered)", i, k, n)
				break
			}
		}
	}
}

func (e *slowEnv) dialPaused(t *testing.T, token string) *pausedReader {
	t.Helper()
	d := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(sockBuf)
			tc.SetWriteBuffer(sockBuf)
		}
		return c, err
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wire.Dial(ctx, e.url, token, &wire.Options{HTTPClient: hc, FrameBuffer: 1})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	r := &pausedReader{c: c, got: map[string][]int{}, all: make(chan struct{})}
	go r.consume()
	return r
}

func (r *pausedReader) consume() {
	for f := range r.c.Frames() {
		r.hold.Lock()
		r.hold.Unlock() //nolint:staticcheck // an empty critical section: waits while paused
		r.mu.Lock()
		for _, ev := range f.Events {
			var sess, k int
			if _, err := fmt.Sscanf(ev.Text, "s%d m%d ", &sess, &k); err == nil {
				r.got[f.SessionID] = append(r.got[f.SessionID], k)
				r.n++
			}
		}
		if r.want > 0 && r.n >= r.want {
			select {
			case <-r.all:
			default:
				close(r.all)
			}
		}
		r.mu.Unlock()
	}
}

// expect sets how many messages the reader waits for.
func (r *pausedReader) expect(n int) {
	r.mu.Lock()
	r.want = n
	if r.n >= n {
		close(r.all)
	}
	r.mu.Unlock()
}

// joinSessions starts n customer sessions and has the client join each.
func (e *slowEnv) joinSessions(t *testing.T, r *pausedReader, n int) ([]*chat.Session, []string) {
	t.Helper()
	ctx := ctxT(t)
	var sessions []*chat.Session
	var customers []string
	for range n {
		s, p, _, err := e.engine.Create(chat.CreateRequest{Tenant: "1", Endpoint: "default", Queue: "q",
			Creator: chat.JoinRequest{Nick: "Kim", Type: chat.Client, Protocol: chat.Flex, Secret: "customer-secure-key"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.c.Join(ctx, s.ID(), wire.JoinOptions{}); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
		customers = append(customers, p.UserID)
	}
	return sessions, customers
}

// burst sends rounds messages of size bytes to every session, round-robin.
func burst(t *testing.T, sessions []*chat.Session, customers []string, rounds, size int) {
	t.Helper()
	pad := strings.Repeat("x", size)
	for k := range rounds {
		for i, s := range sessions {
			if _, err := s.Send(customers[i], chat.Msg{Text: fmt.Sprintf("s%d m%d %s", i, k, pad)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// waitHeld waits until the socket's watchers hold back (the stall timer is
// on the fake clock) or the socket was closed as a slow consumer.
func (e *slowEnv) waitHeld(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.clock.Pending() == 0 && e.slow.Load() == 0 {
		if time.Now().After(deadline) {
			t.Logf("queued frames, bytes, in channel: %v", e.handler.QueueState())
			t.Fatal("the socket's queue never backed up: the writer was not blocked, or the watchers never held back")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitHeldSteady waits until the socket's watchers hold back and the
// socket's queue has stopped moving: the writer is blocked on a socket
// whose buffers are full, so the hold lasts until the reader reads again.
// The first hold (waitHeld) can come before the buffers are full; the
// writer then drains the queue to a quarter, the watchers go on, and hold
// back again a moment later.
func (e *slowEnv) waitHeldSteady(t *testing.T) {
	t.Helper()
	e.waitHeld(t)
	deadline := time.Now().Add(10 * time.Second)
	var last [][3]int64
	still := 0
	for still < 50 && e.slow.Load() == 0 { // 50 polls over at least 50 ms without a change
		if time.Now().After(deadline) {
			t.Fatalf("the held-back socket's queue never stopped moving: %v", last)
		}
		time.Sleep(time.Millisecond)
		q := e.handler.QueueState()
		if e.clock.Pending() != 0 && slices.Equal(q, last) {
			still++
		} else {
			still = 0
		}
		last = q
	}
}

// TestBackpressureSlowReader: a reader that stops reading while 40
// sessions each get a burst of messages, then reads again, gets every
// message of every session in order, and the socket is not closed. Without
// the watchers' backpressure the queue (16 frames) overflows and the
// socket is closed with 4001. The bytes case holds the watchers back by
// the bytes bound alone (a queue of frames far larger than the burst).
func TestBackpressureSlowReader(t *testing.T) {
	for _, tc := range []struct {
		name              string
		queue, queueBytes int
		size              int
	}{
		{"frames", 16, 0, 4000},
		{"bytes", 4096, 256 << 10, 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const sessions, rounds = 40, 25
			e := newSlowEnv(t, tc.queue, tc.queueBytes)
			r := e.dialPaused(t, tokBot)
			ss, cs := e.joinSessions(t, r, sessions)
			r.hold.Lock() // stop reading
			burst(t, ss, cs, rounds, tc.size)
			e.waitHeld(t)
			if n := e.slow.Load(); n != 0 {
				t.Fatalf("closed as a slow consumer %d times while the reader paused", n)
			}
			r.expect(sessions * rounds)
			r.hold.Unlock() // read everything
			select {
			case <-r.all:
			case <-r.c.Done():
				code, reason := wire.CloseStatus(r.c.Err())
				t.Fatalf("socket closed (%d %q, %v) before every message arrived", code, reason, r.c.Err())
			case <-time.After(30 * time.Second):
				r.mu.Lock()
				t.Fatalf("not every message arrived: %d of %d", r.n, sessions*rounds)
			}
			r.mu.Lock()
			r.wantInOrder(t, ss, rounds)
			r.mu.Unlock()
			if n := e.slow.Load(); n != 0 {
				t.Errorf("slow consumers: %d", n)
			}
			if err := r.c.Ping(ctxT(t)); err != nil {
				t.Errorf("the socket did not survive: %v", err)
			}
			if n := e.clock.Pending(); n != 0 {
				t.Errorf("%d stall timers left once the queue drained", n)
			}
		})
	}
}

// TestBackpressureDeadReader: a reader that stops reading for good is
// still closed as a slow consumer (4001), once the watchers have been held
// back for the write timeout and not before; its parties leave their
// sessions at once, and the close frame follows what it had not read.
func TestBackpressureDeadReader(t *testing.T) {
	const sessions, rounds = 40, 25
	e := newSlowEnv(t, 16, 0)
	r := e.dialPaused(t, tokBot)
	ss, cs := e.joinSessions(t, r, sessions)
	r.hold.Lock()
	burst(t, ss, cs, rounds, 4000)
	e.waitHeld(t)
	e.clock.Advance(slowWriteTimeout - time.Millisecond)
	if n := e.slow.Load(); n != 0 {
		t.Fatalf("closed as a slow consumer before the bound (%d)", n)
	}
	e.clock.Advance(time.Millisecond)
	if n := e.slow.Load(); n != 1 {
		t.Fatalf("slow consumers after the bound: %d, want 1", n)
	}
	for i, s := range ss {
		for _, p := range s.Info().Participants {
			if p.Type == chat.Agent && !p.Left {
				t.Errorf("session %d: the agent's party is still in the session", i)
			}
		}
	}
	r.hold.Unlock() // what it reads now ends with the close frame
	select {
	case <-r.c.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the socket was not closed")
	}
	if code, _ := wire.CloseStatus(r.c.Err()); code != wire.CloseSlowConsumer {
		t.Fatalf("close: %v, want code %d", r.c.Err(), wire.CloseSlowConsumer)
	}
}

// TestBackpressureClientGoneWakesWatchers: a client that goes away while
// its watchers are held back ends the connection: every watcher wakes and
// the handler's goroutines end (the leak check after the tests sees any
// that do not), with no slow-consumer close and no stall timer left.
func TestBackpressureClientGoneWakesWatchers(t *testing.T) {
	const sessions, rounds = 40, 25
	e := newSlowEnv(t, 16, 0)
	r := e.dialPaused(t, tokBot)
	ss, cs := e.joinSessions(t, r, sessions)
	r.hold.Lock()
	burst(t, ss, cs, rounds, 4000)
	e.waitHeld(t)
	r.c.Close()
	r.hold.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for e.open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection did not end after its client went away")
		}
		time.Sleep(time.Millisecond)
	}
	if n := e.slow.Load(); n != 0 {
		t.Errorf("slow consumers: %d", n)
	}
	if n := e.clock.Pending(); n != 0 {
		t.Errorf("%d stall timers left after the connection ended", n)
	}
}
