package agent

import (
	"context"
	"runtime"
	"time"

	"github.com/coder/websocket"

	wire "github.com/confab/confab/client/agent"
)

// The socket's outbound side: frames are encoded once, queued, and written
// by one writer goroutine in corked batches.

// enqueue encodes f and queues it for the writer. A full queue closes the
// socket as a slow consumer; enqueue then reports false.
func (c *conn) enqueue(f wire.Frame) bool {
	c.backlog.queued.Add(1)
	return c.enqueueReserved(f)
}

// enqueueReserved is enqueue of a frame whose place in the queue a watcher
// reserved (backpressure.go).
func (c *conn) enqueueReserved(f wire.Frame) bool {
	buf := c.h.getBuf()
	data, err := encodeFrame(*buf, &f, c.h.fastFrames)
	*buf = data
	if err != nil {
		c.h.putBuf(buf)
		c.unreserve()
		c.h.log.Error("agent: encode frame", "type", f.Type, "err", err)
		return true
	}
	return c.queueEncoded(buf)
}

// queueEncoded queues a frame already encoded into buf (a buffer of the
// handler's pool, which the writer gives back), whose place is counted.
func (c *conn) queueEncoded(buf *[]byte) bool {
	data := *buf
	select {
	case <-c.killed:
		c.h.putBuf(buf)
		c.unreserve()
		return false
	default:
	}
	n := len(data)
	c.backlog.bytes.Add(int64(n)) // before the send: the writer subtracts after it
	select {
	case c.out <- buf:
		return true
	default:
		c.dequeued(1, n)
		c.h.putBuf(buf)
		c.h.log.Warn("agent: slow consumer, closing socket", "agent", c.agent.ID)
		if c.h.opts.SlowConsumer != nil {
			c.h.opts.SlowConsumer()
		}
		c.kill(wire.CloseSlowConsumer, "slow consumer")
		return false
	}
}

// kill removes the agent's parties from their sessions at once and has the
// writer close the socket with a code and reason, after the frame it may be
// writing (the close frame reaches a slow reader after what it has not read
// yet, or not at all if the socket stays blocked for WriteTimeout).
func (c *conn) kill(code websocket.StatusCode, reason string) {
	first := false
	c.killOnce.Do(func() {
		c.killCode, c.killReason = code, reason
		close(c.killed)
		first = true
	})
	if first {
		c.leaveAll()
	}
}

// Writer batches: the frames queued when the writer wakes are written
// corked and sent in one socket write, at most this many or this many bytes
// at once.
const (
	batchFrames = 64
	batchBytes  = 256 << 10
)

func (c *conn) writer() {
	defer c.wg.Done()
	for {
		select {
		case buf := <-c.out:
			if len(c.out) == 0 {
				// Woken by one frame: let the other sessions' watchers
				// that are ready queue theirs first, for one write.
				runtime.Gosched()
			}
			frames, size, ok := c.writeBatch(buf)
			if !ok {
				c.ws.CloseNow()
				return
			}
			c.dequeued(frames, size) // wakes held-back watchers (backpressure.go)
		case <-c.killed:
			c.ws.Close(c.killCode, c.killReason)
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// writeBatch writes buf and whatever else is queued (up to a batch) and
// sends them in one socket write within the write timeout. It returns how
// many frames, of how many bytes, it took from the queue.
func (c *conn) writeBatch(buf *[]byte) (frames, size int, ok bool) {
	if c.cork == nil { // not corkable: one write per frame
		ctx, cancel := context.WithTimeout(c.ctx, c.h.opts.WriteTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, *buf)
		cancel()
		size = len(*buf)
		c.h.putBuf(buf)
		return 1, size, err == nil
	}
	c.cork.Cork()
	for {
		// Corked, a frame is only copied into memory (by wsbatch, not
		// through the library's writer): the deadline is the Uncork's.
		err := c.cork.AppendText(*buf)
		frames++
		size += len(*buf)
		c.h.putBuf(buf)
		if err != nil {
			c.cork.Uncork(time.Now().Add(c.h.opts.WriteTimeout))
			return frames, size, false
		}
		if frames >= batchFrames || size >= batchBytes {
			break
		}
		select {
		case buf = <-c.out:
			continue
		default:
		}
		break
	}
	return frames, size, c.cork.Uncork(time.Now().Add(c.h.opts.WriteTimeout)) == nil
}
