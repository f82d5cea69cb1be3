// Package clock gives the server an injectable notion of time.
//
// Every timeout in Confab (inactivity, async idle, flex disconnect, lease
// expiry, the purge of closed sessions) reads time through a Clock so tests can
// drive it with a Fake and never sleep. Real is the wall clock.
//
// Both implementations are safe for concurrent use.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and schedules callbacks.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, unless the
	// returned Timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a callback scheduled with AfterFunc.
type Timer interface {
	// Stop prevents the callback from running; it reports whether it did so.
	Stop() bool
	// Reset reschedules the callback to run d from now; it reports whether the
	// timer was still pending.
	Reset(d time.Duration) bool
}

// Real returns the wall clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Fake is a manual clock for tests: time moves only when Advance or Set is
// called, and callbacks that fall due run synchronously inside that call, in
// deadline order.
type Fake struct {
	mu     sync.Mutex // guards the following
	now    time.Time
	timers []*fakeTimer
}

// NewFake returns a Fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake current time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the fake time reaches now+d.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, f: f, when: c.now.Add(d), active: true}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the fake time forward by d and runs every callback that falls
// due, in deadline order. Callbacks may schedule new timers; those that fall
// due within the same advance run too.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	c.Set(target)
}

// Set moves the fake time to t (never backwards) and runs due callbacks.
func (c *Fake) Set(t time.Time) {
	for {
		c.mu.Lock()
		due := c.nextDueLocked(t)
		if due == nil {
			if t.After(c.now) {
				c.now = t
			}
			c.mu.Unlock()
			return
		}
		if due.when.After(c.now) {
			c.now = due.when
		}
		due.active = false
		c.removeLocked(due)
		f := due.f
		c.mu.Unlock()
		f()
	}
}

// Pending reports how many timers are scheduled and not yet run or stopped.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func (c *Fake) nextDueLocked(t time.Time) *fakeTimer {
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].when.Before(c.timers[j].when) })
	if len(c.timers) == 0 || c.timers[0].when.After(t) {
		return nil
	}
	return c.timers[0]
}

func (c *Fake) removeLocked(t *fakeTimer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}

type fakeTimer struct {
	c *Fake
	f func()
	// The fields below are guarded by c.mu.
	when   time.Time
	active bool
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	t.c.removeLocked(t)
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	if was {
		t.c.removeLocked(t)
	}
	t.active = true
	t.when = t.c.now.Add(d)
	t.c.timers = append(t.c.timers, t)
	return was
}
