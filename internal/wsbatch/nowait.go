package wsbatch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// TextHeadroom is how many bytes SendTextNoWait needs free in front of
// the message in its buffer: the frame's header goes there, and the frame
// is written from the caller's buffer without a copy.
const TextHeadroom = 10

// SendTextNoWait is SendText for a caller that must not wait on a slow
// peer (a pool's runner serving many sockets, internal/runq): the message
// buf[TextHeadroom:] goes out as one text message after whatever was
// held (its header is written into buf's headroom), and the call does not
// wait for the network: it writes what the socket takes at once (with no
// raw access to the socket, a TLS one, what it takes within try). The
// rest is copied and sent by a goroutine of the connection's own, by
// deadline (the latest asked for), and messages sent meanwhile join it,
// in order. Every other write (the library's control frames, Uncork)
// waits until it is out. When that write fails the connection is closed
// (so its reader ends) and later sends report the error. buf is not kept.
//
// A socket whose peer reads keeps room for a frame, so the write nearly
// always completes at once, from buf; try should be short (milliseconds).
func (c *Conn) SendTextNoWait(buf []byte, try time.Duration, deadline time.Time) error {
	if len(buf) < TextHeadroom {
		return fmt.Errorf("wsbatch: SendTextNoWait: %d bytes, less than the %d of headroom", len(buf), TextHeadroom)
	}
	var hb [TextHeadroom]byte
	hdr := appendTextHeader(hb[:0], len(buf)-TextHeadroom)
	frame := buf[TextHeadroom-len(hdr):]
	copy(frame, hdr)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.closeSent {
		return fmt.Errorf("wsbatch: a close frame was sent: %w", net.ErrClosed)
	}
	if deadline.After(c.heldDL) {
		c.heldDL = deadline
	}
	if c.flushing {
		c.buf = append(c.buf, frame...)
		return nil // the connection's own goroutine sends it
	}
	c.corked = false
	out := frame
	if len(c.buf) > 0 { // held by AppendText: it goes first
		c.buf = append(c.buf, frame...)
		out = c.buf
	}
	n, err, _ := c.writeNoWaitLocked(out, try)
	switch {
	case err != nil:
		c.dropBufLocked()
		return fmt.Errorf("wsbatch: write: %w", err)
	case n == len(out):
		c.dropBufLocked()
		c.heldDL = time.Time{}
		return nil
	}
	c.buf = append(c.buf[:0], out[n:]...)
	c.flushing = true
	c.flushed = make(chan struct{})
	go c.flushHeld()
	return nil
}

// writeNoWaitLocked writes what the socket takes of out now (tryWrite),
// or, without raw access to it, what it takes within try (ok false).
func (c *Conn) writeNoWaitLocked(out []byte, try time.Duration) (n int, err error, ok bool) {
	if !c.dl.IsZero() {
		// The raw write, too, fails once a deadline passed.
		if err := c.Conn.SetWriteDeadline(time.Time{}); err != nil {
			return 0, fmt.Errorf("set write deadline: %w", err), true
		}
		c.dl = time.Time{}
	}
	if n, err, ok = c.tryWrite(out); ok {
		return n, err, true
	}
	tryDL := c.clock().Add(try)
	if err := c.Conn.SetWriteDeadline(tryDL); err != nil {
		return 0, fmt.Errorf("set write deadline: %w", err), false
	}
	c.dl = tryDL
	n, err = c.Conn.Write(out)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	return n, err, false
}

// flushHeld is the connection's own goroutine that sends what
// SendTextNoWait could not, and what was sent meanwhile.
func (c *Conn) flushHeld() {
	c.mu.Lock()
	c.drainLocked()
	c.mu.Unlock()
}

// drainLocked writes buf, and what is added to it meanwhile, until it is
// empty or a write fails, by heldDL (zero: no deadline). It is called
// with mu held and flushing set, and releases mu while the network takes
// the bytes (so SendTextNoWait never waits for it); flushing keeps every
// other write out meanwhile, and is cleared on return. A failed write
// closes the connection (its reader ends) and is kept in err.
func (c *Conn) drainLocked() error {
	for len(c.buf) > 0 {
		out := c.buf
		c.buf = nil
		var err error
		if !c.dl.Equal(c.heldDL) {
			err = c.Conn.SetWriteDeadline(c.heldDL)
			c.dl = c.heldDL
		}
		c.mu.Unlock()
		if err == nil {
			_, err = c.Conn.Write(out)
		}
		c.mu.Lock()
		if err != nil {
			c.err = fmt.Errorf("wsbatch: write: %w", err)
			c.buf = nil
			c.Conn.Close() // the reader ends, and with it the socket
			break
		}
		if c.buf == nil && !c.small && cap(out) <= maxKept {
			c.buf = out[:0] // kept for the next batch
		}
	}
	c.heldDL = time.Time{}
	c.flushing = false
	close(c.flushed)
	return c.err
}

// waitFlushedLocked waits, with mu released meanwhile, until no
// flushHeld runs, so that a write keeps its place after what was held.
func (c *Conn) waitFlushedLocked() {
	for c.flushing {
		ch := c.flushed
		c.mu.Unlock()
		<-ch
		c.mu.Lock()
	}
}

// dropBufLocked empties the write buffer after a write, keeping it for
// the next one unless it is large or the connection keeps none (small).
func (c *Conn) dropBufLocked() {
	if cap(c.buf) > maxKept || c.small {
		c.buf = nil
	} else {
		c.buf = c.buf[:0]
	}
}
