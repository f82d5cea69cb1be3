package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
	"github.com/confab/confab/internal/store"
)

// DefaultLease is how long a node's registration lasts unless renewed.
const DefaultLease = 10 * time.Second

// Options configure a Cluster.
type Options struct {
	Store  store.Ownership
	Clock  clock.Clock
	NodeID string
	// Lease is the node lease; it is renewed every third of it.
	Lease time.Duration
	// Restore rebuilds a session this node has just claimed from the store
	// into the engine.
	Restore func(ctx context.Context, sessionID string) error
	// Drop removes a session from the engine without closing it (this node
	// lost it to a newer owner).
	Drop func(sessionID string)
	// MayRestore, when set, decides whether a request may restore a
	// session of a dead owner here (session-restore-extend-by): api is
	// "webapi" or "esp", induce whether an ESP request asks for it
	// (InduceRestore). A refused request is served here, where the session
	// is not found. Nil allows every request.
	MayRestore func(api string, induce bool) bool
	// Secrets keeps the cluster's key of restoration tokens
	// (WebapiToken); nil: no tokens.
	Secrets store.Settings
	// Purge, when set, returns the live session-restore-do-purge: after a
	// claim and restoration the previous owner is asked to drop its copy
	// (purge.go).
	Purge func() bool
	Log   *slog.Logger
}

// Cluster is this node's membership and ownership.
type Cluster struct {
	opts Options

	mu     sync.Mutex // guards the following
	epochs map[string]int64
	// lost keeps the stale epoch of each session lost to a newer owner:
	// a copy still in use here (a party on a socket holds it) goes on
	// writing with it and is refused, never with 0, which is unfenced.
	lost     map[string]int64
	urls     map[string]string
	draining bool
	timer    clock.Timer
	stopped  bool
	leaseErr error // the last renewal's failure
	// leaseUntil is the end of the lease the last successful renewal
	// wrote (a renewal's deadline).
	leaseUntil time.Time
	// claimsSeen is the count of claims from this node read at the last
	// renewal, claimsKnown whether one was read (claimed.go).
	claimsSeen  int64
	claimsKnown bool
	claims      map[string]*claim
	taking      bool            // a TakeOver runs in the background
	rt          *http.Transport // forwarding; made on first use
	tokenKey    []byte          // restoration tokens' key (agent.go)

	purges sync.WaitGroup // purge requests in flight (purge.go)

	// bg counts the work the node runs on its own (a lease renewal and its
	// claims check, the background takeover), which Stop waits for; bgCtx
	// is their context, which Stop cancels. Work starts only while the
	// node is not stopped, checked under mu (so no Add follows Stop's Wait).
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// claim is a claim and restoration in progress, shared by concurrent
// requests for the same session.
type claim struct {
	done chan struct{}
	err  error
}

// New returns a Cluster; Start registers it.
func New(opts Options) *Cluster {
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	c := &Cluster{opts: opts, epochs: make(map[string]int64), lost: make(map[string]int64), claims: make(map[string]*claim)}
	c.bgCtx, c.bgCancel = context.WithCancel(context.Background())
	return c
}

// startBackground counts one piece of the node's own work for Stop to wait
// for; false once the node stopped (the work is not to run).
func (c *Cluster) startBackground() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return false
	}
	c.bg.Add(1)
	return true
}

// NodeID returns this node's id.
func (c *Cluster) NodeID() string { return c.opts.NodeID }

// Start registers the node with its listeners' base URLs and keeps its
// lease renewed until Stop.
func (c *Cluster) Start(ctx context.Context, urls map[string]string) error {
	c.mu.Lock()
	c.urls = urls
	c.mu.Unlock()
	if err := c.LoadTokenKey(ctx); err != nil {
		return err
	}
	start := c.opts.Clock.Now()
	if err := c.renew(ctx, start); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = c.opts.Clock.AfterFunc(c.nextRenewal(start, nil), c.tick)
	return nil
}

// Lease renewal (lead finding 7: a live node's lease ended under load and
// another node claimed its sessions). A renewal may take until the end of
// the lease it extends (its deadline is on the injected clock), not only a
// third of it, and the next one starts a third of the lease after the
// previous one STARTED (at once, after minRenewGap, when that has passed):
// it used to be given a third of the lease and the next one was scheduled a
// third of the lease after the previous one ENDED, so one renewal that timed
// out (or took longer than a third) left the node without a lease before the
// next one began. After a failure the node tries again after minRenewGap.
// The lease a renewal writes counts from the renewal's start, as before.

// minRenewGap is the shortest wait between two renewals, as a fraction of
// the lease: after a failed renewal, or one that took a third of the lease
// or longer.
const minRenewGap = 10

func (c *Cluster) tick() {
	if !c.startBackground() {
		return
	}
	defer c.bg.Done()
	start := c.opts.Clock.Now()
	c.mu.Lock()
	lapsed := !start.Before(c.leaseUntil)
	c.mu.Unlock()
	ctx, cancel := c.renewContext(start)
	err := c.renew(ctx, start)
	cancel()
	c.mu.Lock()
	c.leaseErr = err
	if err != nil {
		c.opts.Log.Error("cluster: lease not renewed", "node", c.opts.NodeID, "err", err)
	}
	if !c.stopped {
		c.timer = c.opts.Clock.AfterFunc(c.nextRenewal(start, err), c.tick)
	}
	c.mu.Unlock()
	if err == nil {
		// After the next renewal is scheduled: a slow check never delays it.
		ctx, cancel := context.WithTimeout(c.bgCtx, c.opts.Lease/3)
		c.checkClaimed(ctx, lapsed) // sessions other nodes claimed from this one (claimed.go)
		cancel()
		c.takeOverInBackground() // draining nodes' sessions (takeover.go)
	}
}

// renewContext is a renewal's context: it ends, on the injected clock,
// when the lease the node holds ends (a renewal then comes too late), or a
// third of the lease from start when that has passed already (the first
// renewal, or one after the lease ended).
func (c *Cluster) renewContext(start time.Time) (context.Context, context.CancelFunc) {
	c.mu.Lock()
	d := c.leaseUntil.Sub(start)
	c.mu.Unlock()
	if d < c.opts.Lease/3 {
		d = c.opts.Lease / 3
	}
	// A renewal never outlasts one lease of real time either (a fake
	// clock that nobody advances must not hang it).
	ctx, cancel := context.WithTimeout(c.bgCtx, c.opts.Lease)
	t := c.opts.Clock.AfterFunc(d, cancel)
	return ctx, func() { t.Stop(); cancel() }
}

// nextRenewal is the wait before the renewal after the one that started at
// start and ended with err.
func (c *Cluster) nextRenewal(start time.Time, err error) time.Duration {
	least := c.opts.Lease / minRenewGap
	if err != nil {
		return least
	}
	return max(c.opts.Lease/3-c.opts.Clock.Now().Sub(start), least)
}

func (c *Cluster) renew(ctx context.Context, start time.Time) error {
	c.mu.Lock()
	n := store.Node{ID: c.opts.NodeID, URLs: c.urls, LeaseUntil: start.Add(c.opts.Lease), Draining: c.draining}
	stopped := c.stopped
	c.mu.Unlock()
	if stopped {
		return nil
	}
	if err := c.opts.Store.PutNode(ctx, n); err != nil {
		return fmt.Errorf("cluster: register node %s: %w", n.ID, err)
	}
	c.mu.Lock()
	if n.LeaseUntil.After(c.leaseUntil) {
		c.leaseUntil = n.LeaseUntil
	}
	c.mu.Unlock()
	return nil
}

// Stop ends the lease at once, so the other nodes take this node's
// sessions over without waiting for it to expire. It first cancels and
// waits for the node's own work (a renewal running, the background
// takeover: nothing uses the store after Stop, which the caller closes
// next, and no renewal in flight writes a live lease after the ended one),
// as long as ctx lets it.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	if c.rt != nil {
		c.rt.CloseIdleConnections()
	}
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.bgCancel()
	done := make(chan struct{})
	go func() {
		c.bg.Wait()
		c.purges.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("cluster: stop %s: the node's background work did not end: %w", c.opts.NodeID, ctx.Err())
	}
	c.mu.Lock()
	n := store.Node{ID: c.opts.NodeID, URLs: c.urls, LeaseUntil: c.opts.Clock.Now(), Draining: true}
	c.mu.Unlock()
	if err := c.opts.Store.PutNode(ctx, n); err != nil {
		return fmt.Errorf("cluster: end the lease of %s: %w", n.ID, err)
	}
	return nil
}

// Epoch returns the owner epoch this node holds for a session — the
// stale one of a session it lost (writes with it are refused) — or 0 if
// it never owned it.
func (c *Cluster) Epoch(sessionID string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.epochs[sessionID]; ok {
		return e
	}
	return c.lost[sessionID]
}

// Owned returns how many sessions this node owns.
func (c *Cluster) Owned() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.epochs)
}

func (c *Cluster) setEpoch(id string, epoch int64) {
	c.mu.Lock()
	c.epochs[id] = epoch
	delete(c.lost, id)
	c.mu.Unlock()
}

// Lost is called when the store refused one of this node's writes to a
// session as fenced: another node owns it now. The local copy is dropped.
func (c *Cluster) Lost(sessionID string) {
	c.mu.Lock()
	epoch, had := c.epochs[sessionID]
	delete(c.epochs, sessionID)
	if had {
		c.lost[sessionID] = epoch
	}
	c.mu.Unlock()
	if had {
		c.opts.Log.Warn("cluster: session lost to a newer owner; local copy dropped", "session", sessionID, "node", c.opts.NodeID)
		if c.opts.Drop != nil {
			c.opts.Drop(sessionID)
		}
	}
}

// Release gives up a closed session's owner row (with the fencing check);
// ErrFenced if another node owns it. Sessions without an owner row this
// node holds are not an error.
func (c *Cluster) Release(ctx context.Context, sessionID string) error {
	c.mu.Lock()
	epoch, ok := c.epochs[sessionID]
	delete(c.epochs, sessionID)
	_, lost := c.lost[sessionID]
	delete(c.lost, sessionID)
	c.mu.Unlock()
	if lost {
		return store.ErrFenced // a copy of a session another node owns
	}
	if !ok {
		return nil
	}
	return c.opts.Store.Release(ctx, sessionID, epoch)
}

// Route says where a request for a session goes.
type Route struct {
	// Local: this node serves it (it owns the session, has just claimed and
	// restored it, or nobody owns it and the local handler answers).
	Local bool
	// Node and URLs name the live owner to forward to.
	Node string
	URLs map[string]string
	// Restored: this node has just claimed the session from a dead owner
	// and restored it (Local is set).
	Restored bool
}

// Resolve finds where a session this node does not hold in its engine is
// served: forwarded to a live owner, or claimed from a dead one and
// restored here.
func (c *Cluster) Resolve(ctx context.Context, sessionID string) (Route, error) {
	return c.resolve(ctx, sessionID, true, false)
}

// resolve is Resolve; with mayClaim false a dead owner's session is not
// claimed (Route{Local: true}: the handler finds no session). forwarded
// says another node sent the request here: a draining owner's session is
// then claimed here rather than sent on to its heir.
func (c *Cluster) resolve(ctx context.Context, sessionID string, mayClaim, forwarded bool) (Route, error) {
	for attempt := 0; attempt < 3; attempt++ {
		o, err := c.opts.Store.GetOwner(ctx, sessionID)
		if errors.Is(err, store.ErrNotFound) {
			return Route{Local: true}, nil // closed or unknown: the handler says so
		}
		if err != nil {
			return Route{}, err
		}
		if o.NodeID != c.opts.NodeID {
			asked := c.opts.Clock.Now() // before the read: see readNow
			n, err := c.opts.Store.GetNode(ctx, o.NodeID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return Route{}, err
			}
			if err == nil && asked.Before(n.LeaseUntil) && !n.Draining {
				return Route{Node: n.ID, URLs: n.URLs}, nil
			}
			if err == nil && n.Draining && mayClaim && !forwarded && !c.Draining() {
				// A draining owner's session goes to the node whose share
				// it is (the one its eager takeover picks), not to
				// whichever node was asked first.
				heir, urls, err := c.heirOf(ctx, sessionID)
				if err != nil {
					return Route{}, err
				}
				if heir != "" && heir != c.opts.NodeID {
					return Route{Node: heir, URLs: urls}, nil
				}
			}
			if mayClaim && c.Draining() {
				// A draining node claims nothing: it would hand the
				// session on at once, one epoch later (a survivor whose
				// lease lapses for a moment under load would see its chats
				// go to epoch 3 here and 4 at the next survivor, as
				// TestClusterDrainIntoTwo did). A dead owner's session
				// goes to the live node whose share it is; only with none
				// left does this node claim it.
				heir, urls, err := c.heirOf(ctx, sessionID)
				if err != nil {
					return Route{}, err
				}
				if heir != "" {
					return Route{Node: heir, URLs: urls}, nil
				}
			}
		} else if c.Draining() {
			// This node hands its sessions over: the live node whose share
			// it is (as for the eager takeover, takeover.go) claims it.
			urls, err := c.heir(ctx, sessionID)
			if err != nil {
				return Route{}, err
			}
			if urls != nil {
				return Route{Node: "another", URLs: urls}, nil
			}
			return Route{Local: true}, nil
		} else if c.Epoch(sessionID) == o.Epoch {
			// Ours; a claim still restoring it here is waited for, so the
			// handler finds the session (handover.go).
			if err := c.awaitClaim(ctx, sessionID); err != nil {
				return Route{}, err
			}
			return Route{Local: true}, nil
		}
		if !mayClaim {
			return Route{Local: true}, nil
		}
		err = c.claimAndRestore(ctx, o)
		if errors.Is(err, store.ErrConflict) {
			continue // another node was first: look again
		}
		if err != nil {
			return Route{}, err
		}
		return Route{Local: true, Restored: true}, nil
	}
	return Route{}, fmt.Errorf("cluster: session %s: ownership keeps changing", sessionID)
}

// claimAndRestore claims a session from its dead owner and restores it;
// concurrent requests for the same session share one claim.
func (c *Cluster) claimAndRestore(ctx context.Context, from store.Owner) error {
	c.mu.Lock()
	if cl := c.claims[from.SessionID]; cl != nil {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	cl := &claim{done: make(chan struct{})}
	c.claims[from.SessionID] = cl
	c.mu.Unlock()
	cl.err = c.claim(ctx, from)
	c.mu.Lock()
	delete(c.claims, from.SessionID)
	c.mu.Unlock()
	close(cl.done)
	return cl.err
}

func (c *Cluster) claim(ctx context.Context, from store.Owner) error {
	to, err := c.opts.Store.Claim(ctx, from, c.opts.NodeID)
	if err != nil {
		return err
	}
	c.setEpoch(from.SessionID, to.Epoch)
	c.opts.Log.Info("cluster: claimed session", "session", from.SessionID, "from", from.NodeID, "epoch", to.Epoch)
	if c.opts.Restore == nil {
		return nil
	}
	if err := c.opts.Restore(ctx, from.SessionID); err != nil {
		return fmt.Errorf("cluster: restore claimed session %s: %w", from.SessionID, err)
	}
	c.sendPurge(from)
	return nil
}

// ClaimOwn claims, at start, the sessions a previous run of this node
// owned (the data-directory lock proves that run is over) and returns them.
func (c *Cluster) ClaimOwn(ctx context.Context) ([]string, error) {
	owned, err := c.opts.Store.ListOwned(ctx, c.opts.NodeID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, o := range owned {
		to, err := c.opts.Store.Claim(ctx, o, c.opts.NodeID)
		if err != nil {
			c.opts.Log.Warn("cluster: own session not reclaimed", "session", o.SessionID, "err", err)
			continue
		}
		c.setEpoch(o.SessionID, to.Epoch)
		ids = append(ids, o.SessionID)
	}
	return ids, nil
}

// The chat.Journal methods: a new session gets its owner row (epoch 1)
// queued ahead of its first event; a restored one was claimed already.

// SessionCreated queues the owner row of a new session.
func (c *Cluster) SessionCreated(info *chat.Info) chat.Waiter {
	c.setEpoch(info.ID, 1)
	return c.ownNew(info) // keys.go
}

// SessionRestored: the claim made the owner row already.
func (c *Cluster) SessionRestored(*chat.Info) chat.Waiter { return nil }

// SessionUpdated is a no-op.
func (c *Cluster) SessionUpdated(*chat.Info) chat.Waiter { return nil }

// EventAppended is a no-op: the history journal writes the event with
// Epoch.
func (c *Cluster) EventAppended(string, *chat.Event) chat.Waiter { return nil }

// SessionClosed is a no-op: the history journal releases the owner row
// before it writes the closed record.
func (c *Cluster) SessionClosed(*chat.Final) chat.Waiter { return nil }

var (
	_ chat.Journal        = (*Cluster)(nil)
	_ chat.RestoreJournal = (*Cluster)(nil)
)
