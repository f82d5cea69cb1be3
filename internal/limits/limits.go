package limits

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/kpi"
)

// Settings are the live limit options.
type Settings struct {
	Enabled        bool          // limits-control-enabled
	Sessions       int           // limit-for-sessions; 0 = off
	FlexUsers      int           // limit-for-flex-users; 0 = off
	ReplyDelay     time.Duration // limit-for-reply-delay; 0 = off
	Interval       time.Duration // limit-average-interval
	RestorePercent int           // limits-restore-threshold
	Report         bool          // limits-reached-report-scs
}

// Options configure a Controller.
type Options struct {
	Clock clock.Clock
	// Settings returns the live settings (required).
	Settings func() Settings
	// Sessions and FlexUsers return the current figures (required).
	Sessions  func() int
	FlexUsers func() int
	// Counters, when set, count refusals and limit changes.
	Counters *kpi.Set
	Log      *slog.Logger
}

// ErrLimited is returned by Admit while the node is limited.
var ErrLimited = errors.New("load limit reached")

// The limited metrics, in the order they are reported.
const (
	metricSessions = iota
	metricFlexUsers
	metricReplyDelay
	metricCount
)

var metricOptions = [metricCount]string{"limit-for-sessions", "limit-for-flex-users", "limit-for-reply-delay"}

// windowSlots is the number of one-second slots the reply-delay window
// keeps: the largest limit-average-interval.
const windowSlots = 3600

// Controller decides whether the node accepts new work.
type Controller struct {
	opts Options
	log  *slog.Logger

	// slots sum the request delays of the last seconds; they are atomics,
	// so observing a request takes no lock.
	slots [windowSlots]slot

	mu      sync.Mutex // guards tripped
	tripped [metricCount]bool
}

// slot sums the request delays observed in one second. A slot found
// holding an older second is reset by whoever claims it first; an
// observation racing that reset may be lost, which an average can bear.
type slot struct {
	sec   atomic.Int64 // Unix second this slot holds; stale slots are ignored
	sum   atomic.Int64 // nanoseconds
	count atomic.Int64
}

// New returns a Controller.
func New(opts Options) *Controller {
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	c := &Controller{opts: opts, log: opts.Log}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// ObserveDelay records the processing time of one request for the
// reply-delay average.
func (c *Controller) ObserveDelay(d time.Duration) {
	sec := c.opts.Clock.Now().Unix()
	s := &c.slots[sec%windowSlots]
	if old := s.sec.Load(); old != sec && s.sec.CompareAndSwap(old, sec) {
		s.sum.Store(0)
		s.count.Store(0)
	}
	s.sum.Add(int64(d))
	s.count.Add(1)
}

// average is the mean request delay over the last interval.
func (c *Controller) average(now time.Time, interval time.Duration) time.Duration {
	n := int64(interval / time.Second)
	if n < 1 {
		n = 1
	}
	if n > windowSlots {
		n = windowSlots
	}
	sec := now.Unix()
	var sum time.Duration
	var count int64
	for i := int64(0); i < n; i++ {
		s := &c.slots[(sec-i)%windowSlots]
		if s.sec.Load() == sec-i {
			sum += time.Duration(s.sum.Load())
			count += s.count.Load()
		}
	}
	if count == 0 {
		return 0
	}
	return sum / time.Duration(count)
}

// Check re-evaluates the limits and reports whether the node is limited.
func (c *Controller) Check() bool {
	st := c.opts.Settings()
	now := c.opts.Clock.Now()
	var value, limit [metricCount]int64
	if st.Enabled {
		value[metricSessions], limit[metricSessions] = int64(c.opts.Sessions()), int64(st.Sessions)
		value[metricFlexUsers], limit[metricFlexUsers] = int64(c.opts.FlexUsers()), int64(st.FlexUsers)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.Enabled && st.ReplyDelay > 0 {
		value[metricReplyDelay], limit[metricReplyDelay] = int64(c.average(now, st.Interval)), int64(st.ReplyDelay)
	}
	was := c.limitedLocked()
	for m := 0; m < metricCount; m++ {
		v, max := value[m], limit[m]
		switch {
		case max <= 0:
			c.tripped[m] = false
		case !c.tripped[m] && v >= max:
			c.tripped[m] = true
			c.log.Warn("load limit reached: new sessions and restorations are refused",
				"option", metricOptions[m], "limit", show(m, max), "value", show(m, v))
		case c.tripped[m] && v*100 <= max*int64(st.RestorePercent):
			c.tripped[m] = false
			c.log.Info("load back under limits-restore-threshold",
				"option", metricOptions[m], "limit", show(m, max), "value", show(m, v), "threshold_percent", st.RestorePercent)
		}
	}
	now2 := c.limitedLocked()
	if k := c.opts.Counters; k != nil && now2 != was {
		if now2 {
			k.LimitReached.Inc()
			k.Limited.Set(1)
		} else {
			k.Limited.Set(0)
		}
	}
	if was && !now2 {
		c.log.Info("load limits clear: accepting new sessions and restorations again")
	}
	return now2
}

func show(metric int, v int64) any {
	if metric == metricReplyDelay {
		return time.Duration(v).String()
	}
	return v
}

func (c *Controller) limitedLocked() bool {
	for _, t := range c.tripped {
		if t {
			return true
		}
	}
	return false
}

// Admit reports whether a new session (restore false) or a restoration
// (restore true) may start now; while the node is limited it returns an
// error wrapping ErrLimited and counts the refusal.
func (c *Controller) Admit(restore bool) error {
	if !c.Check() {
		return nil
	}
	kind := kpi.RefusedCreate
	what := "new session"
	if restore {
		kind, what = kpi.RefusedRestore, "restoration"
	}
	if k := c.opts.Counters; k != nil {
		k.LimitRefusals[kind].Inc()
	}
	return fmt.Errorf("%s refused: %w (%s)", what, ErrLimited, c.reason())
}

// reason names the options whose limits hold the node.
func (c *Controller) reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for m, t := range c.tripped {
		if t {
			if s != "" {
				s += ", "
			}
			s += metricOptions[m]
		}
	}
	return s
}

// Ready reports whether the node should be reported available: not
// limited, or limited with limits-reached-report-scs false.
func (c *Controller) Ready() bool {
	limited := c.Check()
	return !limited || !c.opts.Settings().Report
}
