package cometd

// Held reports how many connects are being held (for tests).
func Held(s *Server) int {
	s.mu.Lock()
	cls := make([]*Client, 0, len(s.clients))
	for _, c := range s.clients {
		cls = append(cls, c)
	}
	s.mu.Unlock()
	n := 0
	for _, c := range cls {
		c.mu.Lock()
		n += c.holding
		c.mu.Unlock()
	}
	return n
}
