package store

import (
	"math"
	"time"
)

// The commit window. At a moderate rate the writer is mostly idle and each
// write arriving alone gets a commit (and an fsync, and at least one WAL
// page) of its own: at 2,000 writes/s that was 600–1,300 commits a second of
// 1–3 writes. With a window, a batch smaller than WindowBatch waits for
// company, at most until Window has passed since the previous commit
// started (or since its own first write arrived, if that is earlier), and
// only when company is expected: when the recent arrival rate predicts at
// least one more write before the window ends. It ends early once the
// queue holds as many writes as predicted (or WindowBatch), and at Close.
// Commits that take longer than the window (slow fsyncs, full speed) get no
// wait at all: their successors filled while they ran.
//
// A closed loop (every sender waiting for the batch in formation, as when
// the server runs at full speed with few sessions) sends nothing while the
// batch waits: a wait that gathered no write makes the following batches
// skip the window, 1, 2, 4 ... up to 64 of them, until one gathers again.
// A wait that lasted more than twice its deadline (the writer scheduled
// late on a machine short of CPU, where batches form on their own) backs
// off the same way. So the window costs latency only where it saves
// commits.

// window is the commit window's state; GroupCommit.mu guards it.
type window struct {
	size      time.Duration // Window; 0 when off
	batch     int           // WindowBatch
	now       func() time.Time
	afterFunc func(d time.Duration, f func()) (stop func() bool)

	arrived  uint64    // writes enqueued since the start
	lastTake time.Time // when the writer last took a batch
	lastArr  uint64    // arrived then
	rate     float64   // writes per second, smoothed over the recent batches

	skip, backoff int // batches to take without waiting; the next backoff

	waiting bool          // a batch waits for company
	target  int           // pending at which the wait ends
	gen     uint64        // numbers the waits, so a late timer ends none but its own
	done    chan struct{} // capacity 1: the end of the wait
}

func (w *window) init(cfg windowConfig) {
	if cfg.Window <= 0 {
		return
	}
	w.size, w.batch = cfg.Window, cfg.WindowBatch
	if w.batch <= 0 {
		w.batch = 64
	}
	w.now, w.afterFunc = cfg.Now, cfg.AfterFunc
	if w.now == nil {
		w.now = time.Now
	}
	if w.afterFunc == nil {
		w.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	w.done = make(chan struct{}, 1)
	w.lastTake = w.now()
}

// windowConfig is the part of GroupCommitConfig the window reads.
type windowConfig struct {
	Window      time.Duration
	WindowBatch int
	Now         func() time.Time
	AfterFunc   func(d time.Duration, f func()) (stop func() bool)
}

// endLocked ends the wait in progress.
func (w *window) endLocked() {
	w.waiting = false
	select {
	case w.done <- struct{}{}:
	default:
	}
}

// tookLocked updates the arrival rate as the writer takes a batch.
func (w *window) tookLocked() {
	now := w.now()
	dt := now.Sub(w.lastTake).Seconds()
	n := w.arrived - w.lastArr
	w.lastTake, w.lastArr = now, w.arrived
	if dt <= 0 {
		return
	}
	// Weighted by time: a long idle period forgets the past rate.
	const tau = 0.05 // seconds
	a := 1 - math.Exp(-dt/tau)
	w.rate += a * (float64(n)/dt - w.rate)
}

// lingerLocked makes batch s wait for company if the window says so, and
// reports whether it waited (g.mu was released meanwhile).
func (g *GroupCommit[T]) lingerLocked(s *segment[T]) bool {
	w := &g.win
	if g.closing || g.pending >= w.batch || len(s.items) >= g.maxBatch {
		return false
	}
	if w.skip > 0 {
		w.skip--
		return false
	}
	// The window runs from the start of the previous commit (or from the
	// batch's first write, if that is earlier): it spaces commits by at
	// most Window and never delays a write by more. A commit that took
	// longer than the window (a slow fsync, full speed) let its successor
	// fill meanwhile: no wait then.
	now := w.now()
	from := w.lastTake
	if s.first.Before(from) {
		from = s.first
	}
	left := from.Add(w.size).Sub(now)
	if left <= 0 {
		return false
	}
	// The rate seen at the last take, decayed by the quiet time since.
	expect := w.rate * left.Seconds()
	if idle := now.Sub(w.lastTake).Seconds(); idle > 0 {
		expect *= math.Exp(-idle / 0.05)
	}
	if expect < 1 {
		return false
	}
	before := g.pending
	w.waiting = true
	w.target = min(w.batch, before+int(math.Ceil(expect)))
	w.gen++
	gen := w.gen
	stop := w.afterFunc(left, func() {
		g.mu.Lock()
		if w.waiting && w.gen == gen {
			w.endLocked()
		}
		g.mu.Unlock()
	})
	g.mu.Unlock()
	<-w.done
	stop()
	g.mu.Lock()
	gathered := g.pending - before
	waited := max(w.now().Sub(now), 0)
	g.stats.Windows++
	g.stats.WindowWrites += uint64(max(gathered, 0))
	g.stats.WindowMicros += uint64(waited / time.Microsecond)
	// A wait that gathered nothing, or that lasted more than twice what it
	// asked for (a machine so busy that the writer runs late after its
	// timer: batches form on their own there, and each wait costs more
	// than it should), makes the next batches skip the window.
	if gathered <= 0 || waited > 2*left {
		w.backoff = min(max(1, 2*w.backoff), 64)
		w.skip = w.backoff
	} else {
		w.backoff = 0
	}
	return true
}
