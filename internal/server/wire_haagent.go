package server

import (
	"context"
	"fmt"

	"github.com/confab/confab/internal/api/agent"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/restore"
)

// restoreClaimed restores a session this node has just claimed from a dead
// owner. After a desktop's or the workflow's restoration (cluster.RestoredBy
// agent or esp) with session-restore-push-send off, the customer's push
// notifications are not resumed and the customer is timed with
// flex-disconnect-timeout, as the reference does; a customer's own request,
// a restart or a drain's takeover resumes them (push subscriptions follow
// flex-push-on-join as at creation).
func (h *haHooks) restoreClaimed(ctx context.Context, s *Server, opts restore.Options, id string) error {
	by := cluster.RestoredBy(ctx)
	off := (by == "agent" || by == "esp") && !s.cfg.Load().Settings.SessionRestorePushSend
	if !off {
		return restore.One(ctx, opts, id)
	}
	h.noPush.Store(id, true)
	defer h.noPush.Delete(id)
	if err := restore.One(ctx, opts, id); err != nil {
		return err
	}
	sess, err := s.engine.Get(id)
	if err != nil {
		return nil // closed by the restoration
	}
	for _, p := range sess.Info().Participants {
		if p.Type == chat.Client && p.Protocol == chat.Flex && !p.Left {
			if err := sess.SetPushSubscribed(p.UserID, false); err != nil {
				return fmt.Errorf("restore %s without push notifications: %w", id, err)
			}
		}
	}
	return nil
}

// resumePush is the push service's Resume: false while a session is
// restored without its push notifications.
func (h *haHooks) resumePush(id string) bool {
	_, off := h.noPush.Load(id)
	return !off
}

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
