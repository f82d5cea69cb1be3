package chat

import (
	"fmt"
	"strconv"

	"github.com/confab/confab/internal/kv"
	"github.com/confab/confab/internal/pii"
)

// Masking of sensitive data on the message path ([transcript-cleanup]).
//
// A message is masked once, when it is sent, with the policy in force then
// (SetMasking); the search runs before the session lock is taken, so a slow
// rule holds up only its sender. When anything matched, the event keeps
// both copies in a maskRecord and every reader gets the one meant for it:
//
//   - Event.Text and Event.Attrs are the live copy: masked (with the
//     GCTI_SYSTEM.pii-cleanup attributes) under apply-area=always, the text
//     as sent otherwise.
//   - Session.Read gives a viewer the text as sent instead when the record
//     names it in its audience: under unmask-live-dialog, a customer
//     message sent while an active agent (a present agent or supervisor
//     visible to the customer, not coaching or monitoring; a bot only with
//     allow-bot-unmask) was in the session is unmasked for those agents and
//     for the customers then present; parties that join later, coaches and
//     monitors get the masked copy.
//   - Journals take Event.ForStore: masked in the intermediate transcript
//     under always and history-all, in the final one under every area but
//     never.
//
// Typing notices have their digits masked before they are stored or
// delivered (typing-preview), and the subject is masked at creation where
// clean-subject says.

// maskRecord is the second copy of a masked message; it is immutable and
// shared by every copy of the event.
type maskRecord struct {
	area        pii.Area
	clear       string
	clearAttrs  kv.Map
	masked      string
	maskedAttrs kv.Map
	// audience are the user ids that may read the text as sent (live
	// masking only).
	audience []string
}

// pendingMask is the result of searching a text before the session lock.
type pendingMask struct {
	pol    *pii.Policy
	masked string
	hits   []pii.Hit
}

// SetMasking installs the masking policy; nil masks nothing. Messages sent
// afterwards are masked by it; events already appended keep their copies.
func (e *Engine) SetMasking(p *pii.Policy) { e.masking.Store(p) }

// Masking returns the policy in force (nil: none).
func (e *Engine) Masking() *pii.Policy { return e.masking.Load() }

// maskText searches a message text with the policy in force. It takes no
// lock and allocates nothing when no rule matches.
func (e *Engine) maskText(text string) pendingMask {
	pol := e.masking.Load()
	if !pol.Masks() {
		return pendingMask{}
	}
	masked, hits, ok := pol.Rules.Mask(text)
	if !ok {
		return pendingMask{}
	}
	return pendingMask{pol: pol, masked: masked, hits: hits}
}

// applyMaskLocked puts the masked copy on a message about to be appended by
// from.
func (s *Session) applyMaskLocked(ev *Event, from *Participant, mk pendingMask) {
	if mk.pol == nil {
		return
	}
	rec := &maskRecord{
		area: mk.pol.Area, clear: ev.Text, clearAttrs: ev.Attrs,
		masked: mk.masked, maskedAttrs: cleanupAttrs(ev.Attrs, mk.hits),
	}
	if rec.area.Live() {
		ev.Text, ev.Attrs = rec.masked, rec.maskedAttrs
		if from.Type == Client {
			rec.audience = s.unmaskAudienceLocked(mk.pol)
		}
	}
	ev.pii = rec
}

// remaskRestored gives a message rebuilt from a stored transcript the
// copies the policy in force asks for: under history-final the
// intermediate transcript kept the text as sent, yet the final one must be
// masked; under always the restored live copy is masked (nobody is in its
// unmask audience). Text stored masked matches no rule and stays as it is.
func (e *Engine) remaskRestored(ev *Event) {
	if ev.Kind != Message || ev.pii != nil {
		return
	}
	mk := e.maskText(ev.Text)
	if mk.pol == nil {
		return
	}
	rec := &maskRecord{area: mk.pol.Area, clear: ev.Text, clearAttrs: ev.Attrs,
		masked: mk.masked, maskedAttrs: cleanupAttrs(ev.Attrs, mk.hits)}
	if rec.area.Live() {
		ev.Text, ev.Attrs = rec.masked, rec.maskedAttrs
	}
	ev.pii = rec
}

// unmaskAudienceLocked lists who may read a customer's message unmasked:
// the active agents present now and, under unmask-live-dialog, the
// customers present now; nobody when no active agent is present.
func (s *Session) unmaskAudienceLocked(pol *pii.Policy) []string {
	if !pol.UnmaskLive && !pol.AllowBotUnmask {
		return nil
	}
	var out []string
	for _, p := range s.parties {
		if activeAgent(p, pol) {
			out = append(out, p.UserID)
		}
	}
	if len(out) == 0 {
		return nil
	}
	if pol.UnmaskLive {
		for _, p := range s.parties {
			if !p.Left && p.Type == Client {
				out = append(out, p.UserID)
			}
		}
	}
	return out
}

// activeAgent reports whether p is an agent the customer sees: present, an
// agent or supervisor with visibility ALL (coaching is INT, monitoring
// VIP), and a bot only when bots may see unmasked data.
func activeAgent(p *Participant, pol *pii.Policy) bool {
	if p.Left || p.Visibility != VisAll || (p.Type != Agent && p.Type != Supervisor) {
		return false
	}
	if p.Bot {
		return pol.AllowBotUnmask
	}
	return pol.UnmaskLive
}

// unmaskFor turns a viewer's copy of a masked event back into the text as
// sent when the viewer is in its audience and unmasking is still allowed.
func (e *Engine) unmaskFor(ev *Event, viewerID string) {
	rec := ev.pii
	if rec == nil || len(rec.audience) == 0 {
		return
	}
	if pol := e.masking.Load(); pol == nil || !pol.UnmaskLive && !pol.AllowBotUnmask {
		return
	}
	for _, id := range rec.audience {
		if id == viewerID {
			ev.Text, ev.Attrs = rec.clear, rec.clearAttrs
			return
		}
	}
}

// Masked reports whether the event is a message that masking changed, and
// its text as sent. The text as sent must never be stored or logged; it is
// for tests and for the operator's rule check.
func (e *Event) Masked() (clear string, ok bool) {
	if e.pii == nil {
		return "", false
	}
	return e.pii.clear, true
}

// ForStore returns the copy of e a stored transcript keeps: e itself, or a
// copy carrying the masked text and the pii-cleanup attributes when the
// apply-area of its sending masks the intermediate (final=false) or the
// final (final=true) transcript.
func (e *Event) ForStore(final bool) *Event {
	rec := e.pii
	if rec == nil {
		return e
	}
	if final && !rec.area.Final() || !final && !rec.area.Intermediate() || e.Text == rec.masked {
		return e
	}
	c := *e
	c.Text, c.Attrs = rec.masked, rec.maskedAttrs
	return &c
}

// cleanupAttrs returns a copy of attrs with the reference's
// GCTI_SYSTEM.pii-cleanup node: one entry per rule that replaced
// something ("rule-0001" for the first rule of the set), with the rule's
// id, name and description and each replaced range ("first-last",
// 0-based character positions) with how it was replaced.
func cleanupAttrs(attrs kv.Map, hits []pii.Hit) kv.Map {
	cleanup := kv.Map{}
	for _, h := range hits {
		key := fmt.Sprintf("rule-%04d", h.Rule+1)
		r, _ := cleanup[key].(kv.Map)
		if r == nil {
			r = kv.Map{"id": h.ID, "name": h.Name, "description": h.Description, "positions": kv.Map{}}
			cleanup[key] = r
		}
		r["positions"].(kv.Map)[strconv.Itoa(h.Start)+"-"+strconv.Itoa(h.End)] = kv.Map{"replaced": h.Replaced()}
	}
	out := attrs.Clone()
	if out == nil {
		out = kv.Map{}
	}
	out.Merge(kv.Map{KeySystem: kv.Map{"pii-cleanup": cleanup}})
	return out
}

// maskTyping masks the digits of a typing notice as typing-preview says:
// its text (message), its user-data values (notice), or both (any).
func (e *Engine) maskTyping(n Note) Note {
	if n.Type != TypingStarted && n.Type != TypingStopped {
		return n
	}
	pol := e.masking.Load()
	if pol == nil || pol.Typing == pii.TypingNone {
		return n
	}
	rep := pol.RepChar
	if rep == 0 {
		rep = '*'
	}
	if pol.Typing.Text() {
		n.Text = pii.MaskDigits(n.Text, rep)
	}
	if pol.Typing.Data() && len(n.UserData) > 0 {
		n.UserData = maskDigitsKV(n.UserData, rep)
	}
	return n
}

func maskDigitsKV(m kv.Map, rep rune) kv.Map {
	out := make(kv.Map, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = pii.MaskDigits(v, rep)
		case kv.Map:
			out[k] = maskDigitsKV(v, rep)
		default:
			out[k] = v
		}
	}
	return out
}

// maskSubject returns the subject for the interaction and for the contact
// history record, each masked where clean-subject says.
func (e *Engine) maskSubject(subject string) (interaction, history string) {
	pol := e.masking.Load()
	if subject == "" || !pol.Masks() || pol.Subject == pii.SubjectNever {
		return subject, subject
	}
	masked, _, ok := pol.Rules.Mask(subject)
	if !ok {
		return subject, subject
	}
	interaction, history = subject, subject
	if pol.Subject.Interaction() {
		interaction = masked
	}
	if pol.Subject.History() {
		history = masked
	}
	return interaction, history
}
