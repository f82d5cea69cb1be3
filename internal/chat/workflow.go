package chat

import (
	"fmt"

	"github.com/confab/confab/internal/kv"
)

// This file holds the few engine operations the routing layer, the agent
// protocol and the workflow (ESP) API need beyond joining, sending and
// leaving: the workflow's own party, a language change, and a purge without
// closing actions.

// ExternalParty returns the present party that speaks for a workflow under
// the given nickname: a party of type EXTERNAL and protocol ESP. When there is
// none it joins one with visibility vis (appending its newParty event) and
// reports joined; rc is then the receipt of that event. Doing both under the
// session lock means two concurrent workflow requests with one nickname get
// one party.
//
// A workflow party is not an agent: it never keeps a session open under
// CLOSE_IF_NO_AGENTS and never counts for stop-abandoned-interaction.
func (s *Session) ExternalParty(nick string, vis Visibility) (p Participant, joined bool, rc Receipt, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return Participant{}, false, Receipt{}, fmt.Errorf("workflow party in session %s: %w", s.id, ErrClosed)
	}
	for _, q := range s.parties {
		if !q.Left && q.Protocol == ESP && q.Type == External && q.Nick == nick {
			return *q, false, Receipt{}, nil
		}
	}
	// The workflow is trusted: it joins with the session's own password.
	req := JoinRequest{Nick: nick, Type: External, Visibility: vis, Protocol: ESP}
	if s.password != "" {
		req.UserData = kv.Map{KeySessionPassword: s.password}
	}
	p, rc, err = s.joinLocked(req, s.engine.clock.Now())
	if err != nil {
		return Participant{}, false, Receipt{}, err
	}
	return p, true, rc, nil
}

// SetLanguage changes the language of a live session (the workflow's
// ConfigureSession). The journal is told as for any change of session data.
func (s *Session) SetLanguage(lang string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return fmt.Errorf("set language of session %s: %w", s.id, ErrClosed)
	}
	if s.language == lang {
		return nil
	}
	s.language = lang
	info := s.infoLocked()
	s.engine.journal.SessionUpdated(&info)
	s.notifyLocked()
	return nil
}

// Purge drops a session from the registry without any closing action: no
// partyLeft events, nothing handed to the journal. It is the workflow's
// CloseSession with Purge=true, used when the session lives on at another
// node. Waiters are woken and see the session closed. Purging an unknown
// session is ErrNotFound.
func (e *Engine) Purge(id string) error {
	s, err := e.Get(id)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	s.mu.Lock()
	if s.state == Alive {
		s.state = Closed
		s.stopTimersLocked()
		s.closedAt = e.clock.Now()
		e.alive.Add(-1)
	}
	s.notifyLocked()
	s.mu.Unlock()
	e.purge(s) // a shard lock: never while holding the session lock
	return nil
}
