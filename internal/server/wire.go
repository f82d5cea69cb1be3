package server

// adapterBuilders lists the protocol adapters in the order they are built.
// Each builder lives in its own wire_*.go file.
func (s *Server) adapterBuilders() []func(*parts) error {
	return []func(*parts) error{
		s.buildTimers,
		s.buildWebAPI,
		s.buildCometD,
		s.buildAgent,
		s.buildOps,
		s.buildRecords,
		s.buildStoreStats,
		s.buildProtection,
		s.buildMasking,
		s.buildResponses,
		s.buildConsole,
		s.buildWeb,
		s.buildCluster,
		s.buildAgentCluster,
		s.buildDrain,
	}
}
