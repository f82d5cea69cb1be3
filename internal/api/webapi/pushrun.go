package webapi

import (
	"context"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/wsbatch"
)

// pushTry is how long a runner waits for a push socket to take a frame;
// what it has not taken by then is sent by the connection's own goroutine
// (wsbatch.Conn.SendTextNoWait), so that a peer that does not read holds
// up no other socket.
const pushTry = 2 * time.Millisecond

// What woke a push socket's writer (pushRun.pending).
const (
	wakeChange = 1 << iota // the session changed
	wakePing               // the ping timer fired
	wakeGone               // the client went away (the reader ended) or missed a pong
	wakeStop               // the server is shutting down
)

// pushRun is a customer push socket's writer. Between the session's
// changes it has no goroutine: it parks on the session
// (chat.Session.OnChange), whose next change queues it for the API's
// runners (a.pushers, internal/runq), which read, encode and send what is
// new and park it again. Its other wake-ups, the ping timer, the reader's
// end and the server's shutdown, queue it the same way. A dense server
// holds tens of thousands of push sockets, nearly all idle: a parked
// writer goroutine each was half of the server's goroutines and of the
// stacks every GC cycle scans. What would wait for long runs on a
// goroutine of its own: a frame the socket does not take at once
// (wsbatch's SendTextNoWait), a ping waiting for its pong (pingOnce), the
// close handshake (end).
//
// Only one goroutine runs the writer at a time: active is set by whoever
// queues it (wake, also for the first frame), and cleared by run only
// when nothing woke it since its last read; st, first and evbuf are used
// by that goroutine alone.
type pushRun struct {
	a     *API
	c     *websocket.Conn
	cc    *wsbatch.Conn
	sock  *pushSock
	st    stream
	first bool          // no frame sent yet: the first is sent even without events
	pt    clock.Timer   // the ping timer
	ended chan struct{} // closed once the writer has ended and its close is done
	pings sync.WaitGroup
	onChg func() // r.changed, made once: the session's change callback (park)
	// heard is when the reader last counted a keepalive of the client
	// (Unix ns on the API's clock; 0: never): the ping timer pings only a
	// client silent for the ping interval.
	heard atomic.Int64

	mu      sync.Mutex // guards the following
	active  bool       // queued for a runner or running
	pending int        // wake* bits not yet handled
	parked  <-chan struct{}
	over    bool // the writer has ended: wakes are ignored
}

// newPushRun returns the writer of an accepted push socket, positioned at
// start, its ping timer running; serveWS wakes it for the first frame.
func (a *API) newPushRun(c *websocket.Conn, cc *wsbatch.Conn, rq *pushSock, start int) *pushRun {
	r := &pushRun{a: a, c: c, cc: cc, sock: rq, first: true, ended: make(chan struct{})}
	r.onChg = r.changed
	evbuf := a.getEvents()
	if start == readNewest {
		start, *evbuf = newestPos(rq.sess, rq.userID, *evbuf)
	}
	r.st = newStream(rq.sess, rq.userID, start, a.backlog, rq.left, *evbuf)
	if start == readNone {
		_, r.st.pos, _, _ = rq.sess.Read(rq.userID, maxPosition, nil) // the transcript length
	}
	*evbuf = r.st.buffer()
	a.putEvents(evbuf)
	r.st.buf = nil
	r.pt = a.clock.AfterFunc(a.ping, func() { r.wake(wakePing) })
	return r
}

// wake queues the writer for a runner unless it is queued or running
// already (then the run sees what woke it before it parks). It never
// blocks: the session calls it with its lock held.
func (r *pushRun) wake(why int) {
	r.mu.Lock()
	if r.over {
		r.mu.Unlock()
		return
	}
	r.pending |= why
	if why == wakeChange {
		r.parked = nil
	}
	if r.active {
		r.mu.Unlock()
		return
	}
	r.active = true
	r.mu.Unlock()
	r.a.pushers.Push(r)
}

func (r *pushRun) changed() { r.wake(wakeChange) }

// silentFor is how long the client has sent nothing the reader counted
// (at most once per keepaliveEvery); for a client never heard, it is
// longer than any ping interval.
func (r *pushRun) silentFor() time.Duration {
	h := r.heard.Load()
	if h == 0 {
		return math.MaxInt64
	}
	return max(r.a.clock.Now().Sub(time.Unix(0, h)), 0) // a clock set back: heard now
}

// run sends what is new until the writer parks (nothing woke it since its
// last read) or ends. It is called with active set.
func (r *pushRun) run() {
	a := r.a
	for {
		r.mu.Lock()
		why := r.pending
		r.pending = 0
		r.mu.Unlock()
		if why&wakeGone != 0 {
			r.end(0, "", true)
			return
		}
		ch, code, reason, over := r.deliver()
		switch {
		case over:
			r.end(code, reason, false)
			return
		case a.stopping():
			r.end(websocket.StatusGoingAway, "server shutting down", false)
			return
		}
		if why&wakePing != 0 {
			if quiet := r.silentFor(); quiet < a.ping {
				// Heard from within the interval (a keepalive): the client
				// is there. Ping once it has been silent for a whole one.
				r.pt.Reset(a.ping - quiet)
			} else {
				r.pings.Add(1)
				go r.pingOnce()
			}
		}
		if !r.park(ch) {
			continue // the session changed since the read
		}
		r.mu.Lock()
		if r.pending != 0 {
			r.mu.Unlock()
			continue
		}
		r.active = false
		r.mu.Unlock()
		return
	}
}

// deliver reads what is new and sends it: the first frame even when there
// is nothing, then one per batch of new events. It returns the channel
// that closes at the session's next change after the read, or over with
// the close code (0: the connection is broken) when the socket must end.
func (r *pushRun) deliver() (ch <-chan struct{}, code websocket.StatusCode, reason string, over bool) {
	a, rq := r.a, r.sock
	// The read buffer is held only while reading and writing: a parked
	// writer (most of them, most of the time) gives it back to the pool.
	evbuf := a.getEvents()
	r.st.buf = *evbuf
	defer func() {
		*evbuf = r.st.buffer()
		a.putEvents(evbuf)
		r.st.buf = nil
	}()
	bt, ch, err := r.st.readChanged()
	if err != nil {
		return nil, websocket.StatusInternalError, "chat unavailable", true
	}
	var b body
	switch {
	case bt.capped:
		// Fallen behind: name the index to resume from and close.
		a.fillFor(&b, rq.userID, rq.secret, rq.sess, batch{next: bt.events[0].ID()})
		b.status, b.resyncFrom = 1, b.next
		b.errs = []apiError{{codeUnavailable, "fell behind; resync from index " + strconv.Itoa(b.next)}}
		r.send(&b)
		if a.slow != nil {
			a.slow()
		}
		return nil, CloseResync, "resync from index " + strconv.Itoa(b.next), true
	case r.first || len(bt.events) > 0 || bt.ended:
		r.first = false
		a.fillFor(&b, rq.userID, rq.secret, rq.sess, bt)
		if !r.send(&b) {
			return nil, 0, "", true
		}
		if bt.ended {
			return nil, websocket.StatusNormalClosure, "chat ended", true
		}
	}
	return ch, 0, "", false
}

// send writes b as one text frame, without waiting for a slow peer (the
// rest goes out by the write timeout on the connection's own goroutine).
func (r *pushRun) send(b *body) bool {
	buf := r.a.getBuf()
	defer r.a.putBuf(buf)
	var room [wsbatch.TextHeadroom]byte // the frame's header goes there
	*buf = appendBody(append((*buf)[:0], room[:]...), b)
	return r.cc.SendTextNoWait(*buf, pushTry, time.Now().Add(r.a.wtimeout)) == nil
}

// park arranges for the session's change after ch was taken to wake the
// writer; false: it changed already, read again. A writer woken by
// something else than a change is parked on ch already when no change
// happened since.
func (r *pushRun) park(ch <-chan struct{}) bool {
	r.mu.Lock()
	if r.parked == ch {
		r.mu.Unlock()
		return true
	}
	r.parked = ch
	r.mu.Unlock()
	if r.sock.sess.OnChange(ch, r.onChg) {
		return true
	}
	r.mu.Lock()
	if r.parked == ch {
		r.parked = nil
	}
	r.mu.Unlock()
	return false
}

// pingOnce pings the client and waits for its pong on a goroutine of its
// own; a missed pong ends the socket, an answered one sets the next ping.
func (r *pushRun) pingOnce() {
	defer r.pings.Done()
	ctx, cancel := context.WithTimeout(context.Background(), r.a.wtimeout)
	err := r.c.Ping(ctx)
	cancel()
	if err != nil {
		r.wake(wakeGone)
		return
	}
	r.mu.Lock()
	over := r.over
	r.mu.Unlock()
	if !over {
		r.pt.Reset(r.a.ping)
	}
}

// end ends the writer: no wake runs it again and its timer stops. When
// the reader has ended (readerGone), serveWS closes the socket once ended
// is closed. Otherwise the socket is closed with code (0: at once, without
// a handshake) on a goroutine of its own, never on a runner: the close
// handshake waits for the client, and even CloseNow waits while another
// goroutine's close (a newer socket replacing this one, a moved session)
// is in its handshake. ended closes once the close is done.
func (r *pushRun) end(code websocket.StatusCode, reason string, readerGone bool) {
	r.mu.Lock()
	r.over = true
	r.mu.Unlock()
	r.pt.Stop()
	if readerGone {
		close(r.ended)
		return
	}
	go func() {
		if code == 0 {
			r.c.CloseNow()
		} else {
			r.c.Close(code, reason)
		}
		close(r.ended)
	}()
}

// addPushRun registers a writer for the shutdown's wake-up (one
// registered after it began sees it in its first run: a.stopping).
func (a *API) addPushRun(r *pushRun) {
	a.mu.Lock()
	a.pushRuns[r] = struct{}{}
	a.mu.Unlock()
}

func (a *API) dropPushRun(r *pushRun) {
	a.mu.Lock()
	delete(a.pushRuns, r)
	a.mu.Unlock()
}

// wakePushRuns wakes every registered writer to see the shutdown.
func (a *API) wakePushRuns() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for r := range a.pushRuns {
		r.wake(wakeStop)
	}
}
