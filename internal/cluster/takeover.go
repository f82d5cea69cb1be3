package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/confab/confab/internal/store"
)

// Eager handover. A draining node (or one that stopped gracefully: Stop
// marks it draining) keeps its owner rows until another node claims them.
// Every live node looks at the registry on each lease renewal and claims
// and restores, at once, its share of those sessions — without waiting for
// the draining node's lease to end or for the sessions' next request. The
// share is by a hash of the session id over the live, not draining nodes
// (sorted by id), so two survivors split a drained node's sessions and do
// not race for them; a request that comes first claims on demand as
// before, and the compare-and-set on the owner row settles any overlap.

// TakeOver claims and restores this node's share of the sessions that
// draining nodes still own, and returns how many it took. It is what each
// lease renewal runs; tests and the drain call it directly.
func (c *Cluster) TakeOver(ctx context.Context) (int, error) {
	if c.Draining() {
		return 0, nil
	}
	now := c.opts.Clock.Now() // before the read: see readNow
	nodes, err := c.opts.Store.ListNodes(ctx)
	if err != nil {
		return 0, err
	}
	takers := []string{c.opts.NodeID}
	var from []string
	for _, n := range nodes {
		switch {
		case n.ID == c.opts.NodeID:
		case n.Draining:
			from = append(from, n.ID)
		case now.Before(n.LeaseUntil):
			takers = append(takers, n.ID)
		}
	}
	slices.Sort(takers)
	taken := 0
	var errs []error
	for _, id := range from {
		owned, err := c.opts.Store.ListOwned(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, o := range owned {
			if shareOf(o.SessionID, takers) != c.opts.NodeID || c.isStopped() {
				continue
			}
			err := c.claimAndRestore(ctx, o)
			switch {
			case err == nil:
				taken++
			case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
				// Claimed on demand meanwhile, or closed.
			default:
				errs = append(errs, err)
			}
			if ctx.Err() != nil {
				return taken, ctx.Err()
			}
		}
	}
	if taken > 0 {
		c.opts.Log.Info("cluster: took over sessions of draining nodes", "node", c.opts.NodeID, "sessions", taken)
	}
	return taken, errors.Join(errs...)
}

// heir returns the URLs of the node that takes a session of this
// (draining) node: the live, not draining node whose share it is; nil if
// there is none.
func (c *Cluster) heir(ctx context.Context, sessionID string) (map[string]string, error) {
	_, urls, err := c.heirOf(ctx, sessionID)
	return urls, err
}

// heirOf returns the live, not draining node (this one included, when it
// is not draining) whose share a session is, and its URLs; "" if there is
// none.
func (c *Cluster) heirOf(ctx context.Context, sessionID string) (string, map[string]string, error) {
	now := c.opts.Clock.Now() // before the read: see readNow
	nodes, err := c.opts.Store.ListNodes(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("cluster: list nodes: %w", err)
	}
	urls := map[string]map[string]string{}
	var takers []string
	for _, n := range nodes {
		if n.ID == c.opts.NodeID {
			continue // added below unless draining: the registry may lag
		}
		if !n.Draining && now.Before(n.LeaseUntil) {
			takers = append(takers, n.ID)
			urls[n.ID] = n.URLs
		}
	}
	if !c.Draining() {
		takers = append(takers, c.opts.NodeID)
	}
	if len(takers) == 0 {
		return "", nil, nil
	}
	slices.Sort(takers)
	h := shareOf(sessionID, takers)
	return h, urls[h], nil
}

// shareOf returns the node of takers (sorted, not empty) that takes a
// session.
func shareOf(sessionID string, takers []string) string {
	h := fnv.New32a()
	h.Write([]byte(sessionID))
	return takers[int(h.Sum32()%uint32(len(takers)))]
}

func (c *Cluster) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// takeOverInBackground runs TakeOver off the renewal, one at a time, until
// Stop, which cancels it and waits for it.
func (c *Cluster) takeOverInBackground() {
	c.mu.Lock()
	if c.taking || c.stopped || c.draining {
		c.mu.Unlock()
		return
	}
	c.taking = true
	c.bg.Add(1) // Stop waits for it (cluster.go); not stopped, checked above under mu
	c.mu.Unlock()
	go func() {
		defer c.bg.Done()
		defer func() {
			c.mu.Lock()
			c.taking = false
			c.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(c.bgCtx, 4*c.opts.Lease)
		defer cancel()
		if _, err := c.TakeOver(ctx); err != nil && !c.isStopped() {
			c.opts.Log.Warn("cluster: taking over a draining node's sessions", "node", c.opts.NodeID, "err", err)
		}
	}()
}

// StillOwned returns how many sessions the store still names this node as
// the owner of (a drain's progress: it reaches 0 once the others have
// taken them all, or the last one ended).
func (c *Cluster) StillOwned(ctx context.Context) (int, error) {
	owned, err := c.opts.Store.ListOwned(ctx, c.opts.NodeID)
	return len(owned), err
}
