package chat

import (
	"strconv"
	"strings"
	"time"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
)

// A session's own values — the inactivity control a workflow set
// (IdleControlConfigure) and the language it chose (ConfigureSession, or a
// configure-session notice) — must survive a restoration like the
// transcript does. Whenever they change the engine appends a settings
// record: a system notice (SYS_COMMAND SettingsCommand) that nobody sees
// (superseded from the start, left out of the final transcript) carrying
// every current value in its user data. It goes through the journal like
// any event, so it is stored in order with the transcript (fenced, retried
// and dropped at close with it), and Restore applies the last one.

// SettingsCommand is the text of a session's hidden settings record.
const SettingsCommand = "session-settings"

// Keys of the settings record's user data.
const (
	settingsLanguage = "language" // the session's language name ("" the defaults)
	settingsIdle     = "idle"     // the workflow's inactivity values, by ESP parameter name
)

// saveSettingsLocked appends the settings record of the session's current
// values.
func (s *Session) saveSettingsLocked(now time.Time) {
	ud := kv.Map{settingsLanguage: s.language}
	if o := s.tm.override; o != nil {
		ud[settingsIdle] = o.toKV()
	}
	ev := &Event{
		Kind: Notice, Notice: SysCommand, From: Party{Nick: "system", Type: System}, Visibility: VisVIP,
		Text: SettingsCommand, UserData: ud, Superseded: true,
	}
	ev.Pos = s.events.len()
	ev.Time = now
	s.events.add(ev)
	w := s.engine.journal.EventAppended(s.id, ev)
	s.trackLocked(ev.Pos, w)
}

// isSettings reports whether ev is a settings record.
func (ev *Event) isSettings() bool {
	return ev.Kind == Notice && ev.Notice == SysCommand && ev.Text == SettingsCommand && ev.From.Type == System
}

// applySettingsLocked takes the values of a stored settings record
// (restoration).
func (s *Session) applySettingsLocked(ud kv.Map) {
	if v, ok := ud[settingsLanguage].(string); ok {
		s.language = v
	}
	s.tm.override = nil
	if m := ud.Sub(settingsIdle); m != nil {
		if o, ok := idleFromKV(m); ok {
			s.tm.override = &o
		}
	}
}

func (o *IdleOverride) toKV() kv.Map {
	m := kv.Map{}
	if o.Enabled != nil {
		m["enabled"] = strconv.FormatBool(*o.Enabled)
	}
	if o.IncludeNotices != nil {
		m["include-notices"] = string(*o.IncludeNotices)
	}
	for k, v := range map[string]*string{"message-alert": o.MessageAlert, "message-alert2": o.MessageAlert2, "message-close": o.MessageClose} {
		if v != nil {
			m[k] = *v
		}
	}
	for k, v := range map[string]*time.Duration{"timeout-alert": o.TimeoutAlert, "timeout-alert2": o.TimeoutAlert2, "timeout-close": o.TimeoutClose} {
		if v != nil {
			m[k] = strconv.FormatInt(int64(*v/time.Second), 10)
		}
	}
	return m
}

// idleFromKV reads stored inactivity values; a record that does not pass
// IdleOverride.Check is ignored (ok false).
func idleFromKV(m kv.Map) (IdleOverride, bool) {
	var o IdleOverride
	if v, ok := m["enabled"].(string); ok {
		b := v == "true"
		o.Enabled = &b
	}
	if v, ok := m["include-notices"].(string); ok {
		ns := config.NoticeSet(v)
		o.IncludeNotices = &ns
	}
	for k, dst := range map[string]**string{"message-alert": &o.MessageAlert, "message-alert2": &o.MessageAlert2, "message-close": &o.MessageClose} {
		if v, ok := m[k].(string); ok {
			*dst = &v
		}
	}
	for k, dst := range map[string]**time.Duration{"timeout-alert": &o.TimeoutAlert, "timeout-alert2": &o.TimeoutAlert2, "timeout-close": &o.TimeoutClose} {
		if v, ok := m[k].(string); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return IdleOverride{}, false
			}
			d := time.Duration(n) * time.Second
			*dst = &d
		}
	}
	if o.Check() != nil {
		return IdleOverride{}, false
	}
	return o, true
}
