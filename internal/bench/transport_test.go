package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/coder/websocket"
)

// TestLoopTransport drives the generator's transport against net/http's
// server: answers with a length, chunked and closing ones, the connection
// kept between requests, a retry after the server closed an idle one, and
// the request's method, path, headers and body as the server sees them.
func TestLoopTransport(t *testing.T) {
	big := strings.Repeat("y", 10000)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, r.Method+" "+r.URL.RawQuery+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Test")+" "+r.PostForm.Get("message"))
		case "/big":
			w.Write([]byte(big)) // over net/http's buffer: chunked
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	lt := newLoopTransport(16)
	hc := &http.Client{Transport: lt}
	defer hc.CloseIdleConnections()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("X-Test", "yes")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: read body: %v", method, path, err)
		}
		return resp.StatusCode, string(b)
	}
	for i := 0; i < 5; i++ {
		if code, got := do("POST", "/echo?a=1", "message=hi+there"); code != 200 || got != "POST a=1 application/x-www-form-urlencoded yes hi there" {
			t.Fatalf("echo: %d %q", code, got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("5 sequential requests used %d connections, want 1 (kept alive)", n)
	}
	if code, got := do("GET", "/big", ""); code != 200 || got != big {
		t.Fatalf("big: %d, %d bytes", code, len(got))
	}
	if code, _ := do("GET", "/empty", ""); code != http.StatusNoContent {
		t.Fatalf("empty: %d", code)
	}
	before := conns.Load()
	if _, got := do("GET", "/close", ""); got != "bye" {
		t.Fatalf("close: %q", got)
	}
	do("POST", "/echo", "message=x")
	if n := conns.Load() - before; n < 1 {
		t.Fatalf("after an answer with Connection: close the next request reused a closed connection")
	}
	// The server drops every connection: the idle one in the pool is dead,
	// and the next request must go through on a new one.
	srv.CloseClientConnections()
	if code, got := do("POST", "/echo", "message=again"); code != 200 || !strings.HasSuffix(got, " again") {
		t.Fatalf("after the server closed the idle connection: %d %q", code, got)
	}
}

// TestLoopTransportLargeRequest sends a request larger than the socket
// takes in one write (the write in the answer's read is short, and the
// rest goes through the connection's Write), then small ones again on the
// same connection.
func TestLoopTransportLargeRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strconv.FormatInt(n, 10))
	}))
	defer srv.Close()
	hc := &http.Client{Transport: newLoopTransport(4)}
	defer hc.CloseIdleConnections()
	for _, size := range []int{32 << 20, 10, 0, 1 << 20} {
		resp, err := hc.Post(srv.URL+"/len", "application/octet-stream", bytes.NewReader(make([]byte, size)))
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != strconv.Itoa(size) {
			t.Fatalf("%d bytes: the server read %q (%v)", size, b, err)
		}
	}
}

// TestLoopTransportCancel checks that a cancelled request ends with the
// context's error while the server has not answered.
func TestLoopTransportCancel(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	hc := &http.Client{Transport: newLoopTransport(4)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/wait", strings.NewReader("x=1"))
	resp, err := hc.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a cancelled request succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v, want context.Canceled", err)
	}
}

// TestLoopTransportWebSocket checks the handshake path: a 101 answer hands
// the connection to the WebSocket library.
func TestLoopTransportWebSocket(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		c.Write(ctx, websocket.MessageText, []byte("hello")) // sent at once: may arrive with the 101
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			c.Write(ctx, typ, append([]byte("echo "), b...))
		}
	}))
	defer srv.Close()
	hc := &http.Client{Transport: newLoopTransport(4)}
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, b, err := c.Read(ctx); err != nil || string(b) != "hello" {
		t.Fatalf("first frame %q, %v", b, err)
	}
	for _, m := range []string{"one", "two"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if _, b, err := c.Read(ctx); err != nil || string(b) != "echo "+m {
			t.Fatalf("echo of %s: %q, %v", m, b, err)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// TestLoopTransportWatchAfterUse checks that a context that ends after its
// request was answered does not break the kept connection for the next
// request, and that the connection's watch follows the request's context.
func TestLoopTransportWatchAfterUse(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	hc := &http.Client{Transport: newLoopTransport(4)}
	defer hc.CloseIdleConnections()
	get := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && string(b) != "ok" {
			err = errors.New("body " + string(b))
		}
		return err
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	for i := 0; i < 3; i++ {
		if err := get(ctx1); err != nil {
			t.Fatal(err)
		}
	}
	cancel1() // the kept connection's watch fires while it is idle
	if err := get(ctx1); !errors.Is(err, context.Canceled) {
		t.Fatalf("request with an ended context: %v, want context.Canceled", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for i := 0; i < 3; i++ {
		if err := get(ctx2); err != nil {
			t.Fatalf("request %d after the first context ended: %v", i, err)
		}
	}
	if n := conns.Load(); n > 2 {
		t.Fatalf("%d connections for 7 sequential requests, want at most 2 (one broken by the ended context)", n)
	}
}

// TestHeaderValues checks that a header value seen again is the same
// string and that a changed one is the new value.
func TestHeaderValues(t *testing.T) {
	var h headerValues
	a := h.value("Date", []byte("Tue, 01 Dec 2026 18:00:00 GMT"))
	b := h.value("Date", []byte("Tue, 01 Dec 2026 18:00:00 GMT"))
	if a != b || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("the same value again was a new string")
	}
	if c := h.value("Date", []byte("Tue, 01 Dec 2026 18:00:01 GMT")); c != "Tue, 01 Dec 2026 18:00:01 GMT" {
		t.Errorf("a changed value gave %q", c)
	}
	for i := range 12 { // more keys than kept
		k := fmt.Sprint("K", i)
		if v := h.value(k, []byte(k+"v")); v != k+"v" {
			t.Errorf("%s: %q", k, v)
		}
	}
	if v := (*headerValues)(nil).value("X", []byte("y")); v != "y" {
		t.Errorf("nil: %q", v)
	}
}
