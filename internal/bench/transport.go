package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loopTransport is the http.RoundTripper of the generator's customers and
// agent handshakes: plain HTTP/1.1 over kept-alive connections to the
// server under test, without net/http's Transport machinery. That
// Transport runs two goroutines per connection and hands every request and
// answer between them and the caller over channels (three goroutine
// switches per customer send, with their selects and wake-ups), which on
// two shared cores is CPU the server does not get. Here the calling
// goroutine writes the request and reads the answer itself; the server sees
// the same requests (request line, Host, the request's headers, a
// User-Agent, Content-Length, the body).
//
// A connection is taken from the idle list of its host (or dialled),
// used by one request at a time, and put back once the answer's body has
// been read to its end (or closed after it was); an answer that asks to
// close, a body closed early, or any error closes it. A request that fails
// on a reused connection before any byte of the answer arrived (the server
// closed it while it was idle) is tried once more on a new one. A 101
// answer (a WebSocket handshake) hands the connection over: its Body is the
// connection, as net/http's Transport does. Contexts are honoured: a
// cancelled request's connection is closed.
//
// Concurrency: safe for concurrent use; mu guards the idle lists only.
type loopTransport struct {
	dialer  net.Dialer
	maxIdle int // idle connections kept per host

	bufs sync.Pool // *[]byte: requests being written

	mu   sync.Mutex // guards the following
	idle map[string][]*loopConn
}

func newLoopTransport(maxIdle int) *loopTransport {
	// No TCP keep-alive on these loopback connections: Go's default sets
	// four socket options per dial for it (SO_KEEPALIVE and the idle,
	// interval and count), one dial per push subscription.
	t := &loopTransport{dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1},
		maxIdle: maxIdle, idle: map[string][]*loopConn{}}
	t.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	return t
}

// loopConn is one connection, owned by one request at a time.
type loopConn struct {
	t     *loopTransport
	host  string
	conn  net.Conn
	br    *bufio.Reader
	src   sockReader   // br's source
	reuse bool         // taken from the idle list
	vals  headerValues // the answers' header values (readAnswerHead)

	// The context of the requests: one watch per context rather than one
	// per request (every customer sends under the run's context, and a
	// context.AfterFunc for each request is an allocation and a lock of
	// that shared context). The watch breaks the connection only while a
	// request is on it.
	busy  atomic.Bool
	wGen  atomic.Uint64   // the current watch's number
	wDone <-chan struct{} // Done of the watched context; used by the request's goroutine
	wStop func() bool     // ends the watch; nil when none
}

// watch makes a cancellation of ctx break the connection while busy.
func (lc *loopConn) watch(ctx context.Context) {
	done := ctx.Done()
	if done == lc.wDone {
		return
	}
	lc.unwatch()
	lc.wDone = done
	if done != nil {
		gen := lc.wGen.Add(1) // a late call of an earlier watch does nothing
		lc.wStop = context.AfterFunc(ctx, func() {
			if lc.busy.Load() && lc.wGen.Load() == gen {
				lc.conn.SetDeadline(time.Unix(1, 0))
			}
		})
	}
}

func (lc *loopConn) unwatch() {
	if lc.wStop != nil {
		lc.wStop()
		lc.wStop = nil
	}
	lc.wDone = nil
}

// close closes the connection and ends its watch.
func (lc *loopConn) close() {
	lc.unwatch()
	lc.conn.Close()
}

// errRetryIdle marks a failure on a reused connection before the answer
// began: the server had closed it.
var errRetryIdle = errors.New("bench: idle connection closed by the server")

// RoundTrip implements http.RoundTripper.
func (t *loopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		closeBody(req)
		return nil, fmt.Errorf("bench transport: scheme %q not supported (plain http to the server under test only)", req.URL.Scheme)
	}
	bp := t.bufs.Get().(*[]byte)
	defer t.bufs.Put(bp)
	wire, err := appendRequest((*bp)[:0], req)
	*bp = wire
	if err != nil {
		return nil, err
	}
	host := req.URL.Host
	for try := 0; ; try++ {
		lc, err := t.get(req.Context(), host)
		if err != nil {
			return nil, err
		}
		resp, err := lc.roundTrip(req, wire)
		if errors.Is(err, errRetryIdle) && try == 0 && req.Context().Err() == nil {
			continue
		}
		return resp, err
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// get returns an idle connection to host or dials one.
func (t *loopTransport) get(ctx context.Context, host string) (*loopConn, error) {
	t.mu.Lock()
	if l := t.idle[host]; len(l) > 0 {
		lc := l[len(l)-1]
		t.idle[host] = l[:len(l)-1]
		t.mu.Unlock()
		lc.reuse = true
		return lc, nil
	}
	t.mu.Unlock()
	conn, err := t.dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("bench transport: dial %s: %w", host, err)
	}
	lc := &loopConn{t: t, host: host, conn: conn}
	lc.src.conn = conn
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			lc.src.rc = rc
		}
	}
	lc.br = bufio.NewReaderSize(&lc.src, 8<<10)
	return lc, nil
}

// sockReader is the source of a connection's bufio.Reader. With a request
// to send (wire), a Read writes it and then waits for the answer inside
// one syscall.RawConn.Read: the socket's readiness is reset before the
// write, so the answer's arrival wakes the wait and the first read finds
// it (net.Conn's Write then Read would read once for nothing, between the
// write and the answer). A write the socket does not take at once
// (EAGAIN, a short write) is finished with the connection's Write.
type sockReader struct {
	conn net.Conn
	rc   syscall.RawConn // nil: no socket to read directly (plain Write and Read)
	wire []byte          // the request to write before the next read; nil when none
	werr error           // the write failed (set by Read)
}

func (s *sockReader) Read(p []byte) (int, error) {
	w := s.wire
	if w == nil {
		return s.conn.Read(p)
	}
	s.wire = nil
	if s.rc == nil {
		if _, err := s.conn.Write(w); err != nil {
			s.werr = err
			return 0, err
		}
		return s.conn.Read(p)
	}
	wrote, fallback := false, false
	n := 0
	var ioErr error
	err := s.rc.Read(func(fd uintptr) bool {
		for !wrote {
			m, e := syscall.Write(int(fd), w)
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				fallback = true
				return true
			case e != nil:
				s.werr = os.NewSyscallError("write", e)
				return true
			}
			if w = w[m:]; len(w) > 0 {
				fallback = true
				return true
			}
			wrote = true
			return false // wait for the answer
		}
		for {
			m, e := syscall.Read(int(fd), p)
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return false
			case e != nil:
				ioErr = os.NewSyscallError("read", e)
			case m == 0:
				ioErr = io.EOF
			}
			n = max(m, 0)
			return true
		}
	})
	switch {
	case err != nil:
		if !wrote {
			s.werr = err
		}
		return 0, err
	case s.werr != nil:
		return 0, s.werr
	case fallback:
		if _, err := s.conn.Write(w); err != nil {
			s.werr = err
			return 0, err
		}
		return s.conn.Read(p)
	}
	return n, ioErr
}

// put returns a connection whose answer was read whole to the idle list.
func (t *loopTransport) put(lc *loopConn) {
	t.mu.Lock()
	if t.idle != nil && len(t.idle[lc.host]) < t.maxIdle {
		t.idle[lc.host] = append(t.idle[lc.host], lc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	lc.close()
}

// CloseIdleConnections closes the idle connections (http.Client calls it).
func (t *loopTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*loopConn{}
	t.mu.Unlock()
	for _, l := range idle {
		for _, lc := range l {
			lc.close()
		}
	}
}

// roundTrip writes one request and reads its answer's head.
func (lc *loopConn) roundTrip(req *http.Request, wire []byte) (*http.Response, error) {
	ctx := req.Context()
	lc.watch(ctx)
	lc.busy.Store(true)
	fail := func(err error) (*http.Response, error) {
		lc.busy.Store(false)
		lc.close()
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("bench transport: %s %s: %w", req.Method, req.URL, cerr)
		}
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	// The request is written by the read of the answer's first bytes
	// (sockReader), in one system call with no read that finds nothing.
	lc.src.wire, lc.src.werr = wire, nil
	if _, err := lc.br.Peek(1); err != nil {
		lc.src.wire = nil
		if lc.reuse {
			return fail(fmt.Errorf("%w: %v", errRetryIdle, err))
		}
		if lc.src.werr != nil {
			return fail(fmt.Errorf("bench transport: write %s %s: %w", req.Method, req.URL, err))
		}
		return fail(fmt.Errorf("bench transport: read answer to %s %s: %w", req.Method, req.URL, err))
	}
	resp, err := readAnswerHead(lc.br, req, &lc.vals)
	if err != nil {
		return fail(fmt.Errorf("bench transport: read answer to %s %s: %w", req.Method, req.URL, err))
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The connection now belongs to whoever upgraded it.
		lc.busy.Store(false)
		lc.unwatch()
		resp.Body = &upgraded{br: lc.br, Conn: lc.conn}
		return resp, nil
	}
	resp.Body = &loopBody{lc: lc, ctx: ctx, rc: resp.Body, keep: !resp.Close && req.Method != http.MethodHead}
	return resp, nil
}

// appendRequest writes req's request line, headers and body (read from
// req.Body, which it closes, straight into b when its length is known).
func appendRequest(b []byte, req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		length := -1
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			length = 0
		}
		return appendHead(b, req, length), nil
	}
	defer req.Body.Close()
	if n := req.ContentLength; n > 0 {
		b = appendHead(b, req, int(n))
		start := len(b)
		b = slices.Grow(b, int(n))[:start+int(n)]
		if _, err := io.ReadFull(req.Body, b[start:]); err != nil {
			return b, fmt.Errorf("bench transport: read request body: %w", err)
		}
		return b, nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return b, fmt.Errorf("bench transport: read request body: %w", err)
	}
	return append(appendHead(b, req, len(body)), body...), nil
}

// appendHead writes the request line and headers, with a Content-Length
// when length >= 0.
func appendHead(b []byte, req *http.Request, length int) []byte {
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.URL.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	if req.Host != "" {
		b = append(b, req.Host...)
	} else {
		b = append(b, req.URL.Host...)
	}
	b = append(b, "\r\n"...)
	var keys [16]string
	ks := keys[:0]
	for k := range req.Header {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if k == "Host" || k == "Content-Length" {
			continue
		}
		for _, v := range req.Header[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		b = append(b, "User-Agent: confab-bench\r\n"...)
	}
	if length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(length), 10)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// loopBody is an answer's body; reading it to its end gives the
// connection back.
type loopBody struct {
	lc   *loopConn
	ctx  context.Context
	rc   io.ReadCloser
	keep bool
	done bool
}

func (b *loopBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(b.keep)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *loopBody) Close() error {
	if !b.done {
		// Closed before its end: the connection is not reusable, unless
		// nothing is left (the caller read exactly the body's length).
		keep := false
		if b.keep {
			var one [1]byte
			n, err := b.rc.Read(one[:0])
			keep = n == 0 && err == io.EOF
		}
		b.finish(keep)
	}
	return nil
}

func (b *loopBody) finish(keep bool) {
	b.done = true
	b.lc.busy.Store(false)
	b.rc.Close()
	// A request whose context ended may have had its connection broken
	// by the watch: it is not reused then.
	if keep && b.ctx.Err() == nil && b.lc.br.Buffered() == 0 {
		b.lc.t.put(b.lc)
		return
	}
	b.lc.close()
}

// upgraded is the Body of a 101 answer: the connection itself, reading
// through what was already buffered.
type upgraded struct {
	br *bufio.Reader
	rc syscall.RawConn // the socket, once asked for
	net.Conn
}

// RawConn gives wsconn's ReadEach the socket once the handshake's
// buffered bytes were read.
func (u *upgraded) RawConn() syscall.RawConn {
	if u.br.Buffered() > 0 {
		return nil
	}
	if u.rc == nil {
		sc, ok := u.Conn.(syscall.Conn)
		if !ok {
			return nil
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			return nil
		}
		u.rc = rc
	}
	return u.rc
}

func (u *upgraded) Read(p []byte) (int, error) {
	if u.br.Buffered() == 0 {
		return u.Conn.Read(p) // nothing left from the handshake: no copy
	}
	return u.br.Read(p)
}
