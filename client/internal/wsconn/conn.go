package wsconn

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0
	opText         = 1
	opBinary       = 2
	opClose        = 8
	opPing         = 9
	opPong         = 10
)

// closeTimeout bounds how long Close waits for the server's close frame.
const closeTimeout = 5 * time.Second

// ErrClosed is returned by calls on a connection this side closed.
var ErrClosed = net.ErrClosed

// Conn is one client WebSocket connection. Read is for one goroutine at a
// time; Write, Close and CloseNow may be called from any.
type Conn struct {
	rwc   io.ReadWriteCloser
	br    *bufio.Reader
	limit atomic.Int64 // largest message Read accepts; <= 0: none

	rmu         sync.Mutex                          // held by the reader for a whole message
	hdr         [14]byte                            // the frame header being read (guarded by rmu)
	src         leftReader                          // c.br's source: what ReadEach left, then rwc (guarded by rmu)
	rbuf        []byte                              // ReadEach's buffer (guarded by rmu)
	inRaw       atomic.Bool                         // ReadEach is inside the socket's read
	closeWanted atomic.Bool                         // CloseNow was called (see closeRWC)
	sysRead     func(fd int, p []byte) (int, error) // ReadEach's read(2); syscall.Read when nil (tests replace it)
	readDone    chan struct{}                       // closed when the read side ends (close frame or error)
	readOnce    sync.Once
	readErr     error // why it ended; set before readDone is closed

	wmu       sync.Mutex // guards the following
	pending   []byte     // frames waiting for the flusher
	spare     []byte     // the flusher's other buffer
	flushing  bool       // a writer is writing pending
	flushed   uint64     // bytes handed to the connection so far (or failed)
	queued    uint64     // bytes appended to pending so far
	werr      error      // the write side failed or was closed: no more frames
	wcond     *sync.Cond
	closeSent bool
	wDone     <-chan struct{} // the context of the watch: see watch
	wStop     func() bool
	wBusy     atomic.Int32  // writes in progress (the watch breaks the connection only then)
	kick      chan struct{} // wakes the writer goroutine of Queue; nil until the first Queue (guarded by wmu)

	closeOnce sync.Once
	closed    chan struct{} // closed by CloseNow
}

// Dial opens a WebSocket connection to u (ws://, wss://, http:// or
// https://) through hc (http.DefaultClient when nil), with the extra
// handshake headers h. resp is the handshake's answer when there was one;
// its Body is closed (refused) or nil (the connection owns it).
func Dial(ctx context.Context, u string, hc *http.Client, h http.Header) (_ *Conn, resp *http.Response, err error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	switch {
	case strings.HasPrefix(u, "ws://"):
		u = "http://" + u[len("ws://"):]
	case strings.HasPrefix(u, "wss://"):
		u = "https://" + u[len("wss://"):]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket dial: %w", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	var key [16]byte
	rand.Read(key[:])
	skey := base64.StdEncoding.EncodeToString(key[:])
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", skey)
	if hc.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, hc.Timeout)
		defer cancel()
		c := *hc
		c.Timeout = 0
		hc = &c
		req = req.WithContext(ctx)
	}
	resp, err = hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket dial %s: %w", u, err)
	}
	fail := func(err error) (*Conn, *http.Response, error) {
		resp.Body.Close()
		return nil, resp, fmt.Errorf("websocket dial %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fail(fmt.Errorf("expected handshake response status code %d but got %d", http.StatusSwitchingProtocols, resp.StatusCode))
	}
	if !headerHas(resp.Header, "Connection", "upgrade") || !headerHas(resp.Header, "Upgrade", "websocket") {
		return fail(errors.New("the handshake answer does not upgrade to websocket"))
	}
	sum := sha1.Sum([]byte(skey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return fail(errors.New("wrong Sec-WebSocket-Accept in the handshake answer"))
	}
	if resp.Header.Get("Sec-WebSocket-Extensions") != "" || resp.Header.Get("Sec-WebSocket-Protocol") != "" {
		return fail(errors.New("the server chose an extension or subprotocol that was not offered"))
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		return fail(fmt.Errorf("response body is not a io.ReadWriteCloser: %T", resp.Body))
	}
	resp.Body = nil
	return newConn(rwc), resp, nil
}

func newConn(rwc io.ReadWriteCloser) *Conn {
	c := &Conn{rwc: rwc, readDone: make(chan struct{}), closed: make(chan struct{})}
	c.src.rwc = rwc
	c.br = bufio.NewReaderSize(&c.src, 16<<10)
	c.wcond = sync.NewCond(&c.wmu)
	c.limit.Store(32 << 10)
	return c
}

// headerHas reports whether a comma-separated header lists token
// (case-insensitively).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h[http.CanonicalHeaderKey(name)] {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// SetReadLimit sets the largest message Read accepts (default 32 KiB);
// n <= 0 removes the limit. A larger message closes the connection with
// status 1009.
func (c *Conn) SetReadLimit(n int64) { c.limit.Store(n) }

// Read reads the next data message and returns it appended to buf. Pings
// are answered and pongs skipped on the way. The server's close frame ends
// the connection: Read then returns a websocket.CloseError with its code
// and reason, as does every later Read.
func (c *Conn) Read(buf []byte) (websocket.MessageType, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readLocked(buf)
}

func (c *Conn) readLocked(buf []byte) (websocket.MessageType, []byte, error) {
	select {
	case <-c.readDone:
		return 0, buf, c.readErr
	default:
	}
	typ, out, err := c.readMessage(buf)
	if err != nil {
		c.endRead(err)
		return 0, out, c.readErr
	}
	return typ, out, nil
}

// endRead records why the read side ended (the first reason wins).
func (c *Conn) endRead(err error) {
	c.readOnce.Do(func() {
		var ce websocket.CloseError
		var le *localError
		if !errors.As(err, &ce) && !errors.As(err, &le) {
			select {
			case <-c.closed:
				err = fmt.Errorf("websocket read: %w", net.ErrClosed)
			default:
				err = fmt.Errorf("websocket read: %w", err)
			}
		}
		c.readErr = err
		close(c.readDone)
	})
}

func (c *Conn) readMessage(buf []byte) (websocket.MessageType, []byte, error) {
	start := len(buf)
	var typ websocket.MessageType
	for {
		fin, op, n, err := c.readHeader()
		if err != nil {
			return 0, buf, err
		}
		if op >= opClose {
			if err := c.control(op, n); err != nil {
				return 0, buf, err
			}
			continue
		}
		switch {
		case op == opContinuation && typ == 0:
			return 0, buf, c.protocolError("continuation frame without a message")
		case op != opContinuation && typ != 0:
			return 0, buf, c.protocolError("new message inside a fragmented one")
		case op == opText:
			typ = websocket.MessageText
		case op == opBinary:
			typ = websocket.MessageBinary
		case op != opContinuation:
			return 0, buf, c.protocolError(fmt.Sprintf("unknown opcode %d", op))
		}
		if lim := c.limit.Load(); lim > 0 && uint64(len(buf)-start)+n > uint64(lim) {
			c.writeClose(websocket.StatusMessageTooBig, "message too big")
			c.CloseNow()
			return 0, buf, &localError{fmt.Sprintf("read limited at %d bytes", lim)}
		}
		// The payload is read in chunks, so that a header announcing more
		// than arrives costs no more memory than what did arrive.
		for n > 0 {
			chunk := int(min(n, 1<<20))
			at := len(buf)
			buf = slices.Grow(buf, chunk)[:at+chunk]
			if _, err := io.ReadFull(c.br, buf[at:]); err != nil {
				return 0, buf[:at], unexpected(err)
			}
			n -= uint64(chunk)
		}
		if fin {
			return typ, buf, nil
		}
	}
}

// readHeader reads a frame header; frames from a server are never masked.
func (c *Conn) readHeader() (fin bool, op byte, n uint64, err error) {
	h := c.hdr[:2]
	if _, err := io.ReadFull(c.br, h); err != nil {
		return false, 0, 0, err // io.EOF: the connection ended between frames
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[0]&0x70 != 0 {
		return false, 0, 0, c.protocolError("reserved bits set")
	}
	if h[1]&0x80 != 0 {
		return false, 0, 0, c.protocolError("masked frame from the server")
	}
	switch n = uint64(h[1] & 0x7f); n {
	case 126:
		if _, err := io.ReadFull(c.br, c.hdr[2:4]); err != nil {
			return false, 0, 0, unexpected(err)
		}
		n = uint64(binary.BigEndian.Uint16(c.hdr[2:4]))
	case 127:
		if _, err := io.ReadFull(c.br, c.hdr[2:10]); err != nil {
			return false, 0, 0, unexpected(err)
		}
		n = binary.BigEndian.Uint64(c.hdr[2:10])
		if n>>63 != 0 {
			return false, 0, 0, c.protocolError("frame length overflows")
		}
	}
	if op >= opClose && (!fin || n > 125) {
		return false, 0, 0, c.protocolError("fragmented or long control frame")
	}
	return fin, op, n, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// control handles a control frame of n bytes.
func (c *Conn) control(op byte, n uint64) error {
	var p [125]byte
	if _, err := io.ReadFull(c.br, p[:n]); err != nil {
		return unexpected(err)
	}
	switch op {
	case opPing:
		c.writeFrame(context.Background(), opPong, p[:n])
		return nil
	case opPong:
		return nil
	}
	ce := websocket.CloseError{Code: websocket.StatusNoStatusRcvd}
	if n == 1 {
		return c.protocolError("close frame of one byte")
	}
	if n >= 2 {
		ce.Code = websocket.StatusCode(binary.BigEndian.Uint16(p[:2]))
		ce.Reason = string(p[2:n])
	}
	// Answer with the same code (none when it had none), then end.
	if n >= 2 {
		c.writeClose(ce.Code, "")
	} else {
		c.writeFrame(context.Background(), opClose, nil)
	}
	c.CloseNow()
	return ce
}

// protocolError closes the connection with status 1002.
func (c *Conn) protocolError(what string) error {
	c.writeClose(websocket.StatusProtocolError, what)
	c.CloseNow()
	return &localError{"websocket protocol error: " + what}
}

// localError is a read this side refused (protocol error, read limit).
type localError struct{ msg string }

func (e *localError) Error() string { return e.msg }
