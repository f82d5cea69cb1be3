package store

import "sync"

// Completion callbacks. A goroutine that only needs to learn that a write
// is durable (the chat engine's commit watermark) would otherwise wait on
// the ticket's channel: one parked goroutine per session per batch, each
// woken by the commit and scheduled on its own. With AfterDone the batch's
// completion runs the callbacks instead, one after the other on one
// goroutine per GroupCommit (its completer), never on the writer goroutine:
// a callback may take locks whose holders wait for the writer (an Enqueue
// on a full queue), so the writer only hands them over and goes on.

// AfterDone arranges for f to run once the batch has committed or failed,
// on the GroupCommit's completer goroutine, after Done is closed (Wait then
// returns at once). It reports false, without calling f, if the batch is
// done already. f must not block long: the callbacks of one GroupCommit run
// one at a time, in the order their batches completed.
func (c *Commit) AfterDone(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.after = append(c.after, f)
	return true
}

// AfterDone is Commit.AfterDone of the write's batch (false for the zero
// Ticket).
func (t Ticket) AfterDone(f func()) bool {
	if t.c == nil {
		return false
	}
	return t.c.AfterDone(f)
}

// endCallbacks marks c done for AfterDone and hands the callbacks
// registered until then to its completer; called by finish once done is
// closed.
func (c *Commit) endCallbacks() {
	c.mu.Lock()
	c.ended = true
	fs := c.after
	c.after = nil
	c.mu.Unlock()
	if len(fs) == 0 {
		return
	}
	if c.completer == nil { // not a GroupCommit's batch: cannot happen, AfterDone found it ended
		go runAll(fs)
		return
	}
	c.completer.add(fs)
}

func runAll(fs []func()) {
	for _, f := range fs {
		f()
	}
}

// completer runs completed batches' callbacks on a goroutine of its own,
// started when callbacks arrive and ending when none are left.
type completer struct {
	mu      sync.Mutex // guards the following
	queue   []func()
	spare   []func() // the last run's slice, reused
	running bool
	idle    chan struct{} // closed when running ends; nil when nobody waits
}

// add queues callbacks; it never blocks on them.
func (r *completer) add(fs []func()) {
	r.mu.Lock()
	r.queue = append(r.queue, fs...)
	start := !r.running
	r.running = true
	r.mu.Unlock()
	if start {
		go r.run()
	}
}

func (r *completer) run() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.running = false
			if r.idle != nil {
				close(r.idle)
				r.idle = nil
			}
			r.mu.Unlock()
			return
		}
		fs := r.queue
		r.queue = r.spare[:0]
		r.mu.Unlock()
		for i, f := range fs {
			f()
			fs[i] = nil
		}
		r.mu.Lock()
		r.spare = fs[:0]
		r.mu.Unlock()
	}
}

// drained returns a channel closed once no callback is queued or running.
func (r *completer) drained() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		c := make(chan struct{})
		close(c)
		return c
	}
	if r.idle == nil {
		r.idle = make(chan struct{})
	}
	return r.idle
}
