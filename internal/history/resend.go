package history

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/store"
)

// Retries of failed saves (transcript-resend-attempts and
// transcript-resend-delay). An intermediate event whose write fails for a
// reason that may pass (the database unreachable, a connection killed, the
// disk read-only for a while) is written again, byte for byte, up to
// Attempts more times, Delay apart on the journal's clock; its Waiter —
// the one the engine holds, so the sender's acknowledgement and the
// session's commit watermark — completes only with the outcome of the last
// try. A refusal that will not change (a fenced epoch, a conflicting event
// at the position, an invalid record, the store closed) is final at once.
// One goroutine runs the retries of every session, and only while there
// are some. Record writes (the interaction's creation, its close) are tried
// again the same way by the record worker.

// Resend is the retry policy of failed saves.
type Resend struct {
	Attempts int           // further tries after the first failure; 0: none
	Delay    time.Duration // between tries
}

// resendPolicy is the live policy; none without Options.Resend.
func (j *Journal) resendPolicy() Resend {
	if j.opts.Resend == nil {
		return Resend{}
	}
	p := j.opts.Resend()
	p.Delay = max(p.Delay, 0)
	return p
}

// retryable reports whether a failed save may succeed if tried again.
func retryable(err error) bool {
	for _, final := range []error{store.ErrFenced, store.ErrConflict, store.ErrInvalid, store.ErrClosed,
		store.ErrTooLarge, store.ErrNotFound, store.ErrExists, context.Canceled} {
		if errors.Is(err, final) {
			return false
		}
	}
	return err != nil
}

// waiterDone is a chat.Waiter that reports completion without blocking
// (the engine's watermark uses it).
type waiterDone interface {
	Wait(ctx context.Context) error
	Done() <-chan struct{}
}

var _ waiterDone = (*eventWrite)(nil)

// eventWrite is an event write with its retries. It is allocated once per
// durable event (journal.go), so it holds only what the first try needs:
// the row is rebuilt from the deferred event for a retry (row), and the
// state of the retries is allocated only for a write that needs them.
type eventWrite struct {
	j     *Journal
	enc   deferredEvent // the row's Encoder
	t     store.Ticket  // the first try
	sid   string        // the row's session
	epoch int64         // the row's owner epoch
	rt    atomic.Pointer[retryState]
}

// retryState is the outcome of a write's retries.
type retryState struct {
	fin chan struct{} // closed when the retries have ended
	err error         // the outcome, set before fin is closed
}

// row is the store row of the write, as its first try had it.
func (w *eventWrite) row() store.EventRow {
	ev := &w.enc.ev
	return store.EventRow{SessionID: w.sid, Position: int64(ev.Pos), EventID: int64(ev.ID()), Time: ev.Time,
		Epoch: w.epoch, Encoder: &w.enc}
}

// Done is closed once the write has succeeded, failed for good, or run
// out of retries.
func (w *eventWrite) Done() <-chan struct{} {
	select {
	case <-w.t.Done():
	default:
		return w.t.Done()
	}
	if err := w.t.Wait(context.Background()); err == nil || !retryable(err) {
		return w.t.Done()
	}
	return w.retry().fin
}

// AfterDone runs f once the first try has completed (see
// store.Ticket.AfterDone), so the engine's watermark needs no goroutine
// waiting; a first try that failed is not Done, and the engine then waits
// on the retries itself.
func (w *eventWrite) AfterDone(f func()) bool { return w.t.AfterDone(f) }

// Wait blocks until Done and returns the outcome, or ctx.Err() if ctx ends
// first (the retries go on).
func (w *eventWrite) Wait(ctx context.Context) error {
	err := w.t.Wait(ctx)
	if err == nil || ctx.Err() != nil || !retryable(err) {
		return err
	}
	r := w.retry()
	select {
	case <-r.fin:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retry hands the write to the journal's resender once and returns the
// state its retries end in.
func (w *eventWrite) retry() *retryState {
	if r := w.rt.Load(); r != nil {
		return r
	}
	r := &retryState{fin: make(chan struct{})}
	if !w.rt.CompareAndSwap(nil, r) {
		return w.rt.Load() // another caller started them
	}
	w.j.rs.add(w.j, w)
	return r
}

// finish ends the retries, which retry started.
func (w *eventWrite) finish(err error) {
	r := w.rt.Load()
	r.err = err
	close(r.fin)
}

// resender runs the retries of failed event writes.
type resender struct {
	mu      sync.Mutex // guards the following
	items   []*retryItem
	running bool
	stopped bool
	stop    chan struct{} // closed by halt
}

type retryItem struct {
	w       *eventWrite
	attempt int // tries made after the first
	due     time.Time
}

func (r *resender) add(j *Journal, w *eventWrite) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		w.finish(fmt.Errorf("history: event %d of session %s not stored: %w", w.enc.ev.Pos, w.sid, store.ErrClosed))
		return
	}
	if r.stop == nil {
		r.stop = make(chan struct{})
	}
	r.items = append(r.items, &retryItem{w: w, due: j.clock().Now().Add(j.resendPolicy().Delay)})
	if !r.running {
		r.running = true
		go r.run(j)
	}
}

// halt ends the retries: the pending ones fail with their last error.
func (r *resender) halt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.stopped = true
		if r.stop == nil {
			r.stop = make(chan struct{})
		}
		close(r.stop)
	}
}

func (r *resender) run(j *Journal) {
	for {
		r.mu.Lock()
		if len(r.items) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		next := r.items[0].due
		for _, it := range r.items[1:] {
			if it.due.Before(next) {
				next = it.due
			}
		}
		stop := r.stop
		r.mu.Unlock()
		if !sleep(j, next, stop) {
			r.mu.Lock()
			items := r.items
			r.items, r.running = nil, false
			r.mu.Unlock()
			for _, it := range items {
				it.w.finish(fmt.Errorf("history: event %d of session %s not stored (the journal closed during its retries): %w",
					it.w.enc.ev.Pos, it.w.sid, store.ErrClosed))
			}
			return
		}
		now := j.clock().Now()
		r.mu.Lock()
		var due []*retryItem
		kept := r.items[:0]
		for _, it := range r.items {
			if it.due.After(now) {
				kept = append(kept, it)
			} else {
				due = append(due, it)
			}
		}
		clear(r.items[len(kept):])
		r.items = kept
		r.mu.Unlock()
		// Queue every due retry before waiting for any, so that they share
		// the writer's next batch.
		tickets := make([]store.Ticket, len(due))
		for i, it := range due {
			it.attempt++
			tickets[i] = j.opts.Store.AppendEvent(context.Background(), it.w.row())
		}
		pol := j.resendPolicy()
		var again []*retryItem
		for i, it := range due {
			err := tickets[i].Wait(context.Background())
			switch {
			case err == nil:
				j.opts.Log.Info("history: event stored on a retry", "session", it.w.sid, "pos", it.w.enc.ev.Pos, "attempt", it.attempt)
				it.w.finish(nil)
			case !retryable(err) || it.attempt >= pol.Attempts:
				it.w.finish(fmt.Errorf("history: event %d of session %s not stored after %d retries: %w",
					it.w.enc.ev.Pos, it.w.sid, it.attempt, err))
			default:
				it.due = j.clock().Now().Add(pol.Delay)
				again = append(again, it)
			}
		}
		if len(again) > 0 {
			r.mu.Lock()
			r.items = append(r.items, again...)
			r.mu.Unlock()
		}
	}
}

// sleep waits on the journal's clock until t; false if stop closed first.
func sleep(j *Journal, t time.Time, stop <-chan struct{}) bool {
	d := t.Sub(j.clock().Now())
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	ch := make(chan struct{})
	tm := j.clock().AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return true
	case <-stop:
		tm.Stop()
		return false
	}
}

// applyRetrying runs a record write, trying it again as the policy says
// while it fails for a reason that may pass. A creation tried again finds
// the record it made on the try that seemed to fail.
func (j *Journal) applyRetrying(o op) error {
	err := j.apply(o)
	for attempt := 1; err != nil && retryable(err); attempt++ {
		pol := j.resendPolicy()
		if attempt > pol.Attempts {
			break
		}
		j.rs.mu.Lock()
		if j.rs.stop == nil {
			j.rs.stop = make(chan struct{})
		}
		stop := j.rs.stop
		j.rs.mu.Unlock()
		if !sleep(j, j.clock().Now().Add(pol.Delay), stop) {
			break
		}
		err = j.apply(o)
		if err != nil && o.created != nil && errors.Is(err, store.ErrExists) {
			err = nil // the earlier try did create it
		}
		if err == nil {
			j.opts.Log.Info("history: record stored on a retry", "session", o.sessionID(), "attempt", attempt)
		}
	}
	return err
}
