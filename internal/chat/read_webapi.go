package chat

import "fmt"

// ReadN is Read with a bound: it appends at most max events (max ≤ 0 means
// no bound) at positions ≥ from that the party userID may see, and returns
// the position to read from next. When the bound cut the read short, next is
// the position just after the last event returned, so reading on from next
// neither skips nor repeats an event; otherwise it is the transcript length,
// as for Read. Push delivery uses it to keep what one connection holds in
// memory bounded however far behind the connection is.
func (s *Session) ReadN(userID string, from, max int, buf []Event) ([]Event, int, State, error) {
	if max <= 0 {
		return s.Read(userID, from, buf)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.partyLocked(userID)
	if p == nil {
		return buf, 0, s.state, fmt.Errorf("read session %s as %s: %w", s.id, userID, ErrNotParticipant)
	}
	if from < 0 {
		from = 0
	}
	n := 0
	for i := from; i < s.events.len(); i++ {
		ev := s.events.at(i)
		if !ev.VisibleTo(userID, p.Type) {
			continue
		}
		if n == max {
			return buf, i, s.state, nil
		}
		buf = appendView(buf, ev, userID, p.Type)
		n++
	}
	return buf, s.events.len(), s.state, nil
}
