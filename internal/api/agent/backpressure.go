package agent

import (
	"sync"
	"sync/atomic"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/clock"
)

// Backpressure on the socket's watchers.
//
// A session's transcript is its own queue: a watcher that waits loses
// nothing, and its next read carries every event that arrived meanwhile
// in one frame (up to readBatch events). So a watcher queues an events
// frame only while the socket's queue is at most half full (by frames, and
// by bytes against Options.QueueBytes); otherwise it holds back before
// reading and goes on once the writer has brought the queue down to a
// quarter (of both). The events are coalesced at their source instead of
// queued as one small frame per wake-up, which is what closed a reader that
// was only slower than a burst for a moment (4001 with a queue of 256
// one-message frames). A watcher reserves its frame's place before it
// reads, so however many watchers a socket has, together they never take
// more than half of the queue's frames.
//
// What cannot wait — answers, routing notices, relayed frames — goes into
// the other half; a queue full all the same closes the socket as before
// (4001, enqueue). A socket whose watchers stay held back for
// Options.WriteTimeout (the queue not drained to a quarter in that time: a
// reader that stopped reading) is closed as a slow consumer too.
//
// Concurrency: queued and bytes are atomic; every decrease of queued (the
// writer after a batch, a reservation given back) checks whether waiters
// may go on. A waiter sets waiting before it looks at the queue, and a
// decrease looks at waiting after it: one of the two sees the other, so no
// wake-up is lost. kill, teardown and a moved session wake waiters through
// c.killed, c.ctx and member.stop.

// backlog is the state of the watchers' backpressure of one socket.
type backlog struct {
	queued  atomic.Int64 // frames in c.out, being sent to it, or reserved by watchers
	bytes   atomic.Int64 // bytes of the frames queued (or in the batch being written)
	waiting atomic.Bool  // set by a waiter before it looks at queued

	mu      sync.Mutex    // guards the following
	drained chan struct{} // closed once the queue is down to a quarter; nil when nobody waits
	stall   clock.Timer   // closes the socket if drained is not closed in time
}

// Default of Options.QueueBytes.
const defaultQueueBytes = 4 << 20

// watchFrames is how many frames the queue may hold for a watcher to
// queue one more: half of it (at least one).
func (c *conn) watchFrames() int64 { return max(int64(cap(c.out)/2), 1) }

// backlogged reports whether watchers must hold back: the queue is half
// full by frames (reserve would fail), or more than half by bytes.
func (c *conn) backlogged() bool {
	return c.backlog.queued.Load() >= c.watchFrames() || c.backlog.bytes.Load() > int64(c.h.opts.QueueBytes/2)
}

// drainedEnough reports whether held-back watchers may go on: the queue
// is down to a quarter by frames and by bytes.
func (c *conn) drainedEnough() bool {
	return c.backlog.queued.Load() <= int64(cap(c.out)/4) && c.backlog.bytes.Load() <= int64(c.h.opts.QueueBytes/4)
}

// reserve takes a place in the queue for a watcher's next frame, unless
// the queue is backlogged. A reservation is used by enqueueReserved or
// given back with unreserve.
func (c *conn) reserve() bool {
	if c.backlog.bytes.Load() > int64(c.h.opts.QueueBytes/2) {
		return false
	}
	if c.backlog.queued.Add(1) > c.watchFrames() {
		c.unreserve()
		return false
	}
	return true
}

// unreserve gives back a place reserved (or counted by a failed enqueue).
func (c *conn) unreserve() { c.dequeued(1, 0) }

// dequeued records frames (and their bytes) that left the queue: the
// writer's batch, a reservation given back. Held-back watchers go on once
// the queue is down to a quarter.
func (c *conn) dequeued(frames, bytes int) {
	c.backlog.queued.Add(-int64(frames))
	if bytes != 0 {
		c.backlog.bytes.Add(-int64(bytes))
	}
	if c.backlog.waiting.Load() && c.drainedEnough() {
		c.releaseWatchers()
	}
}

// holdBack returns a channel a watcher that could not reserve must wait on
// before it tries again (closed once the queue is down to a quarter), or
// nil if the queue is no longer backlogged.
func (c *conn) holdBack() <-chan struct{} {
	b := &c.backlog
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting.Store(true) // before looking at the queue (see above)
	if !c.backlogged() {
		if b.drained == nil {
			b.waiting.Store(false)
		}
		return nil
	}
	if b.drained == nil {
		b.drained = make(chan struct{})
		b.stall = c.h.opts.Clock.AfterFunc(c.h.opts.WriteTimeout, c.stalled)
	}
	return b.drained
}

// releaseWatchers wakes the held-back watchers and stops the stall timer.
func (c *conn) releaseWatchers() {
	b := &c.backlog
	b.mu.Lock()
	if b.drained != nil {
		close(b.drained)
		b.drained = nil
		b.stall.Stop()
		b.stall = nil
	}
	b.waiting.Store(false)
	b.mu.Unlock()
}

// stalled runs when watchers were held back for WriteTimeout: unless the
// queue drained meanwhile, the socket is closed as a slow consumer.
func (c *conn) stalled() {
	if c.drainedEnough() || c.ctx.Err() != nil {
		c.releaseWatchers()
		return
	}
	select {
	case <-c.killed: // closing already
		return
	default:
	}
	c.h.log.Warn("agent: slow consumer, queue not drained in time, closing socket", "agent", c.agent.ID)
	if c.h.opts.SlowConsumer != nil {
		c.h.opts.SlowConsumer()
	}
	c.kill(wire.CloseSlowConsumer, "slow consumer")
}
