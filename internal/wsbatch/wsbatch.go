package wsbatch

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// Conn is a net.Conn whose writes can be held back and sent together.
type Conn struct {
	net.Conn

	mu     sync.Mutex // guards the following
	corked bool
	buf    []byte    // written while corked, not yet sent
	dl     time.Time // the write deadline set on Conn; zero: none
	// closeSent: the library wrote a close frame (text.go).
	closeSent bool
	// small: AcceptSmall's connection, which keeps no buffer between
	// writes (small.go).
	small bool

	now func() time.Time // the wall clock (net deadlines run on it); tests set their own
	// flushing: flushHeld is sending what SendTextNoWait could not
	// (nowait.go); flushed closes when it is done; heldDL is the latest
	// deadline asked for what is held; err is flushHeld's failure.
	flushing bool
	flushed  chan struct{}
	heldDL   time.Time
	err      error
	// raw is the socket's raw access for writes that never wait
	// (trywrite_unix.go), found on first use; noRaw: it has none.
	raw   syscall.RawConn
	noRaw bool
	tw    rawWrite // tryWrite's callback state, used under mu
}

func (c *Conn) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

// Write sends p, or keeps it for Uncork while the connection is corked.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if isCloseFrame(p) {
		c.closeSent = true
	}
	c.waitFlushedLocked()
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if c.corked {
		return len(p), nil
	}
	// An uncorked write (a ping, a pong, a close frame) has no deadline
	// (heldDL is zero), and it does not hold mu while the network takes
	// it: a SendTextNoWait meanwhile only adds its frame, which goes out
	// after it (drainLocked).
	c.flushing = true
	c.flushed = make(chan struct{})
	if err := c.drainLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Cork holds back every write until Uncork.
func (c *Conn) Cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// Uncork sends what was held back in one write, which must end by
// deadline, and lets later writes through. The deadline set for an earlier
// Uncork stays while it leaves at least half of this one's time (so a busy
// socket does not set a deadline twice per frame): every write still has
// a deadline, between half and all of the time asked for.
func (c *Conn) Uncork(deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uncorkLocked(deadline)
}

func (c *Conn) uncorkLocked(deadline time.Time) error {
	c.waitFlushedLocked()
	if c.err != nil {
		return c.err
	}
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	if c.dl.IsZero() || c.dl.After(deadline) || c.dl.Before(deadline.Add(-deadline.Sub(c.clock())/2)) {
		if err := c.Conn.SetWriteDeadline(deadline); err != nil {
			return fmt.Errorf("wsbatch: set write deadline: %w", err)
		}
		c.dl = deadline
	}
	return c.flushLocked()
}

// Held reports how many bytes wait for Uncork.
func (c *Conn) Held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// maxKept bounds the buffer kept between batches.
const maxKept = 64 << 10

func (c *Conn) flushLocked() error {
	_, err := c.Conn.Write(c.buf)
	c.dropBufLocked()
	if err != nil {
		return fmt.Errorf("wsbatch: write: %w", err)
	}
	return nil
}

// Accept is websocket.Accept on a connection that can be corked: the
// returned Conn is the socket under the WebSocket.
func Accept(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions) (*websocket.Conn, *Conn, error) {
	return accept(&hijackWriter{ResponseWriter: w}, r, opts)
}

func accept(hw *hijackWriter, r *http.Request, opts *websocket.AcceptOptions) (*websocket.Conn, *Conn, error) {
	ws, err := websocket.Accept(hw, r, opts)
	if err != nil {
		return nil, nil, err
	}
	if hw.conn == nil {
		ws.CloseNow()
		return nil, nil, fmt.Errorf("wsbatch: the connection was not hijacked through the wrapper")
	}
	return ws, hw.conn, nil
}

// hijackWriter hands the WebSocket library a corkable connection when it
// hijacks the request's.
type hijackWriter struct {
	http.ResponseWriter
	conn  *Conn
	small bool // AcceptSmall: small buffers (small.go)
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	c := &Conn{Conn: nc, small: w.small}
	// The upgrade response was flushed before the hijack; the writer is
	// empty, but flush anything it holds before pointing it at c.
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("wsbatch: flush before hijack: %w", err)
		}
	}
	w.conn = c
	if w.small {
		return c, shrink(brw, c), nil
	}
	brw.Writer.Reset(c)
	return c, brw, nil
}

func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
