package server

import (
	"context"
	"fmt"

	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/store"
)

// buildRouteShare makes routing cluster-wide when the store is shared
// (package cluster, routeshare.go): this node's queued interactions are
// offered to agents on every node, the other nodes' to agents here, each
// offer reserved in the store so no two agents are offered one chat. It
// runs in buildCluster, before any session exists.
func (s *Server) buildRouteShare(ctx context.Context, p *parts, nodeID string) error {
	rs, ok := p.store.(store.RouteShare)
	if !ok || p.router == nil {
		return nil
	}
	share := cluster.NewRouteShare(cluster.RouteShareOptions{Store: rs, NodeID: nodeID, Clock: s.clock,
		Log: s.log.With("part", "cluster-routing")})
	if err := share.Reset(ctx); err != nil {
		return fmt.Errorf("cluster routing: clear this node's old routes: %w", err)
	}
	p.router.SetShare(share)
	p.ha.share, p.ha.router = share, p.router
	return nil
}
