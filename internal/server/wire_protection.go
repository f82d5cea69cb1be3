package server

// buildProtection publishes what the [protection] bounds count that no
// other counter does: the server-owned user-data keys (ContactId, IsOnline,
// ChatServer*, GCTI_Chat_Async*, csg_*, cse_*) that customers and agents
// sent and the adapters dropped, as /Counters userdata_owned_keys_dropped
// and the Prometheus gauge confab_userdata_owned_keys_dropped (a running
// total since start).
func (s *Server) buildProtection(p *parts) error {
	sources := p.ownedDropped
	s.ops.counters.Gauge("userdata_owned_keys_dropped", "confab_userdata_owned_keys_dropped",
		"Server-owned user-data keys customers and agents sent, dropped by the adapters (since start).",
		func() int64 {
			var n int64
			for _, f := range sources {
				n += f()
			}
			return n
		})
	return nil
}
