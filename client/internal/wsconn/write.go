package wsconn

import (
	"context"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/coder/websocket"
)

// The write side: frames, their coalescing, and the close handshake.

// Write sends p as one message of type typ. Frames written concurrently
// are coalesced: one writer hands every frame queued meanwhile to the
// connection in one write. Write returns once its frame was written (or
// the connection failed). A cancelled ctx breaks the connection while a
// write is in progress, as a write that cannot finish is.
func (c *Conn) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	op := byte(opText)
	if typ == websocket.MessageBinary {
		op = opBinary
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("websocket write: %w", err)
	}
	return c.writeFrame(ctx, op, p)
}

// writeClose sends a close frame with code and reason (once).
func (c *Conn) writeClose(code websocket.StatusCode, reason string) error {
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	p = append(p, reason...)
	if len(p) > 125 {
		p = p[:125]
	}
	return c.writeFrame(context.Background(), opClose, p)
}

// appendFrame appends a masked frame with opcode op and payload p.
func appendFrame(b []byte, op byte, p []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	// The key only keeps proxies from reading the stream as something
	// else (RFC 6455 section 10.3): the runtime's generator, seeded at
	// random, serves, without crypto/rand's system call per frame.
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], mrand.Uint32())
	b = append(b, key[:]...)
	at := len(b)
	b = append(b, p...)
	mask(b[at:], key)
	return b
}

// mask XORs p with the masking key (RFC 6455 section 5.3).
func mask(p []byte, key [4]byte) {
	k := binary.LittleEndian.Uint32(key[:])
	k8 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k8)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

// writeFrame queues a frame and waits until it was written: the first
// writer to find nobody writing writes everything queued, again and again
// until the queue is empty; the others wait for it.
func (c *Conn) writeFrame(ctx context.Context, op byte, p []byte) error {
	c.wmu.Lock()
	if c.werr != nil || c.closeSent {
		err := c.werr
		c.wmu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		return fmt.Errorf("websocket write: %w", err)
	}
	if op == opClose {
		c.closeSent = true
	}
	before := len(c.pending)
	c.pending = appendFrame(c.pending, op, p)
	c.queued += uint64(len(c.pending) - before)
	mine := c.queued
	if c.flushing {
		for c.flushed < mine && c.werr == nil {
			c.wcond.Wait()
		}
		err, done := c.werr, c.flushed >= mine
		c.wmu.Unlock()
		if done {
			return nil
		}
		return fmt.Errorf("websocket write: %w", err)
	}
	c.flushing = true
	c.watch(ctx)
	c.flushLocked(ctx)
	err, done := c.werr, c.flushed >= mine
	c.wmu.Unlock()
	if err != nil && !done {
		c.CloseNow()
		return fmt.Errorf("websocket write: %w", err)
	}
	return nil
}

// flushLocked writes what is pending, again and again until nothing is
// (c.wmu held, c.flushing set by the caller; it is cleared on return).
func (c *Conn) flushLocked(ctx context.Context) {
	for len(c.pending) > 0 && c.werr == nil {
		out := c.pending
		c.pending, c.spare = c.spare[:0], nil
		c.wBusy.Add(1)
		c.wmu.Unlock()
		_, err := c.rwc.Write(out)
		c.wBusy.Add(-1)
		c.wmu.Lock()
		if cap(out) <= 256<<10 {
			c.spare = out[:0]
		}
		if err != nil {
			select {
			case <-c.closed:
				err = ErrClosed
			default:
			}
			if cerr := ctx.Err(); cerr != nil {
				err = cerr
			}
			c.werr = err
			break
		}
		c.flushed += uint64(len(out))
	}
	c.flushing = false
	c.wcond.Broadcast()
}

// Queue sends p as one message of type typ without waiting: the frame is
// written by the connection's writer goroutine (started by the first
// Queue), together with every frame queued or written meanwhile, so that
// many frames queued from one goroutine (answers handled one after the
// other) cost one write. An error means the connection is closed or has
// failed; a frame queued but not written when the connection fails is
// lost, which the reader sees as the connection ending.
func (c *Conn) Queue(typ websocket.MessageType, p []byte) error {
	op := byte(opText)
	if typ == websocket.MessageBinary {
		op = opBinary
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil || c.closeSent {
		err := c.werr
		if err == nil {
			err = ErrClosed
		}
		return fmt.Errorf("websocket write: %w", err)
	}
	before := len(c.pending)
	c.pending = appendFrame(c.pending, op, p)
	c.queued += uint64(len(c.pending) - before)
	if !c.flushing {
		c.flushing = true
		if c.kick == nil {
			c.kick = make(chan struct{}, 1)
			go c.writer()
		}
		c.kick <- struct{}{} // never blocks: one kick per flush, taken before the flush
	}
	return nil
}

// writer writes what Queue queued until the connection is closed.
func (c *Conn) writer() {
	for {
		select {
		case <-c.kick:
		case <-c.closed:
			return
		}
		c.wmu.Lock()
		c.flushLocked(context.Background())
		failed := c.werr != nil
		c.wmu.Unlock()
		if failed {
			c.CloseNow()
			return
		}
	}
}

// watch makes a cancellation of ctx break the connection while a write
// is in progress (c.wmu held). The watch of the previous flush is kept
// when ctx is the same (the same Done channel).
func (c *Conn) watch(ctx context.Context) {
	done := ctx.Done()
	if done == c.wDone {
		return
	}
	if c.wStop != nil {
		c.wStop()
		c.wStop = nil
	}
	c.wDone = done
	if done != nil {
		c.wStop = context.AfterFunc(ctx, func() {
			c.wmu.Lock()
			current := c.wDone == done
			c.wmu.Unlock()
			if current && c.wBusy.Load() > 0 {
				c.CloseNow()
			}
		})
	}
}

// CloseNow closes the connection without a close handshake.
func (c *Conn) CloseNow() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closed)
		c.closeRWC()
		c.wmu.Lock()
		if c.werr == nil {
			c.werr = ErrClosed
		}
		if c.wStop != nil {
			c.wStop()
			c.wStop = nil
		}
		c.wcond.Broadcast()
		c.wmu.Unlock()
	})
	if !first {
		return fmt.Errorf("websocket close: %w", ErrClosed)
	}
	return nil
}

// Close sends a close frame with code and reason, waits (up to 5 s) for
// the server's close frame — read by the goroutine in Read if there is
// one, by Close itself otherwise — and closes the connection.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
	select {
	case <-c.readDone: // the server closed first (and was answered)
		c.CloseNow()
		return nil
	default:
	}
	if err := c.writeClose(code, reason); err != nil {
		c.CloseNow()
		return fmt.Errorf("websocket close: %w", err)
	}
	deadline := time.NewTimer(closeTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
wait:
	for {
		if c.rmu.TryLock() {
			// Nobody is reading: read up to the server's close frame here.
			stop := time.AfterFunc(closeTimeout, func() { c.CloseNow() })
			for {
				if _, _, err := c.readLocked(nil); err != nil {
					break
				}
			}
			stop.Stop()
			c.rmu.Unlock()
			break
		}
		select {
		case <-c.readDone:
			break wait
		case <-deadline.C:
			break wait
		case <-poll.C:
		}
	}
	c.CloseNow()
	return nil
}
