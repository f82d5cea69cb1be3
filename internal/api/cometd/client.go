package cometd

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/confab/confab/internal/clock"
)

// Source is where a client's deliveries come from besides its queue: the
// Chat API v2 feed of its chat. Calls are serialised by Client.op.
type Source interface {
	// Changed returns a channel that closes when Drain may have more.
	Changed() <-chan struct{}
	// Drain appends the messages ready now. drop asks for the client to be
	// dropped once they are sent (it fell behind); done means nothing more
	// will come and the source is to be detached.
	Drain(dst []Message) (out []Message, drop, done bool)
	// Close releases the source.
	Close()
}

// Client is one Bayeux client (one handshake).
type Client struct {
	srv     *Server
	id      string
	browser string // BAYEUX_BROWSER value it is bound to
	addr    string // client address it is charged to ("" for none)

	// op serialises the client's publishes with the draining of its
	// deliveries; held before mu.
	op sync.Mutex

	mu        sync.Mutex // guards the following
	queue     []Message
	overflow  bool          // the queue overflowed: drop at the next drain
	wake      chan struct{} // closed (and replaced) when the queue gains a message
	kick      chan struct{} // closed (and replaced) to answer a held connect now
	src       Source
	srcOwner  any // what the source belongs to (the chat service's binding)
	subs      map[string]bool
	connected bool // a first connect has been answered
	holding   int  // connects being held
	gone      bool
	replaced  bool // removed for a newer client following the same customer
	expiry    clock.Timer
}

func newClient(s *Server, browser string) *Client {
	return &Client{srv: s, id: newID(), browser: browser, wake: make(chan struct{}), kick: make(chan struct{}), subs: map[string]bool{}}
}

// ID returns the client id.
func (c *Client) ID() string { return c.id }

// Deliver queues a message for the client. A client whose queue is full is
// dropped as a slow consumer at its next drain (and the message is lost
// with it: the client recovers with requestNotifications).
func (c *Client) Deliver(channel string, data json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return
	}
	if len(c.queue) >= c.srv.maxQueue {
		c.overflow = true
	} else {
		c.queue = append(c.queue, Message{Channel: channel, Data: data})
	}
	close(c.wake)
	c.wake = make(chan struct{})
}

// requeue puts deliveries that could not be written back at the front of
// the queue (beyond MaxQueue if need be: they were taken from it or from
// the source, whose position has moved past them).
func (c *Client) requeue(msgs []Message) {
	if len(msgs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return
	}
	c.queue = append(append(make([]Message, 0, len(msgs)+len(c.queue)), msgs...), c.queue...)
	close(c.wake)
	c.wake = make(chan struct{})
}

// SetSource attaches src (owned by owner) as the client's source, closing
// the one it replaces.
func (c *Client) SetSource(owner any, src Source) {
	c.mu.Lock()
	old := c.src
	if c.gone {
		c.mu.Unlock()
		src.Close()
		return
	}
	c.src, c.srcOwner = src, owner
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Source returns the client's source and its owner (nil if none).
func (c *Client) Source() (Source, any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.src, c.srcOwner
}

// drain takes what is ready: the queue, then the source. drop is set when
// the client must be dropped after these are sent.
func (c *Client) drain(dst []Message) (out []Message, drop bool) {
	c.op.Lock()
	defer c.op.Unlock()
	c.mu.Lock()
	dst = append(dst, c.queue...)
	clear(c.queue)
	c.queue = c.queue[:0]
	drop = c.overflow
	src := c.src
	c.mu.Unlock()
	if drop || src == nil {
		return dst, drop
	}
	dst, drop, done := src.Drain(dst)
	if done {
		c.mu.Lock()
		if c.src == src {
			c.src, c.srcOwner = nil, nil
		}
		c.mu.Unlock()
		src.Close()
	}
	return dst, drop
}

// waitChans returns the channels a holder waits on, taken before a drain.
func (c *Client) waitChans() (wake, kick, changed <-chan struct{}, gone bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.src != nil {
		changed = c.src.Changed()
	}
	return c.wake, c.kick, changed, c.gone
}

// holdReason says why hold returned.
type holdReason int

const (
	heldDelivered holdReason = iota // messages to send
	heldTimeout                     // the connect timed out: answer it
	heldKicked                      // a newer connect, or the client is gone
	heldAborted                     // the transport's context ended
	heldStopping                    // the server is shutting down
)

// beginHold starts holding a connect: a connect held elsewhere is answered,
// and the client cannot expire while held. It returns the kick channel of
// this hold.
func (c *Client) beginHold() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.kick)
	c.kick = make(chan struct{})
	c.holding++
	if c.expiry != nil {
		c.expiry.Stop()
	}
	return c.kick
}

// endHold ends a hold begun by beginHold; the expiry clock starts again.
func (c *Client) endHold() {
	c.mu.Lock()
	c.holding--
	c.mu.Unlock()
	c.touch()
}

// hold waits for deliveries for a held connect: it returns at once with
// what is ready, otherwise when something arrives, expired closes, the
// hold is kicked, ctx ends or the server stops.
func (c *Client) hold(ctx context.Context, kick, expired <-chan struct{}, dst []Message) ([]Message, bool, holdReason) {
	for {
		wake, _, changed, gone := c.waitChans()
		if gone {
			return dst, false, heldKicked
		}
		out, drop := c.drain(dst)
		if len(out) > len(dst) || drop {
			return out, drop, heldDelivered
		}
		select {
		case <-wake:
		case <-changed:
		case <-expired:
			return dst, false, heldTimeout
		case <-kick:
			return dst, false, heldKicked
		case <-ctx.Done():
			return dst, false, heldAborted
		case <-c.srv.done:
			return dst, false, heldStopping
		}
	}
}

// touch restarts the expiry clock unless a connect is held: a client that
// makes no request for Timeout+Interval+Grace is removed.
func (c *Client) touch() {
	d := c.srv.timeout + c.srv.interval + c.srv.grace
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone || c.holding > 0 {
		return
	}
	if c.expiry == nil {
		c.expiry = c.srv.clock.AfterFunc(d, func() { c.srv.remove(c, whyExpired) })
		return
	}
	c.expiry.Reset(d)
}

// close marks the client gone, stops its timer, answers a held connect and
// closes its source.
func (c *Client) close() {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	c.gone = true
	if c.expiry != nil {
		c.expiry.Stop()
	}
	close(c.kick)
	c.kick = make(chan struct{})
	src := c.src
	c.src, c.srcOwner, c.queue = nil, nil, nil
	c.mu.Unlock()
	if src != nil {
		c.op.Lock() // no Drain of it may be running
		src.Close()
		c.op.Unlock()
	}
}

// replace removes the client for a newer one following the same chat's
// customer: its held connect gets errReplaced, advice reconnect none.
func (c *Client) replace() {
	c.mu.Lock()
	c.replaced = true
	c.mu.Unlock()
	c.srv.remove(c, whyReplaced)
}

func (c *Client) wasReplaced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replaced
}
