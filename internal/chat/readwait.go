package chat

// ReadNChanged is ReadN that also returns the channel that closes at the
// session's next change after this read, taken under the same lock hold: a
// reader that found nothing new (or sent what it found) waits on it
// without taking the session's lock a second time (Changed, then ReadN).
// On every message a session's readers (WebSocket pushes, agent watchers)
// wake, read and wait again, so this halves their trips through the lock
// the senders need.
func (s *Session) ReadNChanged(userID string, from, max int, buf []Event) ([]Event, int, State, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	ch := s.changed
	evs, next, state, err := s.readNLocked(userID, from, max, buf)
	return evs, next, state, ch, err
}
