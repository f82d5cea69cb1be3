package timers

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/clock"
)

// Owner is what an Entry belongs to.
type Owner interface {
	// Expire is called once the entry's deadline has passed, with the
	// current time. The entry is no longer scheduled when it runs.
	Expire(now time.Time)
}

// Entry is one owner's pending deadline. Embed it in the owner and give it
// to Init once, before it is first scheduled; its zero value is not
// scheduled. Its fields are guarded by the scheduler's mutex.
type Entry struct {
	at    int64 // deadline in Unix nanoseconds
	pos   int32 // position in the heap plus one; 0 when not scheduled
	owner Owner
}

// Init binds e to its owner.
func (e *Entry) Init(owner Owner) { e.owner = owner }

// Scheduler is a node-wide min-heap of deadlines driven by one clock timer.
type Scheduler struct {
	clock clock.Clock
	fired atomic.Uint64

	mu      sync.Mutex // guards the following and every scheduled Entry
	heap    []*Entry
	timer   clock.Timer // nil until first needed
	armed   int64       // deadline the timer is set for; 0 when not armed
	stopped bool
}

// New returns a Scheduler on clk.
func New(clk clock.Clock) *Scheduler {
	return &Scheduler{clock: clk}
}

// Schedule sets e's deadline to at, replacing any earlier one.
func (s *Scheduler) Schedule(e *Entry, at time.Time) {
	n := at.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if e.pos > 0 {
		old := e.at
		e.at = n
		if n < old {
			s.up(int(e.pos - 1))
		} else {
			s.down(int(e.pos - 1))
		}
	} else {
		e.at = n
		e.pos = int32(len(s.heap)) + 1
		s.heap = append(s.heap, e)
		s.up(int(e.pos - 1))
	}
	s.armLocked()
}

// Cancel removes e's pending deadline, if any.
func (s *Scheduler) Cancel(e *Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.pos == 0 {
		return
	}
	s.removeLocked(int(e.pos - 1))
}

// Len returns how many deadlines are pending.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.heap)
}

// Fired returns how many entries have expired since the scheduler started.
func (s *Scheduler) Fired() uint64 { return s.fired.Load() }

// Stop drops every pending deadline and stops the clock timer; later
// Schedule calls do nothing.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for _, e := range s.heap {
		e.pos = 0
	}
	s.heap = nil
	if s.timer != nil {
		s.timer.Stop()
	}
	s.armed = 0
}

// armLocked makes the clock timer fire at the earliest deadline. A timer
// armed for an earlier time is left alone: it fires, finds nothing due and
// re-arms.
func (s *Scheduler) armLocked() {
	if len(s.heap) == 0 {
		return
	}
	head := s.heap[0].at
	if s.armed != 0 && s.armed <= head {
		return
	}
	d := time.Duration(head - s.clock.Now().UnixNano())
	if d < 0 {
		d = 0
	}
	s.armed = head
	if s.timer == nil {
		s.timer = s.clock.AfterFunc(d, s.run)
		return
	}
	s.timer.Reset(d)
}

// run is the clock timer's callback: it takes every due entry off the
// heap, re-arms the timer, and calls the owners outside the lock.
func (s *Scheduler) run() {
	now := s.clock.Now()
	n := now.UnixNano()
	var due []*Entry
	s.mu.Lock()
	s.armed = 0
	for len(s.heap) > 0 && s.heap[0].at <= n {
		e := s.heap[0]
		s.removeLocked(0)
		due = append(due, e)
	}
	if !s.stopped {
		s.armLocked()
	}
	s.mu.Unlock()
	s.fired.Add(uint64(len(due)))
	for _, e := range due {
		e.owner.Expire(now)
	}
}

func (s *Scheduler) removeLocked(i int) {
	last := len(s.heap) - 1
	e := s.heap[i]
	if i != last {
		s.swap(i, last)
	}
	s.heap[last] = nil
	s.heap = s.heap[:last]
	e.pos = 0
	if i != last {
		s.down(i)
		s.up(i)
	}
}

func (s *Scheduler) swap(i, j int) {
	h := s.heap
	h[i], h[j] = h[j], h[i]
	h[i].pos = int32(i) + 1
	h[j].pos = int32(j) + 1
}

func (s *Scheduler) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.heap[p].at <= s.heap[i].at {
			return
		}
		s.swap(i, p)
		i = p
	}
}

func (s *Scheduler) down(i int) {
	n := len(s.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && s.heap[r].at < s.heap[l].at {
			m = r
		}
		if s.heap[i].at <= s.heap[m].at {
			return
		}
		s.swap(i, m)
		i = m
	}
}
