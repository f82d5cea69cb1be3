package agent

import (
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/chat"
)

// startWatch streams a member's session to the socket.
func (c *conn) startWatch(m *member) {
	c.wg.Add(1)
	w := &watcher{c: c, m: m, start: m.sess.CreatedAt(), replay: true}
	go w.run()
}

// watcher sends what a member may see of its session, starting with a
// replay of the transcript so far, until the member's own partyLeft (or
// the session's end) has been sent. Between changes of the session it has
// no goroutine: it parks on the session (chat.Session.OnChange), whose
// next change starts its goroutine again (wake). A dense server holds
// tens of thousands of watched sessions, nearly all idle at any moment; a
// goroutine each was a third of its goroutines and of the stacks every GC
// cycle scans.
//
// Only one goroutine runs a watcher at a time: run parks it as its last
// act, and only the session's change after that starts it again. The
// fields are written by that goroutine before it parks (under the
// session's lock, in OnChange) and read by the next one, started under
// that lock.
type watcher struct {
	c      *conn
	m      *member
	start  time.Time // the session's creation: event times are offsets from it
	pos    int       // the next position to read
	replay bool      // the frames so far replay the transcript
}

// run reads and sends until the member is caught up, then parks the
// watcher, or until the member's part in the session ends.
func (w *watcher) run() {
	c, m := w.c, w.m
	defer c.wg.Done()
	// Held while reading and enqueueing, given back while waiting
	// (watchbuf.go); enqueue encodes the frame before it returns.
	var wb *watchBuf
	defer func() {
		if wb != nil {
			c.h.watchBufs.put(wb)
		}
	}()
	for {
		if wb == nil {
			wb = c.h.watchBufs.get()
		}
		if !c.reserve() { // the queue is backlogged: hold back (backpressure.go)
			if drained := c.holdBack(); drained != nil {
				select {
				case <-drained:
				case <-m.stop:
					return
				case <-c.killed:
					return
				case <-c.ctx.Done():
					return
				}
			}
			continue
		}
		evs, next, state, changed, err := m.sess.ReadNChanged(m.userID, w.pos, readBatch, wb.evs[:0])
		if err != nil {
			c.unreserve()
			c.dropMember(m)
			return
		}
		left := false
		if len(evs) > 0 {
			f := wire.Frame{Type: wire.FrameEvents, SessionID: m.sess.ID(), Replay: w.replay, Next: next,
				State: state.String(), Events: wb.wev[:0]}
			for i := range evs {
				f.Events = append(f.Events, encodeEvent(&evs[i], w.start))
				left = left || (evs[i].Kind == chat.PartyLeft && evs[i].From.UserID == m.userID && evs[i].Pos > m.joinPos)
			}
			ok := c.enqueueReserved(f)
			clear(f.Events) // drop the texts and maps until the next frame
			wb.wev = f.Events[:0]
			if !ok {
				clear(evs)
				wb.evs = evs[:0]
				return
			}
		} else {
			c.unreserve()
		}
		full := len(evs) == readBatch
		clear(evs)
		wb.evs = evs[:0]
		w.pos = next
		if full && !left {
			continue // more to read at once
		}
		if left || state == chat.Closed {
			c.dropMember(m)
			return
		}
		w.replay = false
		c.h.watchBufs.put(wb)
		wb = nil
		if w.stopped() {
			return
		}
		if m.sess.OnChange(changed, w.wake) {
			return // parked: the session's next change calls wake
		}
		// The session changed since the read: read again.
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
// lock held: it only starts the watcher's goroutine again.
func (w *watcher) wake() { go w.resume() }

// resume runs a parked watcher again, unless the socket is ending (the
// same check under mu as goFollow: teardown waits for every goroutine
// started before its cancel) or the session moved away.
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
	w.run()
}
