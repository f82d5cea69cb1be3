package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/confab/confab/internal/store"
)

// Purge after restoration (session-restore-do-purge). When a node claims
// and restores a session whose previous owner may still be running — its
// lease ended while it was paused or cut off, or a load balancer sent the
// session's traffic elsewhere — it asks that node to drop its copy at once
// instead of at its next write (which the store would refuse as fenced):
// POST {agent URL}/cluster/v1/purge/{sessionID}. The asked node takes the
// request only as a hint: it drops the session only if the store's owner
// row names another node, so a purge can never remove a session its node
// still owns, whoever sends it. The request is sent in the background,
// bounded by purgeTimeout; Stop waits for those in flight.

// PurgePath is the route of purge requests on the agent listener.
const PurgePath = "/cluster/v1/purge/"

const purgeTimeout = 3 * time.Second

// sendPurge asks the node that owned a session before this node claimed it
// to drop its copy, when session-restore-do-purge is on.
func (c *Cluster) sendPurge(from store.Owner) {
	if c.opts.Purge == nil || !c.opts.Purge() || from.NodeID == c.opts.NodeID || from.NodeID == "" {
		return
	}
	c.purges.Add(1)
	go func() {
		defer c.purges.Done()
		ctx, cancel := context.WithTimeout(context.Background(), purgeTimeout)
		defer cancel()
		n, err := c.opts.Store.GetNode(ctx, from.NodeID)
		if err != nil || n.URLs["agent"] == "" {
			return // gone for good, or it never served the agent API
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URLs["agent"]+PurgePath+url.PathEscape(from.SessionID), nil)
		if err != nil {
			return
		}
		req.Header.Set(ForwardedBy, c.opts.NodeID)
		req.Close = true // one request: no idle connection left behind
		resp, err := (&http.Client{Transport: c.transport(), Timeout: purgeTimeout}).Do(req)
		if err != nil {
			c.opts.Log.Info("cluster: purge request not delivered", "session", from.SessionID, "to", from.NodeID, "err", err)
			return
		}
		resp.Body.Close()
		c.opts.Log.Info("cluster: purge requested", "session", from.SessionID, "to", from.NodeID, "status", resp.StatusCode)
	}()
}

// PurgeHandler serves purge requests: POST /cluster/v1/purge/{sessionID}.
// The session is dropped here only if the store says another node owns it
// now (or nobody does); the answer says whether a copy was dropped.
func (c *Cluster) PurgeHandler() http.Handler {
	return c.dropHandler(PurgePath, "purged", nil)
}

// dropHandler serves POST path{sessionID}: the node's copy of the session
// is dropped (Lost) unless the store says this node still owns it, after
// before(id) when the node held a copy; the JSON answer's field answer
// says whether it did. A store that does not answer is a 503.
func (c *Cluster) dropHandler(path, answer string, before func(sessionID string)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+path+"{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		w.Header().Set("Content-Type", "application/json")
		o, err := c.opts.Store.GetOwner(r.Context(), id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"error": "owner unknown: " + err.Error(), "field": "sessionId"})
			return
		case o.NodeID == c.opts.NodeID && o.Epoch == c.held(id):
			json.NewEncoder(w).Encode(map[string]any{answer: false, "reason": "this node owns the session"})
			return
		}
		had := c.held(id) != 0
		if had && before != nil {
			before(id)
		}
		c.Lost(id)
		json.NewEncoder(w).Encode(map[string]any{answer: had})
	})
	return mux
}

// held is the epoch at which this node holds a session as its owner, 0 if
// it does not (a session lost to another node is not held).
func (c *Cluster) held(sessionID string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epochs[sessionID]
}
