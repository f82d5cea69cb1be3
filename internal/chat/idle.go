package chat

import (
	"fmt"
	"strconv"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/lang"
)

// Keys of the user data the server puts on its IDLE_CONTROL_ALERT notices
// (the customer API shows them on IdleAlert events).
const (
	KeyNextIdleTimerType = "next-idle-timer-type" // ALERT or CLOSE
	KeyNextIdleTimerSecs = "next-idle-timer-secs" // seconds until then
	// KeyAsyncCheckAt is on the async idle alert only: when the workflow
	// should check the interaction (Unix seconds), i.e. when the session
	// will be closed unless there is activity. Routing copies it to the
	// interaction's GCTI_Chat_AsyncCheckAt.
	KeyAsyncCheckAt = "GCTI_Chat_AsyncCheckAt"
)

// IdleOverride holds the inactivity-control values a workflow set for one
// session (ESP IdleControlConfigure). Nil fields keep the configured value.
type IdleOverride struct {
	Enabled        *bool
	IncludeNotices *config.NoticeSet
	MessageAlert   *string
	MessageAlert2  *string
	MessageClose   *string
	TimeoutAlert   *time.Duration
	TimeoutAlert2  *time.Duration
	TimeoutClose   *time.Duration
}

// Valid ranges of the timeouts, as [inactivity-control] has them.
const maxIdleTimeout = 86400 * time.Second

// Check refuses out-of-range values, naming the parameter and its range.
func (o IdleOverride) Check() error {
	for _, t := range []struct {
		name string
		min  time.Duration
		v    *time.Duration
	}{{"timeout-alert", time.Second, o.TimeoutAlert}, {"timeout-alert2", 0, o.TimeoutAlert2}, {"timeout-close", time.Second, o.TimeoutClose}} {
		if t.v != nil && (*t.v < t.min || *t.v > maxIdleTimeout || *t.v%time.Second != 0) {
			return fmt.Errorf("%w: %s must be whole seconds from %d to 86400, not %v", ErrInvalid, t.name, t.min/time.Second, *t.v)
		}
	}
	if o.IncludeNotices != nil {
		switch *o.IncludeNotices {
		case config.NoticesNone, config.NoticesMajor, config.NoticesMajor2, config.NoticesTyping, config.NoticesAll:
		default:
			return fmt.Errorf("%w: include-notices must be none, major, major2, typing or all, not %q", ErrInvalid, *o.IncludeNotices)
		}
	}
	return nil
}

func (o *IdleOverride) merge(upd IdleOverride) {
	set := func(dst **string, v *string) {
		if v != nil {
			*dst = v
		}
	}
	setD := func(dst **time.Duration, v *time.Duration) {
		if v != nil {
			*dst = v
		}
	}
	if upd.Enabled != nil {
		o.Enabled = upd.Enabled
	}
	if upd.IncludeNotices != nil {
		o.IncludeNotices = upd.IncludeNotices
	}
	set(&o.MessageAlert, upd.MessageAlert)
	set(&o.MessageAlert2, upd.MessageAlert2)
	set(&o.MessageClose, upd.MessageClose)
	setD(&o.TimeoutAlert, upd.TimeoutAlert)
	setD(&o.TimeoutAlert2, upd.TimeoutAlert2)
	setD(&o.TimeoutClose, upd.TimeoutClose)
}

// ConfigureIdle changes the session's inactivity control (the workflow's
// IdleControlConfigure): reset first returns every value to the
// configuration, then the values set in upd replace the session's. Out of
// range values are refused and nothing changes. The running inactivity
// timers restart from now.
func (s *Session) ConfigureIdle(upd IdleOverride, reset bool) error {
	if err := upd.Check(); err != nil {
		return fmt.Errorf("configure idle control of session %s: %w", s.id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return fmt.Errorf("configure idle control of session %s: %w", s.id, ErrClosed)
	}
	var o IdleOverride
	if s.tm.override != nil && !reset {
		o = *s.tm.override
	}
	o.merge(upd)
	s.tm.override = &o
	s.saveSettingsLocked(s.engine.clock.Now()) // kept across a restoration (settings.go)
	if h := s.engine.timers.Load(); h != nil {
		now := s.engine.clock.Now()
		s.tm.idleSince, s.tm.idleStage = now, stageAlert
		s.rearmLocked(h, now)
	}
	return nil
}

// IdleControl returns the session's own inactivity-control values.
func (s *Session) IdleControl() IdleOverride {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tm.override == nil {
		return IdleOverride{}
	}
	return *s.tm.override
}

// ResetAsyncIdle restarts the async idle timers from now (the workflow's
// ConfigureSession async-idle-reset=1).
func (s *Session) ResetAsyncIdle() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return fmt.Errorf("reset async idle of session %s: %w", s.id, ErrClosed)
	}
	if h := s.engine.timers.Load(); h != nil && s.async {
		now := s.engine.clock.Now()
		s.tm.asyncSince, s.tm.asyncStage = now, stageAlert
		s.rearmLocked(h, now)
	}
	return nil
}

// idleConfigLocked is [inactivity-control] with the workflow's values and
// the session language's texts applied.
func (s *Session) idleConfigLocked(cfg *config.Config) config.Inactivity {
	c := cfg.Inactivity
	if s.language != "" {
		t := lang.TextsFor(cfg, s.language)
		c.MessageAlert, c.MessageAlert2, c.MessageClose = t.Alert, t.Alert2, t.Close
	}
	o := s.tm.override
	if o == nil {
		return c
	}
	if o.Enabled != nil {
		c.Enabled = *o.Enabled
	}
	if o.IncludeNotices != nil {
		c.IncludeNotices = *o.IncludeNotices
	}
	pick := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	pickD := func(dst *time.Duration, v *time.Duration) {
		if v != nil {
			*dst = *v
		}
	}
	pick(&c.MessageAlert, o.MessageAlert)
	pick(&c.MessageAlert2, o.MessageAlert2)
	pick(&c.MessageClose, o.MessageClose)
	pickD(&c.TimeoutAlert, o.TimeoutAlert)
	pickD(&c.TimeoutAlert2, o.TimeoutAlert2)
	pickD(&c.TimeoutClose, o.TimeoutClose)
	return c
}

// idleActiveLocked reports whether inactivity control runs: a customer and
// an agent that is not a bot are both present.
func (s *Session) idleActiveLocked() bool {
	client, agent := false, false
	for _, p := range s.parties {
		if p.Left {
			continue
		}
		client = client || p.Type == Client
		agent = agent || p.countsAsAgent()
	}
	return client && agent
}

// Qualifies reports whether ev counts as session activity for inactivity
// control when notices selects the notices that count: it must be seen by
// everyone (visibility ALL, not direct) and not come from a bot or the
// server itself. Joins, departures and messages always count.
func (ev *Event) Qualifies(notices config.NoticeSet) bool {
	if ev.Visibility != VisAll || ev.ReceiverID != "" || ev.From.Bot || ev.From.Type == System {
		return false
	}
	switch ev.Kind {
	case NewParty, PartyLeft, Message:
		return true
	}
	major := notices != config.NoticesNone
	switch ev.Notice {
	case PushURL:
		return major
	case SysCommand:
		return major && (ev.Text == FileUploadedCommand || ev.Text == FileDeletedCommand)
	case CustomNotice:
		// The widget's explicit reset (purpose cancel-idle-timer) always counts.
		return notices == config.NoticesMajor2 || notices == config.NoticesAll || ev.Attrs.String("purpose") == CancelIdleTimer
	case TypingStarted:
		return notices == config.NoticesTyping || notices == config.NoticesAll
	case TypingStopped, NickChanged:
		return notices == config.NoticesAll
	}
	return false
}

// CancelIdleTimer is the purpose (event attribute) of the custom notice the
// widget sends to reset the idle timers; it counts whatever include-notices
// says.
const CancelIdleTimer = "cancel-idle-timer"

// System command texts that count as major notices.
const (
	FileUploadedCommand = "file-uploaded"
	FileDeletedCommand  = "file-deleted"
)

// activityLocked restarts the idle timers an event qualifies for.
func (s *Session) activityLocked(h *timerHooks, cfg *config.Config, ev *Event, now time.Time) {
	ic := s.idleConfigLocked(cfg)
	if ev.Qualifies(ic.IncludeNotices) {
		s.tm.idleSince, s.tm.idleStage = now, stageAlert
		if ic.Enabled && s.idleActiveLocked() {
			s.armLocked(h, now.Add(ic.TimeoutAlert))
		}
	}
	if s.async && ev.Qualifies(cfg.Settings.AsyncIdleNotices) {
		s.tm.asyncSince, s.tm.asyncStage = now, stageAlert
		s.armLocked(h, now.Add(cfg.Settings.AsyncIdleAlert))
	}
}

// idleStageTimeout is how long the current stage of inactivity control lasts.
func idleStageTimeout(ic *config.Inactivity, stage uint8) time.Duration {
	switch stage {
	case stageAlert:
		return ic.TimeoutAlert
	case stageAlert2:
		return ic.TimeoutAlert2
	}
	return ic.TimeoutClose
}

func (s *Session) idleDeadlineLocked(cfg *config.Config) time.Time {
	ic := s.idleConfigLocked(cfg)
	if !ic.Enabled || !s.idleActiveLocked() || s.tm.idleSince.IsZero() {
		return time.Time{}
	}
	return s.tm.idleSince.Add(idleStageTimeout(&ic, s.tm.idleStage))
}

func (s *Session) asyncDeadlineLocked(cfg *config.Config) time.Time {
	if !s.async || s.tm.asyncSince.IsZero() {
		return time.Time{}
	}
	if s.tm.asyncStage == stageAlert {
		return s.tm.asyncSince.Add(cfg.Settings.AsyncIdleAlert)
	}
	return s.tm.asyncSince.Add(cfg.Settings.AsyncIdleClose)
}

// expireIdleLocked runs the inactivity stages that are due: alerts, and the
// close that removes every party with reason 7.
func (s *Session) expireIdleLocked(cfg *config.Config, now time.Time) {
	ic := s.idleConfigLocked(cfg)
	if d := s.idleDeadlineLocked(cfg); !d.IsZero() && !now.Before(d) {
		switch s.tm.idleStage {
		case stageAlert:
			next, secs := "CLOSE", ic.TimeoutClose
			s.tm.idleStage = stageClose
			if ic.TimeoutAlert2 > 0 {
				next, secs = "ALERT", ic.TimeoutAlert2
				s.tm.idleStage = stageAlert2
			}
			s.idleNoticeLocked(IdleAlert, ic.MessageAlert, alertData(next, secs), now)
			s.tm.idleSince = now
		case stageAlert2:
			s.tm.idleStage = stageClose
			s.idleNoticeLocked(IdleAlert, ic.MessageAlert2, alertData("CLOSE", ic.TimeoutClose), now)
			s.tm.idleSince = now
		default:
			s.idleCloseLocked(ic.MessageClose, now)
			return
		}
	}
	if d := s.asyncDeadlineLocked(cfg); !d.IsZero() && !now.Before(d) {
		if s.tm.asyncStage == stageAlert {
			closeIn := cfg.Settings.AsyncIdleClose
			ud := alertData("CLOSE", closeIn)
			ud[KeyAsyncCheckAt] = strconv.FormatInt(now.Add(closeIn).Unix(), 10)
			s.idleNoticeLocked(IdleAlert, ic.MessageAlert, ud, now)
			s.tm.asyncSince, s.tm.asyncStage = now, stageClose
			return
		}
		s.idleCloseLocked(ic.MessageClose, now)
	}
}

func alertData(next string, in time.Duration) kv.Map {
	return kv.Map{KeyNextIdleTimerType: next, KeyNextIdleTimerSecs: strconv.FormatInt(int64(in/time.Second), 10)}
}

// idleNoticeLocked appends a notice from the server, seen by everyone.
func (s *Session) idleNoticeLocked(t NoticeType, text string, ud kv.Map, now time.Time) Receipt {
	ev := Event{Kind: Notice, Notice: t, From: Party{Nick: "system", Type: System}, Visibility: VisAll, Text: text, UserData: ud}
	return s.appendLocked(&ev, now)
}

// idleCloseLocked sends IDLE_CONTROL_CLOSE and closes the session: every
// party still present leaves with reason 7.
func (s *Session) idleCloseLocked(text string, now time.Time) {
	rc := s.idleNoticeLocked(IdleClose, text, nil, now)
	s.closeLocked(RemovedIdle, "", now, rc)
}
