package cluster

import (
	"context"
	"fmt"
)

// Drain makes the node stop taking new sessions and hand the ones it holds
// to the other nodes: it marks itself draining in the registry (the others
// treat a draining owner as gone and claim its sessions at once, without
// waiting for its lease to end), and from then on requests that reach it
// for its sessions are forwarded to a live node, which claims and restores
// them. It reports whether another live node exists to take them; when
// none does, the node keeps its sessions until they end.
func (c *Cluster) Drain(ctx context.Context) (handOver bool, err error) {
	c.mu.Lock()
	c.draining = true
	c.mu.Unlock()
	if err := c.renew(ctx, c.opts.Clock.Now()); err != nil {
		return false, err
	}
	other, err := c.liveOther(ctx)
	if err != nil {
		return false, err
	}
	return other != nil, nil
}

// Draining reports whether Drain was called.
func (c *Cluster) Draining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining
}

// readNow: a node's lease is judged against the time BEFORE its registry
// row was read. The row is what the node had written by then; compared
// with the time after the read, a read that waited (for a pool
// connection, for a CPU under load) made a live node look dead: its
// renewal had landed meanwhile, unseen, and the reader claimed its
// sessions (a way for TestClusterDrainIntoTwo under load to find a
// survivor's chat claimed at epoch 3 though none of that survivor's
// renewals failed).
// A lease that ended before the read began did end; one read as running
// still ran when the read began.

// liveOther returns a live node other than this one that is not draining,
// or nil.
func (c *Cluster) liveOther(ctx context.Context) (map[string]string, error) {
	now := c.opts.Clock.Now() // before the read: see readNow
	nodes, err := c.opts.Store.ListNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	for _, n := range nodes {
		if n.ID != c.opts.NodeID && !n.Draining && now.Before(n.LeaseUntil) {
			return n.URLs, nil
		}
	}
	return nil, nil
}
