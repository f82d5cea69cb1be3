package chat

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotStored: the journal could not make an event durable (after its
// retries); the event was withdrawn and nobody will see it.
var ErrNotStored = errors.New("chat: event not stored")

// The commit watermark. With a journal that makes events durable
// (transcript-auto-save on), an event is shown to the other parties only
// once it and every event before it are durable: otherwise a party could see
// a message that a crash then takes back, and after a restoration a
// different event could take its position. Events below s.durable are
// durable; readers (Read, ReadN) stop there.
//
// A session with writes in flight has one tracker, which waits for the
// oldest pending write, then advances the watermark past it and past every
// later write already done (a group commit completes many at once), and
// wakes the session's waiters. The tracker is the write's completion
// callback when the journal's waiter has one (store tickets), else a
// goroutine; it ends when nothing is pending: there is no goroutine per
// event, and none for an idle session. Readers are woken when the watermark
// moves, not when an event that they may not see yet is appended.
//
// A write that fails (the journal's own retries, transcript-resend-attempts,
// happen inside its Waiter) never lets the watermark pass an event nobody may
// see: the tracker withdraws the failed events first — marked superseded, so
// no reader, no final transcript and no later restoration shows them, and a
// client message id they carried may be sent again — and only then moves
// the watermark past them; the engine's OnWriteError decides what else
// happens to the session (transcript-save-on-error).

// pendingWrite is an appended event whose durability is awaited.
type pendingWrite struct {
	lo, pos int    // the events it covers: lo..pos (one event unless grouped)
	w       Waiter // nil: nothing to wait for beyond the earlier writes
}

// doneReporter is implemented by waiters that can say without blocking
// whether they have completed (store tickets do).
type doneReporter interface {
	Done() <-chan struct{}
}

// waiterDone reports, without blocking, whether w has completed
// successfully: a failed write is not done for the watermark, which only the
// tracker moves past it (after withdrawing its events).
func waiterDone(w Waiter) bool {
	if w == nil {
		return true
	}
	if ws, ok := w.(waiters); ok {
		for _, w := range ws {
			if !waiterDone(w) {
				return false
			}
		}
		return true
	}
	d, ok := w.(doneReporter)
	if !ok {
		return false
	}
	select {
	case <-d.Done():
		return w.Wait(context.Background()) == nil // completed: returns at once
	default:
		return false
	}
}

// doneNotifier is implemented by waiters that can call a function once they
// have completed (store tickets: store.Ticket.AfterDone). It reports false,
// without calling f, if the waiter has completed already.
type doneNotifier interface {
	AfterDone(f func()) bool
}

// trackLocked records the durability of the event just appended at pos.
func (s *Session) trackLocked(pos int, w Waiter) {
	if len(s.pending) == 0 && waiterDone(w) {
		s.setDurableLocked(pos + 1)
		return
	}
	s.pending = append(s.pending, pendingWrite{lo: pos, pos: pos, w: w})
	if !s.tracking {
		s.watchLocked()
	}
}

// watchLocked makes someone advance the watermark past the oldest pending
// write once it completes: the write's completion callback when its waiter
// offers one (no goroutine waits then: the store runs the callbacks of a
// whole batch on one goroutine), else a tracking goroutine. s.tracking is
// set while one of them has the job; each ends by calling watchLocked again
// (the callback) or by clearing it (the goroutine, once nothing is pending).
// A failed write always goes to the tracking goroutine, which withdraws its
// events and reports the failure.
func (s *Session) watchLocked() {
	for len(s.pending) > 0 {
		w := s.pending[0].w
		if waiterDone(w) {
			s.popLocked(1)
			continue
		}
		if n, ok := w.(doneNotifier); ok {
			if s.advanceFn == nil {
				s.advanceFn = s.advance
			}
			if n.AfterDone(s.advanceFn) {
				s.tracking = true
				return
			}
			if waiterDone(w) { // completed meanwhile
				continue
			}
		}
		s.tracking = true
		go s.track()
		return
	}
	s.tracking = false
}

// advance is the completion callback of the oldest pending write (see
// watchLocked).
func (s *Session) advance() {
	s.mu.Lock()
	s.watchLocked()
	s.mu.Unlock()
}

// track advances the watermark as pending writes complete.
func (s *Session) track() {
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.tracking = false
			s.mu.Unlock()
			return
		}
		first := s.pending[0]
		s.mu.Unlock()
		var err error
		if first.w != nil {
			err = first.w.Wait(context.Background())
		}
		s.mu.Lock()
		n := 0
		if len(s.pending) > 0 && s.pending[0].pos == first.pos {
			n = 1 // waited for above (settle may have taken it meanwhile)
			if err != nil {
				s.withdrawLocked(s.pending[0].lo, first.pos)
			}
		}
		s.popLocked(n)
		onErr := s.engine.onWriteError
		s.mu.Unlock()
		if err != nil && onErr != nil {
			onErr(s, first.pos, err)
		}
	}
}

// popLocked removes the first n pending writes (known to be done) and every
// later one already done, advances the watermark past them and wakes the
// waiters.
func (s *Session) popLocked(n int) {
	for n < len(s.pending) && waiterDone(s.pending[n].w) {
		n++
	}
	if n == 0 {
		return
	}
	s.setDurableLocked(s.pending[n-1].pos + 1)
	rest := copy(s.pending, s.pending[n:])
	clear(s.pending[rest:])
	s.pending = s.pending[:rest]
	if rest == 0 && cap(s.pending) > 64 {
		s.pending = nil
	}
	s.notifyLocked()
}

// groupPendingLocked merges the pending writes at positions ≥ from into one,
// so the watermark passes them all at once. The events from from on were
// appended under one hold of the session's lock, so no reader has seen
// any of them; if the first became durable before the last was appended
// (a fast store) while others are still pending, the watermark is moved
// back to from, so that none shows before all of them do (a customer's
// stream ends at its own departure and would miss the agent's).
func (s *Session) groupPendingLocked(from int) {
	if s.durable > from && len(s.pending) > 0 {
		s.setDurableLocked(from)
	}
	i := len(s.pending)
	for i > 0 && s.pending[i-1].pos >= from {
		i--
	}
	if len(s.pending)-i < 2 {
		return
	}
	var ws waiters
	for _, p := range s.pending[i:] {
		if p.w != nil {
			ws = append(ws, p.w)
		}
	}
	lo, last := s.pending[i].lo, s.pending[len(s.pending)-1].pos
	clear(s.pending[i+1:])
	s.pending = append(s.pending[:i], pendingWrite{lo: lo, pos: last, w: ws})
}

// withdrawLocked hides the events at positions lo..hi, whose write failed:
// no reader sees them, the final transcript leaves them out, and a client
// message id one carried is forgotten, so the sender may send it again.
func (s *Session) withdrawLocked(lo, hi int) {
	for i := lo; i <= hi && i < s.events.len(); i++ {
		s.events.supersede(i)
		ev := s.events.event(i)
		if ev.Kind == Message && ev.ClientMsgID != "" {
			s.sent.forget(&s.events, ev.From.UserID, ev.ClientMsgID, i)
		}
	}
}

// durableAt is the Waiter of a repeated send: it completes once the
// watermark has passed the earlier message, failing if that message was
// withdrawn (its write failed).
type durableAt struct {
	s   *Session
	pos int
}

func (w durableAt) Wait(ctx context.Context) error {
	for {
		w.s.mu.Lock()
		if w.s.durable > w.pos {
			lost := w.s.events.superseded(w.pos)
			w.s.mu.Unlock()
			if lost {
				return fmt.Errorf("session %s event %d: %w", w.s.id, w.pos, ErrNotStored)
			}
			return nil
		}
		if w.s.changed == nil {
			w.s.changed = make(chan struct{})
		}
		ch := w.s.changed
		w.s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// duplicateLocked is the receipt of a send that repeats the client message
// id of the message at pos: acknowledged only once that message is durable.
func (s *Session) duplicateLocked(pos int) Receipt {
	rc := Receipt{Pos: pos, Time: s.events.timeAt(pos), Duplicate: true}
	if pos >= s.durable {
		rc.durable, rc.sess = durableAt{s: s, pos: pos}, s
	}
	return rc
}

// setDurableLocked moves the watermark to pos.
func (s *Session) setDurableLocked(pos int) {
	s.durable = pos
	s.durableSeen.Store(int64(pos))
}

// settle advances the watermark past the leading pending writes that are
// done, without waiting.
func (s *Session) settle() {
	s.mu.Lock()
	s.popLocked(0)
	s.mu.Unlock()
}

// readStateLocked is the state readers are told: a closed session whose
// last events are not durable yet still reads as alive, so a reader that
// stops at the close has seen every event.
func (s *Session) readStateLocked() State {
	if s.state == Closed && s.durable < s.events.len() {
		return Alive
	}
	return s.state
}

// visibleLocked is the end of what readers may see: the watermark.
func (s *Session) visibleLocked() int { return s.durable }

// Durable returns the commit watermark: the events at positions below it are
// durable and visible to readers.
func (s *Session) Durable() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.durable
}
