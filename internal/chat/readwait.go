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

// OnChange arranges for fn to be called once at the session's next change
// after the read that returned ch (ReadNChanged, Changed), for a reader
// that waits without a goroutine of its own (an agent socket's session
// watchers: one goroutine per watched session was a third of a dense
// server's goroutines, whose stacks every GC cycle scans). It reports
// false, and does not keep fn, if the session has changed since: ch is
// closed and the caller reads again instead.
//
// fn runs with the session's lock held, on the goroutine that changed the
// session: it must not block, nor call the session, nor take a lock that
// is held anywhere while calling into a session; starting a goroutine or
// a non-blocking send is what it is for. A reader that stops waiting
// cannot take fn back: fn is dropped at the next change, and must then
// find out by itself that it is no longer wanted.
func (s *Session) OnChange(ch <-chan struct{}, fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil || (<-chan struct{})(s.changed) != ch {
		return false // closed (and cleared or replaced) since ch was taken
	}
	s.onChange = append(s.onChange, fn)
	return true
}
