package agent

import (
	"runtime"
	"sync"
)

// runners is a handler's small pool of long-lived goroutines that run the
// watchers of all its sockets: a session's change hands its parked
// watchers to the pool (watcher.wake) instead of starting a goroutine for
// each. On a busy server every delivered event woke a watcher, and the new
// goroutine's small stack grew (copied) on the way through the frame
// encoder each time: about 7% of the server's CPU in newproc, newstack and
// goexit. A runner's stack grows once and stays.
//
// A parked watcher still has no goroutine (dense servers hold tens of
// thousands): the queue holds only the watchers woken and not yet run,
// each at most once (a watcher parks once per change, and only a change
// after that wakes it).
//
// A runner never waits for long: what a watcher waits for (a backlogged
// socket queue to drain, backpressure.go) is handed to a goroutine of its
// own (watcher.runOnRunner).
//
// Runners are started as work arrives, up to max, and end once the handler
// has no socket left and the queue is empty; a handler without sockets
// keeps none.
//
// Concurrency: push may be called with a session's lock held (it is the
// session's change callback): it only takes mu, which is never held while
// calling anything else, and may start a goroutine.
type runners struct {
	max int // runner goroutines at most

	mu      sync.Mutex // guards the following
	cond    sync.Cond  // signalled (with L = &mu) for an idle runner to take work, broadcast when users drops to 0
	queue   []*watcher // woken watchers, run in order from head
	head    int        // the next to run
	running int        // runner goroutines alive
	idle    int        // of them, waiting on cond and not yet signalled
	users   int        // sockets being served: runners end when none is left
}

// newRunners returns a pool of at most max runners (at least 1).
func newRunners(n int) *runners {
	r := &runners{max: max(n, 1)}
	r.cond.L = &r.mu
	return r
}

// defaultRunners is the pool size: twice the CPUs Go schedules on, so that
// a runner held up for a moment (a kill's leaveAll, a lock) does not stall
// the others' work, while the work itself (read, encode, queue) is spread
// over every CPU.
func defaultRunners() int { return 2 * runtime.GOMAXPROCS(0) }

// acquire counts a socket being served; release ends its count once its
// watchers no longer run (after teardown's wait).
func (r *runners) acquire() {
	r.mu.Lock()
	r.users++
	r.mu.Unlock()
}

func (r *runners) release() {
	r.mu.Lock()
	r.users--
	if r.users == 0 {
		r.idle = 0 // every waiter wakes and, finding nothing, ends
		r.cond.Broadcast()
	}
	r.mu.Unlock()
}

// push queues a woken watcher to be resumed by a runner. It never blocks.
func (r *runners) push(w *watcher) {
	r.mu.Lock()
	r.queue = append(r.queue, w)
	switch {
	case r.idle > 0:
		r.idle--
		r.cond.Signal()
	case r.running < r.max:
		r.running++
		go r.run()
	}
	r.mu.Unlock()
}

// run is a runner: it resumes queued watchers in order, waits for more,
// and ends when the queue is empty and no socket is left.
func (r *runners) run() {
	r.mu.Lock()
	for {
		for r.head == len(r.queue) {
			if r.users == 0 {
				r.running--
				r.mu.Unlock()
				return
			}
			r.idle++
			r.cond.Wait()
		}
		w := r.pop()
		r.mu.Unlock()
		w.resume()
		r.mu.Lock()
	}
}

// pop takes the next watcher off the queue (not empty), keeping the
// queue's array small: it is reused from the start once drained, and
// compacted when most of it is taken.
func (r *runners) pop() *watcher {
	w := r.queue[r.head]
	r.queue[r.head] = nil
	r.head++
	switch {
	case r.head == len(r.queue):
		r.queue, r.head = r.queue[:0], 0
	case r.head >= 1024 && r.head*2 >= len(r.queue):
		n := copy(r.queue, r.queue[r.head:])
		clear(r.queue[n:])
		r.queue, r.head = r.queue[:n], 0
	}
	return w
}

// counts returns the runner goroutines alive and the watchers queued (for
// tests).
func (r *runners) counts() (running, queued int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running, len(r.queue) - r.head
}
