package limiter

import (
	"sync"
	"time"
)

// Gate bounds how often a repeated event is reported, such as the log line
// of a refusal that a flood can repeat thousands of times a second: at most
// Burst events pass per Every, and the ones held back are counted so that
// the next one that passes can say how many were not reported. The zero
// Gate lets 10 events a second through. A Gate is safe for concurrent use;
// the caller passes the time (its injected clock's Now).
type Gate struct {
	Every time.Duration // default 1 s
	Burst int           // default 10

	mu         sync.Mutex // guards the following
	start      time.Time  // of the current period
	passed     int        // in the current period
	suppressed int64      // since the last event that passed
}

// Allow reports whether an event at now is to be reported, and if so how
// many were held back since the last one that was.
func (g *Gate) Allow(now time.Time) (ok bool, suppressed int64) {
	every, burst := g.Every, g.Burst
	if every <= 0 {
		every = time.Second
	}
	if burst <= 0 {
		burst = 10
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.start) >= every || now.Before(g.start) {
		g.start, g.passed = now, 0
	}
	if g.passed >= burst {
		g.suppressed++
		return false, 0
	}
	g.passed++
	n := g.suppressed
	g.suppressed = 0
	return true, n
}
