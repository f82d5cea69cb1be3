package runq

import (
	"runtime"
	"sync"
)

// Pool runs the items pushed to it with its function, on at most max
// runner goroutines. Runners are started as work arrives and end once the
// pool has no user left (Acquire/Release) and the queue is empty; a pool
// without users keeps none.
type Pool[T any] struct {
	max int     // runner goroutines at most
	run func(T) // the work of one queued item

	mu      sync.Mutex // guards the following
	cond    sync.Cond  // signalled (with L = &mu) for an idle runner to take work, broadcast when users drops to 0
	queue   []T        // woken items, run in order from head
	head    int        // the next to run
	running int        // runner goroutines alive
	idle    int        // of them, waiting on cond and not yet signalled
	users   int        // callers being served: runners end when none is left
}

// New returns a pool of at most n runners (at least 1) running run.
func New[T any](n int, run func(T)) *Pool[T] {
	p := &Pool[T]{max: max(n, 1), run: run}
	p.cond.L = &p.mu
	return p
}

// DefaultRunners is a pool size: twice the CPUs Go schedules on, so that a
// runner held up for a moment (a lock) does not stall the others' work,
// while the work itself is spread over every CPU.
func DefaultRunners() int { return 2 * runtime.GOMAXPROCS(0) }

// Acquire counts a user (a socket being served); Release ends its count
// once none of its items runs any more. Runners end when the count is 0
// and the queue is empty.
func (p *Pool[T]) Acquire() {
	p.mu.Lock()
	p.users++
	p.mu.Unlock()
}

// Release ends a count taken by Acquire.
func (p *Pool[T]) Release() {
	p.mu.Lock()
	p.users--
	if p.users == 0 {
		p.idle = 0 // every waiter wakes and, finding nothing, ends
		p.cond.Broadcast()
	}
	p.mu.Unlock()
}

// Push queues an item to be run by a runner. It never blocks.
func (p *Pool[T]) Push(it T) {
	p.mu.Lock()
	p.queue = append(p.queue, it)
	switch {
	case p.idle > 0:
		p.idle--
		p.cond.Signal()
	case p.running < p.max:
		p.running++
		go p.runner()
	}
	p.mu.Unlock()
}

// runner runs queued items in order, waits for more, and ends when the
// queue is empty and no user is left.
func (p *Pool[T]) runner() {
	p.mu.Lock()
	for {
		for p.head == len(p.queue) {
			if p.users == 0 {
				p.running--
				p.mu.Unlock()
				return
			}
			p.idle++
			p.cond.Wait()
		}
		it := p.pop()
		p.mu.Unlock()
		p.run(it)
		p.mu.Lock()
	}
}

// pop takes the next item off the queue (not empty), keeping the queue's
// array small: it is reused from the start once drained, and compacted
// when most of it is taken.
func (p *Pool[T]) pop() T {
	var zero T
	it := p.queue[p.head]
	p.queue[p.head] = zero
	p.head++
	switch {
	case p.head == len(p.queue):
		p.queue, p.head = p.queue[:0], 0
	case p.head >= 1024 && p.head*2 >= len(p.queue):
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	return it
}

// Counts returns the runner goroutines alive and the items queued.
func (p *Pool[T]) Counts() (running, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running, len(p.queue) - p.head
}
