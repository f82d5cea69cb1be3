package wsbatch

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// SendTextNoWait is SendText for a caller that must not wait on a slow
// peer (a pool's runner serving many sockets, internal/runq): p goes out
// as one text message after whatever was held, and the call waits for the
// network at most try. What the socket does not take by then is sent by a
// goroutine of the connection's own, by deadline (the latest asked for),
// and messages sent meanwhile join it, in order. Every other write (the
// library's control frames, Uncork) waits until it is out. When that
// write fails the connection is closed (so its reader ends) and later
// sends report the error.
//
// try should be short (milliseconds): a socket whose peer reads keeps
// room for a frame, so the write nearly always completes at once.
func (c *Conn) SendTextNoWait(p []byte, try time.Duration, deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if err := c.appendTextLocked(p); err != nil {
		return err
	}
	if deadline.After(c.heldDL) {
		c.heldDL = deadline
	}
	if c.flushing {
		return nil // the connection's own goroutine sends it
	}
	c.corked = false
	now := c.clock()
	if tryDL := now.Add(try); !c.dl.After(now) || c.dl.After(tryDL) {
		if err := c.Conn.SetWriteDeadline(tryDL); err != nil {
			return fmt.Errorf("wsbatch: set write deadline: %w", err)
		}
		c.dl = tryDL
	}
	n, err := c.Conn.Write(c.buf)
	switch {
	case err == nil:
		c.dropBufLocked()
		c.heldDL = time.Time{}
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.buf = c.buf[n:]
		c.flushing = true
		c.flushed = make(chan struct{})
		go c.flushHeld()
		return nil
	}
	c.dropBufLocked()
	return fmt.Errorf("wsbatch: write: %w", err)
}

// flushHeld is the connection's own goroutine that sends what
// SendTextNoWait could not, and what was sent meanwhile, until nothing is
// held or a write fails. It writes without the lock (so SendTextNoWait
// never waits for it); flushing keeps every other write out meanwhile.
func (c *Conn) flushHeld() {
	c.mu.Lock()
	for len(c.buf) > 0 {
		out := c.buf
		c.buf = nil
		err := c.Conn.SetWriteDeadline(c.heldDL)
		c.dl = c.heldDL
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
	}
	c.heldDL = time.Time{}
	c.flushing = false
	close(c.flushed)
	c.mu.Unlock()
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
