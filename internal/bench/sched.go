package bench

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// pollScheduler drives short-polling customers without a goroutine or a
// ticker per customer: one dispatcher goroutine keeps every job in a heap
// ordered by due time and hands due jobs to a fixed pool of workers. A job
// returns whether it wants to run again (after the scheduler's interval).
type pollScheduler struct {
	interval time.Duration
	work     chan *pollJob
	wake     chan struct{}

	mu   sync.Mutex // guards jobs
	jobs jobHeap

	wg sync.WaitGroup
}

type pollJob struct {
	due time.Time
	run func(ctx context.Context) (again bool)
	idx int
}

type jobHeap []*pollJob

func (h jobHeap) Len() int           { return len(h) }
func (h jobHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h jobHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *jobHeap) Push(x any)        { j := x.(*pollJob); j.idx = len(*h); *h = append(*h, j) }
func (h *jobHeap) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

// newPollScheduler starts a scheduler with workers workers; it stops when
// ctx ends (jobs still queued are dropped).
func newPollScheduler(ctx context.Context, interval time.Duration, workers int) *pollScheduler {
	s := &pollScheduler{interval: interval, work: make(chan *pollJob), wake: make(chan struct{}, 1)}
	s.wg.Add(1 + workers)
	go s.dispatch(ctx)
	for i := 0; i < workers; i++ {
		go s.worker(ctx)
	}
	return s
}

// add schedules run to start after delay and then every interval for as
// long as it returns true.
func (s *pollScheduler) add(delay time.Duration, run func(ctx context.Context) bool) {
	s.push(&pollJob{due: time.Now().Add(delay), run: run})
}

func (s *pollScheduler) push(j *pollJob) {
	s.mu.Lock()
	heap.Push(&s.jobs, j)
	first := s.jobs[0] == j
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (s *pollScheduler) dispatch(ctx context.Context) {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var next *pollJob
		var wait time.Duration = time.Hour
		if len(s.jobs) > 0 {
			wait = time.Until(s.jobs[0].due)
			if wait <= 0 {
				next = heap.Pop(&s.jobs).(*pollJob)
			}
		}
		s.mu.Unlock()
		if next != nil {
			select {
			case s.work <- next:
				continue
			case <-ctx.Done():
				return
			}
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-s.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

func (s *pollScheduler) worker(ctx context.Context) {
	defer s.wg.Done()
	for {
		select {
		case j := <-s.work:
			if j.run(ctx) && ctx.Err() == nil {
				j.due = time.Now().Add(s.interval)
				s.push(j)
			}
		case <-ctx.Done():
			return
		}
	}
}

// wait waits for the dispatcher and workers to stop (after ctx ends).
func (s *pollScheduler) wait() { s.wg.Wait() }
