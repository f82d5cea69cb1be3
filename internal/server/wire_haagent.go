package server

import (
	"context"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/config"
)

// buildAgentCluster gives the agent protocol the cluster, when the node is
// in one: an agent socket's operations on a session another live node owns
// are relayed there; a join with the session's ChatServerWebapiToken
// restores a dead node's session here when session-restore-extend-by is
// agent or both; a socket that loses the node serving one of its sessions
// is told where it is restored (a restored frame).
func (s *Server) buildAgentCluster(p *parts) error {
	if p.ha.c == nil || p.agents == nil {
		return nil
	}
	p.agents.SetCluster(agentCluster{c: p.ha.c})
	return nil
}

// agentCluster is the cluster as the agent adapter sees it.
type agentCluster struct{ c *cluster.Cluster }

func (a agentCluster) NodeID() string { return a.c.NodeID() }

func (a agentCluster) Token(sessionID string) string { return a.c.WebapiToken(sessionID) }

func (a agentCluster) Locate(ctx context.Context, sessionID, token string, forwarded bool) (agent.Location, error) {
	r, err := a.c.LocateAgent(ctx, sessionID, token, forwarded)
	if err != nil {
		return agent.Location{}, err
	}
	return a.location(r, r.Restored), nil
}

func (a agentCluster) Follow(ctx context.Context, sessionID, lost string) (agent.Location, error) {
	f, err := a.c.Follow(ctx, sessionID, lost)
	if err != nil {
		return agent.Location{}, err
	}
	l := a.location(f.Route, f.Moved)
	l.Closed = f.Closed
	return l, nil
}

// location is a route as the agent adapter sees it: a local one names this
// node and its agent listener.
func (a agentCluster) location(r cluster.Route, restored bool) agent.Location {
	l := agent.Location{Local: r.Local, Restored: restored, Node: r.Node, URL: r.URLs[config.PortAgent]}
	if r.Local {
		l.Node, l.URL = a.c.NodeID(), a.c.URLs()[config.PortAgent]
	}
	return l
}
