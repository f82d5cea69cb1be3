package chat

import "fmt"

// MarkMonitored records that a supervisor watches the session silently;
// the stored transcript says so (the reference added this indication at
// ClientVersion 105). It stays set for the life of the session.
func (s *Session) MarkMonitored() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Alive {
		return fmt.Errorf("mark session %s monitored: %w", s.id, ErrClosed)
	}
	if s.monitored {
		return nil
	}
	s.monitored = true
	info := s.infoLocked()
	s.engine.journal.SessionUpdated(&info)
	return nil
}

// Reveal makes a present party that joined with visibility INT or VIP
// visible to everybody from now on (a supervisor barging in): its
// visibility becomes ALL and a newParty event with visibility ALL
// announces it, so the customer sees it join. Events it appended before
// keep their visibility. A party already at ALL is left as it is and
// Reveal returns a zero Receipt with revealed false.
func (s *Session) Reveal(userID string) (rc Receipt, revealed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, now, err := s.activePartyLocked(userID, "barge in")
	if err != nil {
		return Receipt{}, false, err
	}
	if p.Visibility == VisAll {
		return Receipt{}, false, nil
	}
	p.Visibility = VisAll
	ev := Event{Kind: NewParty, From: p.party(), Visibility: VisAll, UserData: p.UserData}
	return s.appendLocked(&ev, now), true, nil
}
