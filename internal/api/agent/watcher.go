package agent

import (
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
)

// startWatch streams a member's session to the socket: a runner
// (internal/runq) sends the replay and then whatever follows.
func (c *conn) startWatch(m *member) {
	w := &watcher{c: c, m: m, start: m.sess.CreatedAt(), replay: true}
	w.wakeFn = w.wake
	c.h.runners.Push(w)
}

// watcher sends what a member may see of its session, starting with a
// replay of the transcript so far, until the member's own partyLeft (or
// the session's end) has been sent. Between changes of the session it has
// no goroutine: it parks on the session (chat.Session.OnChange), whose
// next change queues it for the handler's runners (wake, internal/runq). A
// dense server holds tens of thousands of watched sessions, nearly all
// idle at any moment; a goroutine each was a third of its goroutines and
// of the stacks every GC cycle scans. A watcher that must wait for its
// socket's queue to drain (backpressure.go) does so on a goroutine of its
// own (holdBack), never on a runner.
//
// Only one goroutine runs a watcher at a time: loop parks it as its last
// act, and only the session's change after that queues it again (a
// watcher is in the runners' queue at most once). The fields are written
// by that goroutine before it parks (under the session's lock, in
// OnChange) and read by the next one, which took it from the queue under
// the runners' lock after the session's change put it there.
type watcher struct {
	c      *conn
	m      *member
	start  time.Time // the session's creation: event times are offsets from it
	pos    int       // the next position to read
	replay bool      // the frames so far replay the transcript
	wakeFn func()    // w.wake, made once: parking passes it to the session (a method value per park was an allocation per event)
}

// loop reads and queues frames until the member is caught up (it parks
// the watcher) or its part in the session ends, and then returns nil; or
// until the socket's queue is backlogged, and then returns the channel to
// wait on (see wait) before calling loop again. It never blocks.
func (w *watcher) loop() <-chan struct{} {
	c, m := w.c, w.m
	for {
		if !c.reserve() { // the queue is backlogged: hold back (backpressure.go)
			if drained := c.holdBack(); drained != nil {
				return drained
			}
			continue
		}
		// Held while reading and enqueueing only (watchbuf.go); enqueue
		// encodes the frame before it returns.
		wb := c.h.watchBufs.get()
		evs, next, state, changed, err := m.sess.ReadNChanged(m.userID, w.pos, readBatch, wb.evs[:0])
		if err != nil {
			c.unreserve()
			c.h.watchBufs.put(wb)
			c.dropMember(m)
			return nil
		}
		left, ok := false, true
		if len(evs) > 0 {
			f := wire.Frame{Type: wire.FrameEvents, SessionID: m.sess.ID(), Replay: w.replay, Next: next,
				State: state.String(), Events: wb.wev[:0]}
			for i := range evs {
				f.Events = append(f.Events, encodeEvent(&evs[i], w.start))
				left = left || (evs[i].Kind == chat.PartyLeft && evs[i].From.UserID == m.userID && evs[i].Pos > m.joinPos)
			}
			ok = c.enqueueReserved(f)
			clear(f.Events) // drop the texts and maps until the next frame
			wb.wev = f.Events[:0]
		} else {
			c.unreserve()
		}
		full := len(evs) == readBatch
		clear(evs)
		wb.evs = evs[:0]
		c.h.watchBufs.put(wb)
		if !ok {
			return nil
		}
		w.pos = next
		if full && !left {
			continue // more to read at once
		}
		if left || state == chat.Closed {
			c.dropMember(m)
			return nil
		}
		w.replay = false
		if w.stopped() {
			return nil
		}
		if m.sess.OnChange(changed, w.wakeFn) {
			return nil // parked: the session's next change calls wake
		}
		// The session changed since the read: read again.
	}
}

// wait waits until a backlogged queue has drained (drained is closed) and
// reports true, or reports false once the watcher is no longer wanted.
func (w *watcher) wait(drained <-chan struct{}) bool {
	select {
	case <-drained:
		return true
	case <-w.m.stop:
	case <-w.c.killed:
	case <-w.c.ctx.Done():
	}
	return false
}

// holdBack runs a watcher held back by a backlogged queue on a goroutine
// of its own, so that no runner waits: it waits for the queue to drain and
// goes on until the watcher parks or ends. It is counted in c.wg by the
// runner that started it.
func (w *watcher) holdBack(drained <-chan struct{}) {
	defer w.c.wg.Done()
	for drained != nil && w.wait(drained) {
		drained = w.loop()
	}
}

// stopped reports whether the watcher is no longer wanted: the session
// moved to another node (relay.go) or the socket is ending.
func (w *watcher) stopped() bool {
	select {
	case <-w.m.stop:
		return true
	case <-w.c.ctx.Done():
		return true
	default:
		return false
	}
}

// wake is called by the watched session at its change, with the session's
// lock held: it only queues the watcher for the runners, which never
// blocks.
func (w *watcher) wake() { w.c.h.runners.Push(w) }

// resume runs a queued watcher on a runner, unless the socket is ending
// (the same check under mu as goFollow: teardown waits for every watcher
// counted before its cancel) or the session moved away.
func (w *watcher) resume() {
	c := w.c
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	if w.stopped() {
		c.wg.Done()
		return
	}
	if drained := w.loop(); drained != nil {
		go w.holdBack(drained) // keeps the count
		return
	}
	c.wg.Done()
}
