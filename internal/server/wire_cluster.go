package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/confab/confab/internal/api/cometd"
	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/cluster"
	"github.com/confab/confab/internal/config"
	"github.com/confab/confab/internal/history"
	"github.com/confab/confab/internal/restore"
	"github.com/confab/confab/internal/routing"
	"github.com/confab/confab/internal/store"
)

// haHooks connect the cluster to the node; the zero value (no cluster)
// does nothing.
type haHooks struct {
	c   *cluster.Cluster
	own map[string]bool // sessions this node owned before its restart
	// noPush holds the sessions being restored without their push
	// notifications (session-restore-push-send, wire_haagent.go).
	noPush sync.Map
	// share routes queued chats across the nodes (wire_harouting.go).
	share  *cluster.RouteShare
	router *routing.Router
	// bayeux is the CometD server (set by buildCometD): its clients follow
	// their chat to this node (cometdLocate) and are moved when it leaves.
	bayeux *cometd.Server
	// handingOver is set when a drain found other live nodes to take the
	// sessions (the CometD server then refuses handshakes).
	handingOver atomic.Bool
}

func (h *haHooks) epochOf(id string) int64 {
	if h.c == nil {
		return 0
	}
	return h.c.Epoch(id)
}

// located names, in an interaction's attached data, the node that owns
// its session now (ChatServerAppName: the node's id) and gives the
// session's restoration token (ChatServerWebapiToken), as the reference
// updates the interaction at a restoration so desktops can rejoin.
func (h *haHooks) located(id string) (node, token string) {
	if h.c == nil {
		return "", ""
	}
	return h.c.NodeID(), h.c.WebapiToken(id)
}

func (h *haHooks) beforeClose(ctx context.Context, id string) error {
	if h.c == nil {
		return nil
	}
	return h.c.Release(ctx, id)
}

func (h *haHooks) keep(in store.Interaction) bool {
	return h.c == nil || h.own[in.ID]
}

func (h *haHooks) fenced(id string) {
	if h.c != nil {
		h.c.Lost(id)
	}
}

func (h *haHooks) started(ctx context.Context, addrs map[string]string) error {
	if h.c == nil {
		return nil
	}
	urls := map[string]string{}
	for id, addr := range addrs {
		urls[id] = "http://" + addr
	}
	if err := h.c.Start(ctx, urls); err != nil {
		return err
	}
	if h.share != nil {
		h.share.Start(h.router)
	}
	return nil
}

func (h *haHooks) stop(ctx context.Context) {
	if h.share != nil {
		h.share.Stop()
	}
	if h.c != nil {
		h.c.Stop(ctx)
	}
}

// buildCluster joins the node to the cluster when its store is shared
// (PostgreSQL): the node registers with a lease, owns the sessions it
// creates, forwards requests for sessions of live nodes, and claims and
// restores those of dead ones (package cluster).
func (s *Server) buildCluster(p *parts) error {
	own, ok := p.store.(store.Ownership)
	if !ok {
		return nil
	}
	id, err := nodeID(s.dataDir)
	if err != nil {
		return err
	}
	restoreOpts := func() restore.Options {
		return restore.Options{Engine: s.engine, Store: p.store, Mode: s.cfg.Load().Settings.SessionRestorationMode,
			Strip: stripRoutingKeys, OnlineKey: routing.KeyIsOnline, Log: s.log}
	}
	c := cluster.New(cluster.Options{
		Store: own, Clock: s.clock, NodeID: id, Lease: s.cfg.Load().Cluster.Lease, Log: s.log.With("part", "cluster"),
		Restore: func(ctx context.Context, sessionID string) error {
			if err := p.ha.restoreClaimed(ctx, s, restoreOpts(), sessionID); err != nil { // wire_haagent.go
				return err
			}
			p.adoptPush(ctx, s, sessionID)
			if p.customer != nil {
				p.customer.IndexKeys(sessionID) // key-only clients find it here (wire_clusterkeys.go)
			}
			return nil
		},
		Drop:       func(sessionID string) { p.dropSession(s, sessionID) },
		MayRestore: cluster.ExtendBy(func() string { return s.cfg.Load().Settings.SessionRestoreExtendBy }),
		Secrets:    p.store,
		Purge:      func() bool { return s.cfg.Load().Settings.SessionRestoreDoPurge },
	})
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Load().Cluster.Lease*3)
	defer cancel()
	if err := c.LoadTokenKey(ctx); err != nil { // the restored sessions' interactions carry their tokens
		return err
	}
	ids, err := c.ClaimOwn(ctx)
	if err != nil {
		return fmt.Errorf("cluster: reclaim this node's sessions: %w", err)
	}
	p.ha.c = c
	p.ha.own = make(map[string]bool, len(ids))
	for _, id := range ids {
		p.ha.own[id] = true
	}
	p.addJournal(c)
	if err := s.buildRouteShare(ctx, p, id); err != nil {
		return err
	}
	p.add(config.PortAgent, purgeRoute{c}, nil)                 // session-restore-do-purge requests from the others
	p.add(config.PortAgent, handoverRoute{c, p.ha.bayeux}, nil) // a CometD client elsewhere took a session
	p.say("cluster: node %s (lease %v)", id, s.cfg.Load().Cluster.Lease)
	return nil
}

// dropSession removes a session another node takes over from the engine
// and moves its customer's push sockets (closed with webapi.CloseMoved, so
// the client subscribes again through any node).
func (p *parts) dropSession(s *Server, id string) bool {
	had := s.engine.Drop(id)
	if p.files != nil {
		p.files.push.Forget(id) // its new owner resends what is pending
	}
	if p.router != nil {
		p.router.Forget(id) // its new owner routes it
	}
	if p.customer != nil {
		p.customer.Moved(id)
	}
	if p.agents != nil {
		p.agents.Moved(id) // restored frames once it lives elsewhere (wire_haagent.go)
	}
	if p.ha.bayeux != nil {
		p.ha.bayeux.Moved(id) // its CometD clients handshake again and resume
	}
	return had
}

// wrapCluster routes requests for sessions the engine does not hold.
func (h *haHooks) wrapCluster(s *Server, next http.Handler) http.Handler {
	if h.c == nil {
		return next
	}
	return h.c.Middleware(func(id string) bool {
		_, err := s.engine.Get(id)
		return err == nil
	}, next)
}

// nodeID returns the node's id, kept in <data dir>/node.id: the same across
// restarts, so a restarted node reclaims its own sessions at once.
func nodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node.id")
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("node id: %w", err)
	}
	var r [6]byte
	rand.Read(r[:])
	host, _ := os.Hostname()
	if host == "" {
		host = "node"
	}
	id := host + "-" + hex.EncodeToString(r[:])
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// drainAPI is POST /api/v1/drain (start draining) and GET /api/v1/drain
// (progress) on the agent listener, with the admin token.
type drainAPI struct {
	s *Server
	p *parts
}

func (d drainAPI) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/drain", d.serve)
	mux.HandleFunc("GET /api/v1/drain", d.serve)
}

func (d drainAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	want := ""
	if d.p.adminToken != nil {
		want = d.p.adminToken()
	}
	if want == "" || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"unauthorized","field":"Authorization"}` + "\n"))
		return
	}
	c := d.p.ha.c
	handed := 0
	if r.Method == http.MethodPost {
		d.s.ready.Store(false) // /readyz answers 503 from now on
		handOver, err := c.Drain(r.Context())
		if handOver {
			d.p.ha.handingOver.Store(true)
		}
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		if handOver {
			// The others claim these sessions as their customers and
			// workflows come back (through any node: this one forwards).
			for _, sess := range d.s.engine.Sessions() {
				if sess.State() == chat.Alive && d.p.dropSession(d.s, sess.ID()) {
					handed++
				}
			}
		}
	}
	// owned: the sessions the store still names this node the owner of;
	// the others take them over at their next lease renewal (eager
	// handover, package cluster), or they end.
	owned, err := c.StillOwned(r.Context())
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"node": c.NodeID(), "draining": c.Draining(), "handedOver": handed, "live": d.s.engine.Alive(), "owned": owned,
	})
}

// buildDrain mounts the drain API when the node is in a cluster.
func (s *Server) buildDrain(p *parts) error {
	if p.ha.c == nil {
		return nil
	}
	p.add(config.PortAgent, drainAPI{s: s, p: p}, nil)
	return nil
}

// pushOwner is the push service's ownership check in a cluster: a session
// is this node's when its owner row names this node (asked of the store,
// so a paused node learns it lost the session before it resends). Nil on a
// store nodes do not share.
func (s *Server) pushOwner(p *parts) func(ctx context.Context, sessionID string) (bool, error) {
	own, ok := p.store.(store.Ownership)
	if !ok {
		return nil
	}
	var once sync.Once
	var me string
	var meErr error
	return func(ctx context.Context, sessionID string) (bool, error) {
		once.Do(func() { me, meErr = nodeID(s.dataDir) })
		if meErr != nil {
			return false, meErr
		}
		o, err := own.GetOwner(ctx, sessionID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil // closed, or never owned
		}
		if err != nil {
			return false, err
		}
		return o.NodeID == me, nil
	}
}

// adoptPush carries on, on this node, with the pending reliable push
// notification of a session just claimed from another node.
func (p *parts) adoptPush(ctx context.Context, s *Server, id string) {
	if p.files == nil {
		return
	}
	if by := cluster.RestoredBy(ctx); (by == "agent" || by == "esp") && !s.cfg.Load().Settings.SessionRestorePushSend {
		return // push notifications stay off after this restoration (session-restore-push-send)
	}
	if ok, err := p.files.push.Adopt(ctx, id); err != nil {
		s.log.Warn("push: pending notification of a claimed session not adopted", "session", id, "err", err)
	} else if ok {
		s.log.Info("push: pending notification adopted with the session", "session", id)
	}
}

// purgeRoute mounts the cluster's purge requests on the agent listener.
type purgeRoute struct{ c *cluster.Cluster }

func (r purgeRoute) Register(mux *http.ServeMux) { mux.Handle(cluster.PurgePath, r.c.PurgeHandler()) }

// handoverRoute mounts the cluster's handover notices on the agent
// listener: a node whose CometD client took one of this node's sessions
// says so; the session's CometD clients here are replaced.
type handoverRoute struct {
	c      *cluster.Cluster
	bayeux *cometd.Server
}

func (r handoverRoute) Register(mux *http.ServeMux) {
	taken := func(string) {}
	if r.bayeux != nil {
		taken = func(id string) { r.bayeux.Taken(id) }
	}
	mux.Handle(cluster.HandoverPath, r.c.HandoverHandler(taken))
}

// cometdLocate is the CometD server's Locate: in a cluster, a chat the
// engine does not hold is taken to this node, where the Bayeux client
// lives (cluster.Take); elsewhere when this node drains. Only an operation
// carrying the chat's own secure key (checked against the stored session
// header) moves it: anyone else who knows a chat id cannot pull the chat
// away from its node; their operation then fails here as for an unknown
// chat.
func (h *haHooks) cometdLocate(s *Server) func(ctx context.Context, id, secureKey string) (bool, error) {
	return func(ctx context.Context, id, secureKey string) (bool, error) {
		if h.c == nil {
			return false, nil
		}
		if _, err := s.engine.Get(id); err == nil {
			return false, nil
		}
		if ok, err := storedKeyIs(ctx, s.parts.store, id, secureKey); err != nil || !ok {
			return false, err
		}
		_, err := h.c.Take(cluster.WithRestorer(ctx, "webapi"), id)
		if errors.Is(err, cluster.ErrElsewhere) {
			return true, nil
		}
		return false, err
	}
}

// draining reports whether the node drains (never outside a cluster).
func (h *haHooks) draining() bool { return h.c != nil && h.c.Draining() }

// handing reports whether the node drains into other live nodes.
func (h *haHooks) handing() bool { return h.draining() && h.handingOver.Load() }

// storedKeyIs reports whether key is the secure key of the stored session
// id (its first intermediate event carries the session header); false for
// a session with no stored events.
func storedKeyIs(ctx context.Context, st store.Store, id, key string) (bool, error) {
	rows, err := st.LoadEvents(ctx, id)
	if err != nil {
		return false, fmt.Errorf("load the events of %s: %w", id, err)
	}
	if len(rows) == 0 || rows[0].Position != 0 || key == "" {
		return false, nil
	}
	_, h, err := history.DecodeStored(rows[0].Data)
	if err != nil || h == nil || h.Secret == "" {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(h.Secret), []byte(key)) == 1, nil
}
