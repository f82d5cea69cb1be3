package chat

import (
	"fmt"
	"time"

	"github.com/confab/confab/internal/kv"
)

// RestoreJournal is implemented by journals that must tell a restored
// session from a new one. The engine calls SessionRestored instead of
// SessionCreated when it rebuilds a session from its stored transcript;
// Journals forwards it to each member that implements it and calls
// SessionCreated (with Info.Restored set) on the others.
type RestoreJournal interface {
	SessionRestored(info *Info) Waiter
}

// SessionRestored calls every journal: SessionRestored where implemented,
// else SessionCreated.
func (js *Journals) SessionRestored(info *Info) Waiter {
	return js.each(func(j Journal) Waiter { return restored(j, info) })
}

func restored(j Journal, info *Info) Waiter {
	if rj, ok := j.(RestoreJournal); ok {
		return rj.SessionRestored(info)
	}
	return j.SessionCreated(info)
}

// RestoreRequest is a session rebuilt from its stored intermediate
// transcript, after a restart or on another node.
type RestoreRequest struct {
	ID        string
	Tenant    string
	Endpoint  string
	Queue     string
	Subject   string
	Language  string
	Async     bool
	Password  string
	CreatedAt time.Time
	// Service is the customer API service the session was created under.
	Service  string
	UserData kv.Map
	// Events are the stored events ordered by position. Positions missing
	// from the list (events that were never stored: a failed write) are
	// kept as placeholders nobody sees, so every stored event keeps its
	// position and the customer API's indexes stay valid.
	Events []Event
	// Secrets are the parties' credentials by user id (the customer's
	// secureKey).
	Secrets map[string]string
	// Keep reports whether a party that was present kept its connection
	// through the restoration; the others leave with reason 8. Nil keeps
	// the request-per-call parties (customers on the customer API) and
	// removes those on a persistent connection (agent desktops, bots),
	// which they must open and join again.
	Keep func(p *Participant) bool
}

// Restore rebuilds a session from its stored transcript and normalises it
// as the reference does: the parties whose connections were lost leave with
// reason 8 (RemovedRestore), stale read confirmations and typing notices are
// dropped (marked superseded), and the session is marked restored
// (Info.Restored, the ESP IsRestored). Events keep their positions; the
// normalisation's events follow them. If no party remains the session is
// closed. The receipt covers the normalisation's events.
func (e *Engine) Restore(req RestoreRequest) (*Session, Receipt, error) {
	if req.ID == "" {
		return nil, Receipt{}, fmt.Errorf("%w: restore: empty session id", ErrInvalid)
	}
	if len(req.Events) == 0 {
		return nil, Receipt{}, fmt.Errorf("%w: restore session %s: no stored events", ErrInvalid, req.ID)
	}
	if e.admit != nil {
		if err := e.admit(true); err != nil {
			return nil, Receipt{}, fmt.Errorf("restore session %s: %w: %v", req.ID, ErrLimit, err)
		}
	}
	st := e.settings.Load()
	if int(e.alive.Add(1)) > st.SessionLimit {
		e.alive.Add(-1)
		return nil, Receipt{}, fmt.Errorf("restore session %s: %w (limit-for-sessions=%d)", req.ID, ErrLimit, st.SessionLimit)
	}
	s := &Session{
		engine: e, id: req.ID, tenant: req.Tenant, endpoint: req.Endpoint, queue: req.Queue, service: req.Service,
		created: req.CreatedAt, async: req.Async, language: req.Language, subject: req.Subject,
		password: req.Password, restored: true, userData: req.UserData.Clone(),
	}
	if s.userData == nil {
		s.userData = kv.Map{}
	}
	s.rebuild(req.Events, req.Secrets)
	s.setDurableLocked(s.events.len())

	sh := e.shard(s.id)
	sh.mu.Lock()
	if _, exists := sh.sessions[s.id]; exists {
		sh.mu.Unlock()
		e.alive.Add(-1)
		return nil, Receipt{}, fmt.Errorf("%w: restore: session %s already exists", ErrInvalid, s.id)
	}
	sh.sessions[s.id] = s
	s.mu.Lock()
	sh.mu.Unlock()
	defer s.mu.Unlock()

	info := s.infoLocked()
	rc := Receipt{Pos: s.events.len() - 1, Time: s.events.timeAt(s.events.len() - 1)}
	rc.durable = restored(e.journal, &info)
	keep := req.Keep
	if keep == nil {
		keep = func(p *Participant) bool { return p.Protocol == Flex || p.Protocol == ESP }
	}
	now := e.clock.Now()
	var last Receipt
	for _, p := range s.parties {
		if !p.Left && !keep(p) {
			last = s.removeLocked(p, RemovedRestore, "", "", now)
		}
	}
	if s.presentLocked() == 0 {
		last = s.closeLocked(RemovedRestore, "", now, last)
	}
	s.timersRestoredLocked(now)
	if !last.Time.IsZero() {
		if rc.durable != nil && last.durable != nil {
			last.durable = waiters{rc.durable, last.durable}
		} else if last.durable == nil {
			last.durable = rc.durable
		}
		rc = last
	}
	return s, rc, nil
}

// rebuild replays stored events into the session's transcript and parties.
func (s *Session) rebuild(evs []Event, secrets map[string]string) {
	for i := range evs {
		ev := evs[i]
		for s.events.len() < ev.Pos {
			// A position that was never stored: a placeholder nobody sees.
			s.events.add(&Event{Pos: s.events.len(), Kind: Notice, Notice: TypingStopped, Time: ev.Time, Superseded: true})
		}
		if ev.Pos < s.events.len() {
			continue // a duplicate position: the store keeps one event per position
		}
		switch ev.Kind {
		case NewParty:
			s.parties = append(s.parties, &Participant{
				UserID: ev.From.UserID, Num: ev.From.Num, Nick: ev.From.Nick, Type: ev.From.Type,
				Visibility: ev.Visibility, Bot: ev.From.Bot, Protocol: protocolOf(ev.From.Type), PersonID: ev.From.PersonID,
				UserData: ev.UserData, JoinedAt: ev.Time, LastActivity: s.engine.clock.Now(),
				Secret: secrets[ev.From.UserID],
			})
		case Message:
			if ev.ClientMsgID != "" {
				s.sent.add(&s.events, ev.From.UserID, ev.ClientMsgID, ev.Pos)
			}
		case PartyLeft:
			if p := s.presentPartyLocked(ev.From.UserID); p != nil {
				p.Left, p.LeftAt = true, ev.Time
				s.supersedeConfirmLocked(p.UserID)
			}
		case Notice:
			switch {
			case ev.isSettings(): // the session's own values (settings.go)
				ev.Superseded = true
				s.applySettingsLocked(ev.UserData)
			case ev.Notice == TypingStarted || ev.Notice == TypingStopped:
				ev.Superseded = true // a stale typing indication
			case ev.Notice == NickChanged:
				if p := s.presentPartyLocked(ev.From.UserID); p != nil {
					if p.OriginalNick == "" {
						p.OriginalNick = p.Nick
					}
					p.Nick = ev.Text
				}
			case ev.IsReadConfirm():
				s.supersedeConfirmLocked(ev.From.UserID)
				if s.confirmed == nil {
					s.confirmed = make(map[string]int)
				}
				s.confirmed[ev.From.UserID] = ev.Pos
			}
		}
		s.engine.remaskRestored(&ev) // mask.go
		s.events.add(&ev)
	}
}

// presentPartyLocked finds the present party with a user id (a user id can
// appear again after leaving).
func (s *Session) presentPartyLocked(userID string) *Participant {
	for i := len(s.parties) - 1; i >= 0; i-- {
		if p := s.parties[i]; p.UserID == userID && !p.Left {
			return p
		}
	}
	return nil
}

// protocolOf is the protocol a restored party used: the transcript does not
// record it, and in Confab customers come through the customer API and
// agents, supervisors and bots through the agent protocol.
func protocolOf(t UserType) Protocol {
	if t == Client {
		return Flex
	}
	return Basic
}

// Sessions returns the sessions in the registry, alive or closed but not
// yet purged, in no particular order.
func (e *Engine) Sessions() []*Session {
	var out []*Session
	for i := range e.shards {
		sh := &e.shards[i]
		sh.mu.RLock()
		for _, s := range sh.sessions {
			out = append(out, s)
		}
		sh.mu.RUnlock()
	}
	return out
}

// Drop removes a session from the registry without closing it or telling
// the journal: another node owns it now. It reports whether it was there.
func (e *Engine) Drop(id string) bool {
	sh := e.shard(id)
	sh.mu.Lock()
	s := sh.sessions[id]
	delete(sh.sessions, id)
	sh.mu.Unlock()
	if s == nil {
		return false
	}
	if s.State() == Alive {
		e.alive.Add(-1)
	}
	return true
}
