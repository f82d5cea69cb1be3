package chat

import (
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/timers"
)

// This file holds the session's one deadline: the earliest of its duties
// (inactivity control, async idle control, and each customer's protocol
// inactivity), kept on the engine's node-wide timers.Scheduler. idle.go
// holds the inactivity duties, flex.go the customers' and language.go the
// session language.
//
// Scheduling is lazy: activity only moves deadlines later, so it records
// the time and leaves the scheduler alone unless its new deadline is
// earlier than the one pending. When the pending deadline falls due,
// expire does whatever is due, computes the next deadline from the
// configuration then in force and schedules it.

// Pinger sends the push notification that asks a push-subscribed customer's
// gateway whether the customer is still there (the flex-push-timeout ping).
// It is called without any engine lock held and must not block.
type Pinger interface {
	Ping(sessionID, userID string)
}

// TimerOptions switch the engine's timers on (SetTimers).
type TimerOptions struct {
	// Config returns the live configuration: [inactivity-control], the
	// async-idle-* and flex-* options of [settings], and [language:<name>].
	// It is read at every activity and expiry, so a reload takes effect on
	// running sessions at their next activity or expiry. Nil means the
	// built-in defaults.
	Config func() *config.Config
	// Pinger sends flex-push-timeout pings; nil drops them.
	Pinger Pinger
	// Warn reports a problem that changes nothing for the caller, such as an
	// unknown language; nil drops it.
	Warn func(msg string, args ...any)
}

// timerHooks is what SetTimers installs.
type timerHooks struct {
	TimerOptions
	sched *timers.Scheduler
}

// SetTimers switches on inactivity control, async idle control, the
// customers' protocol inactivity (flex-disconnect-timeout and
// flex-push-timeout) and language resolution, all on one node-wide
// scheduler on the engine's clock. Call it once, before any session is
// created; without it no session ever times out.
func (e *Engine) SetTimers(opts TimerOptions) {
	if opts.Config == nil {
		def := config.Default()
		opts.Config = func() *config.Config { return def }
	}
	e.timers.Store(&timerHooks{TimerOptions: opts, sched: timers.New(e.clock)})
}

// StopTimers drops every pending deadline; nothing times out afterwards.
func (e *Engine) StopTimers() {
	if h := e.timers.Load(); h != nil {
		h.sched.Stop()
	}
}

// PendingDeadlines returns how many sessions have a deadline pending.
func (e *Engine) PendingDeadlines() int {
	if h := e.timers.Load(); h != nil {
		return h.sched.Len()
	}
	return 0
}

// TimerConfig returns the live configuration the timers read, or nil when
// timers are off.
func (e *Engine) TimerConfig() *config.Config {
	if h := e.timers.Load(); h != nil {
		return h.Config()
	}
	return nil
}

// TimerExpiries returns how many session deadlines have fallen due.
func (e *Engine) TimerExpiries() uint64 {
	if h := e.timers.Load(); h != nil {
		return h.sched.Fired()
	}
	return 0
}

func (h *timerHooks) warn(msg string, args ...any) {
	if h.Warn != nil {
		h.Warn(msg, args...)
	}
}

// timerState is a session's timing, guarded by the session's mutex (the
// entry's own fields by the scheduler's).
type timerState struct {
	entry     timers.Entry
	bound     bool      // entry.Init has run
	purgeAt   time.Time // a closed session's purge from memory (closed-session-grace)
	at        time.Time // the deadline pending on the scheduler; zero when none
	idleSince time.Time // last activity, or the last alert, of inactivity control
	idleStage uint8     // what idleSince leads to: stageAlert, stageAlert2, stageClose
	// asyncSince and asyncStage are the same for async idle control
	// (stageAlert or stageClose only).
	asyncSince time.Time
	asyncStage uint8
	override   *IdleOverride // the workflow's values (IdleControlConfigure)
	customers  []customerTimer
}

const (
	stageAlert uint8 = iota
	stageAlert2
	stageClose
)

// sessionOwner is the Session as the scheduler sees it, so that Expire is
// not part of the Session's API.
type sessionOwner Session

func (o *sessionOwner) Expire(now time.Time) { (*Session)(o).expire(now) }

// armLocked makes sure a deadline no later than at is pending.
func (s *Session) armLocked(h *timerHooks, at time.Time) {
	if at.IsZero() || (!s.tm.at.IsZero() && !at.Before(s.tm.at)) {
		return
	}
	if !s.tm.bound {
		s.tm.entry.Init((*sessionOwner)(s))
		s.tm.bound = true
	}
	s.tm.at = at
	h.sched.Schedule(&s.tm.entry, at)
}

// stopTimersLocked cancels the session's deadline (it closed).
func (s *Session) stopTimersLocked() {
	if h := s.engine.timers.Load(); h != nil && !s.tm.at.IsZero() {
		h.sched.Cancel(&s.tm.entry)
		s.tm.at = time.Time{}
	}
}

// observeLocked is called for every event appended: it starts the duties a
// join brings, ends those a departure ends, and records activity.
func (s *Session) observeLocked(ev *Event, now time.Time) {
	h := s.engine.timers.Load()
	if h == nil || s.state != Alive {
		return
	}
	cfg := h.Config()
	switch ev.Kind {
	case NewParty:
		s.customerJoinedLocked(h, cfg, ev, now)
	case PartyLeft:
		s.customerLeftLocked(ev.From.UserID)
	case Notice:
		if ev.Notice == SysCommand && ev.Text == ConfigureSessionCommand {
			s.configureFromNoticeLocked(h, cfg, ev)
		}
	}
	s.activityLocked(h, cfg, ev, now)
}

// expire runs when the session's deadline falls due.
func (s *Session) expire(now time.Time) {
	h := s.engine.timers.Load()
	if h == nil {
		return
	}
	s.mu.Lock()
	s.tm.at = time.Time{}
	if s.state != Alive {
		purge := !s.tm.purgeAt.IsZero() && !now.Before(s.tm.purgeAt)
		s.mu.Unlock()
		if purge {
			s.engine.purge(s) // a shard lock: never while holding the session lock
		}
		return
	}
	cfg := h.Config()
	pings := s.expireCustomersLocked(cfg, now)
	if s.state == Alive {
		s.expireIdleLocked(cfg, now)
	}
	if s.state == Alive {
		s.armLocked(h, s.deadlineLocked(cfg, now))
	}
	s.mu.Unlock()
	if h.Pinger != nil {
		for _, userID := range pings {
			h.Pinger.Ping(s.id, userID)
		}
	}
}

// deadlineLocked is the earliest moment any duty of the session falls due
// under cfg; zero when none is running.
func (s *Session) deadlineLocked(cfg *config.Config, now time.Time) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earliest(s.idleDeadlineLocked(cfg))
	earliest(s.asyncDeadlineLocked(cfg))
	for i := range s.tm.customers {
		earliest(s.customerDeadlineLocked(cfg, &s.tm.customers[i], now))
	}
	return next
}

// rearmLocked replaces the pending deadline with the one computed now (an
// earlier or a later one), after the session's timing was reset.
func (s *Session) rearmLocked(h *timerHooks, now time.Time) {
	next := s.deadlineLocked(h.Config(), now)
	if !s.tm.at.IsZero() {
		h.sched.Cancel(&s.tm.entry)
		s.tm.at = time.Time{}
	}
	s.armLocked(h, next)
}

// schedulePurgeLocked drops a closed session from memory after grace: on
// the scheduler when timers are on (the session's one deadline is then its
// purge), else on its own clock timer.
func (s *Session) schedulePurgeLocked(now time.Time, grace time.Duration) {
	h := s.engine.timers.Load()
	if h == nil {
		s.engine.clock.AfterFunc(grace, func() { s.engine.purge(s) })
		return
	}
	s.tm.purgeAt = now.Add(grace)
	s.armLocked(h, s.tm.purgeAt)
}

// timersRestoredLocked starts the timers of a session rebuilt from its
// stored transcript (Engine.Restore): its customers are timed again, and
// inactivity is counted from the restoration.
func (s *Session) timersRestoredLocked(now time.Time) {
	h := s.engine.timers.Load()
	if h == nil || s.state != Alive {
		return
	}
	for _, p := range s.parties {
		if !p.Left && p.Type == Client && p.Protocol == Flex && s.customerLocked(p.UserID) == nil {
			s.tm.customers = append(s.tm.customers, customerTimer{userID: p.UserID})
		}
	}
	s.tm.idleSince, s.tm.idleStage = now, stageAlert
	s.tm.asyncSince, s.tm.asyncStage = now, stageAlert
	s.armLocked(h, s.deadlineLocked(h.Config(), now))
}
