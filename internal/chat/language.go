package chat

import (
	"fmt"
	"strings"

	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/lang"
)

// ConfigureSessionCommand is the system command (a SYS_COMMAND notice) by
// which a widget or desktop changes the session's language; its user data
// carry GCTI_LanguageName or GCTI_LanguageCode.
const ConfigureSessionCommand = "configure-session"

// resolveLanguage returns the language name for a session from its user
// data (GCTI_LanguageName, else GCTI_LanguageCode); "" means the configured
// defaults. An unknown language is reported through the Warn hook, naming
// the session and the language.
func (e *Engine) resolveLanguage(h *timerHooks, cfg *config.Config, sessionID string, ud kv.Map) string {
	name, code := ud.String(lang.KeyName), ud.String(lang.KeyCode)
	got, ok, err := lang.Resolve(cfg, name, code)
	// An unknown name is always worth a warning; a code that matches no
	// language only when languages are configured at all (the widget sends
	// GCTI_LanguageCode with every chat).
	if err != nil && (strings.TrimSpace(name) != "" || len(cfg.Languages) > 0) {
		given := name
		if given == "" {
			given = code
		}
		h.warn("unknown session language, using the configured defaults", "session", sessionID, "language", given, "err", err)
	}
	if !ok {
		return ""
	}
	return got
}

// languageAtCreate gives a new session its language when timers (and so
// the language configuration) are on; otherwise the requested one stays.
func (e *Engine) languageAtCreate(sessionID, requested string, ud kv.Map) string {
	h := e.timers.Load()
	if h == nil || requested != "" {
		return requested
	}
	return e.resolveLanguage(h, h.Config(), sessionID, ud)
}

// SelectLanguage sets the session's language from a GCTI_LanguageName or a
// GCTI_LanguageCode value, resolved as at session creation (the name wins);
// an unknown language selects the configured defaults and is reported
// through the Warn hook. It returns the language name ("" for the defaults).
func (s *Session) SelectLanguage(name, code string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return "", fmt.Errorf("set language of session %s: %w", s.id, ErrClosed)
	}
	h := s.engine.timers.Load()
	if h == nil {
		return "", fmt.Errorf("set language of session %s: %w: no language configuration", s.id, ErrInvalid)
	}
	s.setLanguageLocked(s.engine.resolveLanguage(h, h.Config(), s.id, kv.Map{lang.KeyName: name, lang.KeyCode: code}))
	return s.language, nil
}

// configureFromNoticeLocked applies a configure-session system notice.
func (s *Session) configureFromNoticeLocked(h *timerHooks, cfg *config.Config, ev *Event) {
	if ev.UserData.String(lang.KeyName) == "" && ev.UserData.String(lang.KeyCode) == "" {
		return
	}
	s.setLanguageLocked(s.engine.resolveLanguage(h, cfg, s.id, ev.UserData))
}

func (s *Session) setLanguageLocked(name string) {
	if s.language == name {
		return
	}
	s.language = name
	s.saveSettingsLocked(s.engine.clock.Now()) // kept across a restoration (settings.go)
	info := s.infoLocked()
	s.engine.journal.SessionUpdated(&info)
}
