package cluster

import (
	"context"
	"errors"

	"github.com/confab/confab/internal/store"
)

// Sessions claimed away from a live node (lead finding 7). A node learnt
// that another node had claimed one of its sessions only when the store
// refused one of its own writes to it (fenced) or, with
// session-restore-do-purge, from a purge request. A node whose lease ended
// while it was alive (a slow store, a pause) and whose session was claimed
// by another node, but that wrote nothing more to it, kept its copy: the
// customer's push socket on it stayed open and silent while the chat went
// on at the new owner, so the messages acknowledged there never reached
// that customer (TestClusterScaleSIGKILL under load: acknowledged texts
// missing on push, chats at epoch 3).
//
// Now each renewal also reads how many claims have taken a session from
// this node (store.Claim counts them: claimCounter); when the count moved
// since the last renewal (or the renewal came after this node's lease had
// ended, for a store that does not count), the node compares the sessions
// it holds with the owner rows naming it, and drops (Lost: push sockets
// closed with CloseMoved, so clients subscribe again where the chat lives)
// every session whose owner row now carries a newer epoch. A session with
// no owner row is kept (a new one whose row is still queued, or one that
// closed).

// claimCounter is implemented by stores that count, per node, the claims
// that took a session from it (PostgreSQL: fence_claims).
type claimCounter interface {
	ClaimsFrom(ctx context.Context, nodeID string) (int64, error)
}

// checkClaimed runs after a successful renewal; lapsed says this node's
// lease had ended before it.
func (c *Cluster) checkClaimed(ctx context.Context, lapsed bool) {
	if cc, ok := c.opts.Store.(claimCounter); ok {
		n, err := cc.ClaimsFrom(ctx, c.opts.NodeID)
		if err != nil {
			c.opts.Log.Warn("cluster: claims of this node's sessions not read", "node", c.opts.NodeID, "err", err)
			return
		}
		c.mu.Lock()
		moved := !c.claimsKnown || n != c.claimsSeen
		c.claimsSeen, c.claimsKnown = n, true
		c.mu.Unlock()
		if !moved && !lapsed {
			return
		}
	} else if !lapsed {
		return
	}
	if err := c.dropClaimed(ctx); err != nil {
		c.opts.Log.Warn("cluster: looking for sessions claimed from this node", "node", c.opts.NodeID, "err", err)
	}
}

// dropClaimed drops the sessions this node holds whose owner row has a
// newer epoch than this node's.
func (c *Cluster) dropClaimed(ctx context.Context) error {
	owned, err := c.opts.Store.ListOwned(ctx, c.opts.NodeID)
	if err != nil {
		return err
	}
	rows := make(map[string]int64, len(owned))
	for _, o := range owned {
		rows[o.SessionID] = o.Epoch
	}
	held := map[string]int64{}
	c.mu.Lock()
	for id, e := range c.epochs {
		if rows[id] != e {
			held[id] = e
		}
	}
	c.mu.Unlock()
	var errs []error
	for id, e := range held {
		o, err := c.opts.Store.GetOwner(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue // new (its row still queued) or closed
		case err != nil:
			errs = append(errs, err)
			continue
		}
		if o.Epoch > e {
			c.lostAt(id, e)
		}
	}
	return errors.Join(errs...)
}

// lostAt is Lost for a session this node still holds at epoch.
func (c *Cluster) lostAt(id string, epoch int64) {
	c.mu.Lock()
	same := c.epochs[id] == epoch
	c.mu.Unlock()
	if same {
		c.Lost(id)
	}
}
