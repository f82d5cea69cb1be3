package cluster

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/confab/confab/internal/store"
)

// The agent side of the cluster: an agent socket on one node reaches a
// session owned by another (the agent adapter relays its operations to the
// owner), restores a dead owner's session when session-restore-extend-by
// lets desktops do it, and follows a session whose owner it lost to the
// node that restores it.

// tokenKeySetting is the store setting that keeps the cluster's key of
// restoration tokens (ChatServerWebapiToken), shared by every node.
const tokenKeySetting = "cluster.webapi-token-key"

// LoadTokenKey reads the cluster's token key, making it on the first start
// of the first node. A node calls it before it restores its sessions at
// start, so that their interactions' first writes carry their tokens;
// Start calls it when it was not called.
func (c *Cluster) LoadTokenKey(ctx context.Context) error {
	st := c.opts.Secrets
	c.mu.Lock()
	loaded := c.tokenKey != nil
	c.mu.Unlock()
	if st == nil || loaded {
		return nil
	}
	v, err := st.GetSetting(ctx, tokenKeySetting)
	if errors.Is(err, store.ErrNotFound) {
		// Insert if absent: of two first nodes starting at once, both
		// get the key the first insert stored.
		var b [32]byte
		rand.Read(b[:])
		v, err = st.InsertSetting(ctx, tokenKeySetting, base64.RawURLEncoding.EncodeToString(b[:]))
	}
	if err != nil {
		return fmt.Errorf("cluster: read the token key: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(key) < 16 {
		return fmt.Errorf("cluster: the stored token key is not valid")
	}
	c.mu.Lock()
	c.tokenKey = key
	c.mu.Unlock()
	return nil
}

// WebapiToken returns a session's restoration token (the interaction's
// ChatServerWebapiToken): a MAC of its id under the cluster's key, so any
// node can check it; "" when the cluster has no key.
func (c *Cluster) WebapiToken(sessionID string) string {
	c.mu.Lock()
	key := c.tokenKey
	c.mu.Unlock()
	if key == nil {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ChatServerWebapiToken\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// ValidToken reports whether tok is the session's restoration token.
func (c *Cluster) ValidToken(sessionID, tok string) bool {
	want := c.WebapiToken(sessionID)
	return want != "" && hmac.Equal([]byte(want), []byte(tok))
}

// LocateAgent is Resolve for an agent-socket join or accept of a session
// this node does not hold: a live owner's route, or, for a dead owner's
// session, a claim and restoration here when the join carries the
// session's token and session-restore-extend-by allows agents; otherwise
// Route{Local: true} (the handler finds no session). forwarded: the socket
// is another node's (a draining owner's session is claimed here rather
// than sent on).
func (c *Cluster) LocateAgent(ctx context.Context, sessionID, token string, forwarded bool) (Route, error) {
	induce := token != "" && c.ValidToken(sessionID, token)
	return c.resolve(WithRestorer(ctx, "agent"), sessionID, c.opts.MayRestore == nil || c.opts.MayRestore("agent", induce), forwarded)
}

// restorerKey is the context key of WithRestorer.
type restorerKey struct{}

// WithRestorer marks ctx with the API of the request that may restore a
// dead owner's session under it: "webapi" (a customer), "esp" (the
// workflow), "agent" (a desktop).
func WithRestorer(ctx context.Context, api string) context.Context {
	return context.WithValue(ctx, restorerKey{}, api)
}

// RestoredBy returns the API a restoration under ctx was asked by (see
// WithRestorer); "" for none (a restart, a drain's takeover). Options.Restore
// reads it: session-restore-push-send concerns the desktop's and the
// workflow's restorations only.
func RestoredBy(ctx context.Context) string {
	s, _ := ctx.Value(restorerKey{}).(string)
	return s
}

// URLs returns this node's listener URLs by port id.
func (c *Cluster) URLs() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls
}

// Followed is where a lost session lives again.
type Followed struct {
	Route
	Closed bool // the session has ended (no owner row)
	// Moved: its owner is no longer the node that was lost (it was
	// restored elsewhere, or here).
	Moved bool
}

// Follow waits until a session served by node lost (an agent socket's
// connection to it failed) has a live owner again, looking every third of
// the lease on the clock, and returns it: the lost node itself if it is
// alive after all, the node that claimed and restored the session, or this
// node, which claims and restores it itself when session-restore-extend-by
// lets desktops restore (the socket had a party in it). It ends with ctx.
func (c *Cluster) Follow(ctx context.Context, sessionID, lost string) (Followed, error) {
	// lost is this node when it handed the session over (drain) or lost
	// it to fencing: it waits for the new owner and never claims it back.
	self := lost == c.opts.NodeID
	mayClaim := !self && (c.opts.MayRestore == nil || c.opts.MayRestore("agent", true))
	ctx = WithRestorer(ctx, "agent")
	answered := false // the lost node answered once already
	for {
		o, err := c.opts.Store.GetOwner(ctx, sessionID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return Followed{Closed: true, Moved: true}, nil
		case err != nil:
			c.opts.Log.Warn("cluster: follow a lost session", "session", sessionID, "err", err)
		case o.NodeID == c.opts.NodeID:
			if !self && c.Epoch(sessionID) == o.Epoch {
				return Followed{Route: Route{Local: true, Restored: true}, Moved: true}, nil
			}
			// Still this node's in the store: the hand-over is to come.
		default:
			asked := c.opts.Clock.Now() // before the read: see readNow
			n, err := c.opts.Store.GetNode(ctx, o.NodeID)
			live := err == nil && asked.Before(n.LeaseUntil) && !n.Draining
			// The lost node within its lease but not answering is most
			// likely dead: its lease will end.
			if live && n.ID != lost {
				return Followed{Route: Route{Node: n.ID, URLs: n.URLs}, Moved: true}, nil
			}
			// The lost node within its lease is alive if it still answers
			// a while later: a node being killed can accept a connection
			// for a moment after its socket to this one was cut.
			if live && reachable(n.URLs["agent"]) {
				if answered {
					return Followed{Route: Route{Node: n.ID, URLs: n.URLs}}, nil
				}
				answered = true
			} else {
				answered = false
			}
			if !live && mayClaim && !c.Draining() { // a draining node never claims: the heir does (resolve)
				err := c.claimAndRestore(ctx, o)
				if err == nil {
					return Followed{Route: Route{Local: true, Restored: true}, Moved: true}, nil
				}
				if !errors.Is(err, store.ErrConflict) {
					c.opts.Log.Warn("cluster: restore a lost session", "session", sessionID, "err", err)
				}
			}
		}
		if err := c.sleep(ctx, c.opts.Lease/3); err != nil {
			return Followed{}, err
		}
	}
}

// reachable reports whether a node's listener accepts a connection (a
// node whose socket was lost but whose lease still runs may be alive).
func reachable(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// sleep waits d on the cluster's clock.
func (c *Cluster) sleep(ctx context.Context, d time.Duration) error {
	done := make(chan struct{})
	t := c.opts.Clock.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
