package server

import (
	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/api/console"
	"github.com/confab/confab/internal/config"
)

// buildConsole mounts the supervisor console's live picture (queues,
// agents, live chats, KPI figures) at /agent/v1/console on the agent
// listener, for supervisors' tokens and the admin token.
func (s *Server) buildConsole(p *parts) error {
	p.add(config.PortAgent, console.New(console.Options{
		Router: p.router, Agents: p.store, HashToken: agent.HashToken, AdminToken: p.adminToken,
		Counters: s.ops.counters, Now: s.clock.Now, Log: s.log.With("adapter", "console"),
	}), nil)
	return nil
}
