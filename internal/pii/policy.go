package pii

import "fmt"

// Area is where masking applies ([transcript-cleanup] apply-area).
type Area uint8

// Areas, with the reference's table: Always masks live traffic (what the
// customer, agents and typing previews get) and every stored copy;
// HistoryAll masks the intermediate and final stored transcripts (live data
// masked only after a restoration, which reads the stored copy);
// HistoryFinal masks only the final stored transcript; Never masks nothing.
const (
	Never Area = iota
	Always
	HistoryAll
	HistoryFinal
)

var areaNames = [...]string{"never", "always", "history-all", "history-final"}

func (a Area) String() string {
	if int(a) < len(areaNames) {
		return areaNames[a]
	}
	return fmt.Sprintf("Area(%d)", a)
}

// ParseArea reads an apply-area value.
func ParseArea(s string) (Area, error) {
	for i, n := range areaNames {
		if s == n {
			return Area(i), nil
		}
	}
	return Never, fmt.Errorf("apply-area %q: must be always, history-all, history-final or never", s)
}

// Live reports whether live traffic is masked.
func (a Area) Live() bool { return a == Always }

// Intermediate reports whether the intermediate stored transcript is masked.
func (a Area) Intermediate() bool { return a == Always || a == HistoryAll }

// Final reports whether the final stored transcript is masked.
func (a Area) Final() bool { return a != Never }

// Typing is what of a typing notice has its digits masked
// ([transcript-cleanup] typing-preview).
type Typing uint8

// Typing preview modes: the preview text (message), the notice's user data
// (notice), both (any), or nothing (none).
const (
	TypingNone Typing = iota
	TypingMessage
	TypingNotice
	TypingAny
)

// ParseTyping reads a typing-preview value.
func ParseTyping(s string) (Typing, error) {
	switch s {
	case "none":
		return TypingNone, nil
	case "message":
		return TypingMessage, nil
	case "notice":
		return TypingNotice, nil
	case "any":
		return TypingAny, nil
	}
	return TypingNone, fmt.Errorf("typing-preview %q: must be any, message, notice or none", s)
}

// Text reports whether the preview text is masked.
func (t Typing) Text() bool { return t == TypingMessage || t == TypingAny }

// Data reports whether the notice's user-data values are masked.
func (t Typing) Data() bool { return t == TypingNotice || t == TypingAny }

// Subject is where the chat subject is masked ([transcript-cleanup]
// clean-subject).
type Subject uint8

// Subject modes.
const (
	SubjectNever Subject = iota
	SubjectHistory
	SubjectInteraction
	SubjectBoth
)

// ParseSubject reads a clean-subject value.
func ParseSubject(s string) (Subject, error) {
	switch s {
	case "never":
		return SubjectNever, nil
	case "history":
		return SubjectHistory, nil
	case "interaction":
		return SubjectInteraction, nil
	case "both":
		return SubjectBoth, nil
	}
	return SubjectNever, fmt.Errorf("clean-subject %q: must be never, history, interaction or both", s)
}

// History reports whether the stored history record's subject is masked.
func (s Subject) History() bool { return s == SubjectHistory || s == SubjectBoth }

// Interaction reports whether the interaction's subject (what routing and
// agent desktops show) is masked.
func (s Subject) Interaction() bool { return s == SubjectInteraction || s == SubjectBoth }

// Config is where rules come from ([transcript-cleanup] apply-config).
type Config uint8

// Rule sources: built-in (cfg), the store (ucs; no stored rules = no
// masking), or the store when it has rules and built-in otherwise (mix).
const (
	ConfigMix Config = iota
	ConfigCfg
	ConfigUCS
)

// ParseConfig reads an apply-config value.
func ParseConfig(s string) (Config, error) {
	switch s {
	case "mix":
		return ConfigMix, nil
	case "cfg":
		return ConfigCfg, nil
	case "ucs":
		return ConfigUCS, nil
	}
	return ConfigMix, fmt.Errorf("apply-config %q: must be cfg, mix or ucs", s)
}

// Select returns the rules that apply: the built-in ones, the stored ones,
// or (mix) the stored ones when there are any and else the built-in ones.
// Under ucs with nothing stored it returns none.
func (c Config) Select(stored []Rule) []Rule {
	switch c {
	case ConfigCfg:
		return Defaults()
	case ConfigUCS:
		return stored
	}
	if len(stored) > 0 {
		return stored
	}
	return Defaults()
}

// Policy is the masking in force: the rules and the [transcript-cleanup]
// options. A nil *Policy masks nothing. It is immutable.
type Policy struct {
	Rules   *Set // nil: no rules (messages are not masked)
	Area    Area
	Typing  Typing
	Subject Subject
	RepChar rune
	// UnmaskLive lets active agents (visible to the customer, neither
	// coaching nor monitoring) and the customer see the unmasked text of
	// customer messages sent while such an agent was present
	// (unmask-live-dialog).
	UnmaskLive bool
	// AllowBotUnmask lets bots count as such agents (allow-bot-unmask).
	AllowBotUnmask bool
}

// Masks reports whether messages are masked anywhere.
func (p *Policy) Masks() bool {
	return p != nil && p.Rules != nil && p.Rules.Len() > 0 && p.Area != Never
}
