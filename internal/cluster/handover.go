package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/confab/confab/internal/store"
)

// Handover on request, for clients bound to one node. A CometD customer's
// Bayeux client lives on the node it handshook with (its client id and
// BAYEUX_BROWSER cookie mean nothing elsewhere, so load balancers keep a
// browser on one node), and its chat's events are followed from that
// node's engine. Such a client's operations therefore do not go to the
// chat's owner: the chat comes to the client. Take makes this node the
// owner — claiming a dead owner's session as a request does, and a live
// owner's too: the claim (a compare-and-set to the next epoch) fences the
// old owner's writes from then on, this node restores the session from the
// store, which holds every acknowledged event, and the old owner is asked
// at once (POST {agent URL}/cluster/v1/handover/{sessionID}) to drop its
// copy and to tell its own clients of the session where it went. A write
// the old owner had in flight commits before the claim (and is restored
// here) or is refused after it (and was never acknowledged): no gap, no
// duplicate.

// HandoverPath is the route of handover notices on the agent listener.
const HandoverPath = "/cluster/v1/handover/"

// ErrElsewhere is Take's answer on a draining node: it takes no session;
// the client is to go to another node.
var ErrElsewhere = errors.New("cluster: this node is draining; the session is served by another node")

// handoverTimeout bounds the notice to the previous owner.
const handoverTimeout = 3 * time.Second

// Take makes this node the owner of a session its engine does not hold, for
// a client bound to this node. A session nobody owns (closed or unknown)
// is left alone (false, nil: the handler says so); otherwise the session
// is claimed from its owner, dead or alive, restored here, and a live
// previous owner is told to drop its copy. It reports whether the session
// was restored here.
func (c *Cluster) Take(ctx context.Context, sessionID string) (bool, error) {
	if c.Draining() {
		return false, ErrElsewhere
	}
	for attempt := 0; attempt < 3; attempt++ {
		o, err := c.opts.Store.GetOwner(ctx, sessionID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if o.NodeID == c.opts.NodeID && c.Epoch(sessionID) == o.Epoch {
			// Ours already: a claim in progress here (shared below) or a
			// session the engine just closed.
			if err := c.awaitClaim(ctx, sessionID); err != nil {
				return false, err
			}
			return false, nil
		}
		live := false
		if o.NodeID != c.opts.NodeID {
			asked := c.opts.Clock.Now() // before the read: see readNow
			n, err := c.opts.Store.GetNode(ctx, o.NodeID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return false, err
			}
			live = err == nil && asked.Before(n.LeaseUntil)
		}
		err = c.claimAndRestore(ctx, o)
		if errors.Is(err, store.ErrConflict) {
			continue // another node was first: look again
		}
		if errors.Is(err, store.ErrNotFound) {
			return false, nil // closed meanwhile
		}
		if err != nil {
			return false, err
		}
		if live {
			c.sendHandover(ctx, o)
		}
		c.opts.Log.Info("cluster: session taken over for a client of this node", "session", sessionID, "from", o.NodeID, "live", live)
		return true, nil
	}
	return false, fmt.Errorf("cluster: session %s: ownership keeps changing", sessionID)
}

// awaitClaim waits for a claim of the session in progress on this node.
func (c *Cluster) awaitClaim(ctx context.Context, sessionID string) error {
	c.mu.Lock()
	cl := c.claims[sessionID]
	c.mu.Unlock()
	if cl == nil {
		return nil
	}
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendHandover tells the previous, live owner of a session this node has
// just taken to drop its copy now rather than at its next (fenced) write.
// Best effort and bounded: without it the old owner still learns it at
// that write.
func (c *Cluster) sendHandover(ctx context.Context, from store.Owner) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handoverTimeout)
	defer cancel()
	n, err := c.opts.Store.GetNode(ctx, from.NodeID)
	if err != nil || n.URLs["agent"] == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URLs["agent"]+HandoverPath+url.PathEscape(from.SessionID), nil)
	if err != nil {
		return
	}
	req.Header.Set(ForwardedBy, c.opts.NodeID)
	resp, err := (&http.Client{Transport: c.transport(), Timeout: handoverTimeout}).Do(req)
	if err != nil {
		c.opts.Log.Info("cluster: handover notice not delivered", "session", from.SessionID, "to", from.NodeID, "err", err)
		return
	}
	resp.Body.Close()
}

// HandoverHandler serves handover notices: POST
// /cluster/v1/handover/{sessionID}. As for a purge, the notice is only a
// hint: the copy is dropped only if the store says another node owns the
// session now. taken is called first with the session id, so the node's
// clients of it are told that another client took it (not merely that it
// moved); then the copy is dropped as a fenced write would (Lost).
func (c *Cluster) HandoverHandler(taken func(sessionID string)) http.Handler {
	return c.dropHandler(HandoverPath, "dropped", taken)
}
