package agent

import (
	"context"
	"sync"
	"time"

	wire "github.com/confab/confab/client/agent"
	"github.com/confab/confab/internal/kv"
)

// ForwardedBy is the header of a socket another node opened on behalf of
// its own agent socket (the cluster's forwarding header): such a socket
// never relays again and logs no routing desk in.
const ForwardedBy = "X-Confab-Forwarded-By"

// Cluster is what the agent protocol needs of a cluster of nodes (package
// cluster, through the server's wiring); nil on a single node.
type Cluster interface {
	// NodeID is this node's id.
	NodeID() string
	// Locate says where a session this node does not hold is served: here
	// (Local: it was just claimed from a dead owner and restored, or it is
	// unknown and the local handler answers), or at a live owner's agent
	// listener (Node, URL). token is the ChatServerWebapiToken the join
	// carried ("" if none): with a valid one, and session-restore-extend-by
	// agent or both, a dead owner's session is restored here. forwarded:
	// the socket is another node's (the cluster claims a draining owner's
	// session here rather than sending it on).
	Locate(ctx context.Context, sessionID, token string, forwarded bool) (Location, error)
	// Follow waits, after the socket to node lost, until the session has
	// a live owner again (another node restored it, or this one did when
	// session-restore-extend-by lets agents restore) or has ended.
	Follow(ctx context.Context, sessionID, lost string) (Location, error)
	// Token is the session's ChatServerWebapiToken.
	Token(sessionID string) string
}

// Location is where a session is served.
type Location struct {
	Local    bool // here
	Closed   bool // Follow: the session has ended
	Restored bool // it was restored after its owner failed
	Node     string
	URL      string // the owner's agent listener (base URL)
}

// relayOps are the operations relayed to the owner of a session this
// socket reaches through another node; entering ops are those that put the
// socket in a session.
var (
	relayOps = map[string]bool{
		wire.OpAccept: true, wire.OpJoin: true, wire.OpSend: true, wire.OpNotify: true, wire.OpRelease: true,
		wire.OpTransfer: true, wire.OpInvite: true, wire.OpMonitor: true, wire.OpCoach: true,
		wire.OpBargeIn: true, wire.OpHold: true,
	}
	enteringOps = map[string]bool{
		wire.OpAccept: true, wire.OpJoin: true, wire.OpMonitor: true, wire.OpCoach: true, wire.OpBargeIn: true,
	}
)

// upstream is this socket's own agent socket to another node, on which
// the operations on that node's sessions are relayed: answers come back to
// their requests, events frames go to this socket as they arrive.
type upstream struct {
	node, url string
	cl        *wire.Client

	mu    sync.Mutex // guards the following
	waits map[string]*relayWait
}

// relayWait is a relayed request waiting for its answer.
type relayWait struct {
	frame wire.Frame
	done  chan struct{} // closed when frame is set
	sent  chan struct{} // closed when the answer is queued to this socket
}

// remote is this socket's party in a session served by another node.
type remote struct {
	up      *upstream
	userID  string
	joinPos int // position of its newParty (see member)
}

// reqSession is the session a request addresses.
func reqSession(req *request) string {
	if req.SessionID != "" {
		return req.SessionID
	}
	return req.InteractionID
}

// routeRemote relays a request for a session that lives on another node of
// the cluster; it reports false when the request is applied here.
func (c *conn) routeRemote(req *request) (pendingAck, bool) {
	cl := c.h.opts.Cluster
	if cl == nil || !relayOps[req.Op] {
		return pendingAck{}, false
	}
	id := reqSession(req)
	if id == "" {
		return pendingAck{}, false
	}
	if r := c.remoteOf(id); r != nil && !c.forwarded {
		return c.relay(r.up, req, id), true
	}
	if !enteringOps[req.Op] || c.member(id) != nil {
		return pendingAck{}, false
	}
	if _, err := c.h.opts.Engine.Get(id); err == nil {
		return pendingAck{}, false
	}
	ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
	loc, err := cl.Locate(ctx, id, webapiToken(req.userData), c.forwarded)
	cancel()
	if err != nil {
		return c.failed(req, fail(wire.CodeNodeDown, "", "session %s cannot be located in the cluster now: %v", id, err)), true
	}
	if loc.Local || loc.URL == "" || c.forwarded {
		return pendingAck{}, false // a forwarded socket never relays again
	}
	up, err := c.upstreamTo(loc)
	if err != nil {
		return c.failed(req, fail(wire.CodeNodeDown, "", "node %s serving session %s did not answer: %v", loc.Node, id, err)), true
	}
	c.setRemote(id, &remote{up: up}) // before the answer: the next frames relay too
	return c.relay(up, req, id), true
}

// webapiToken is the ChatServerWebapiToken of a join's user data.
func webapiToken(ud kv.Map) string { return ud.String(wire.KeyWebapiToken) }

func (c *conn) failed(req *request, e *opError) pendingAck {
	return pendingAck{id: req.ID, frame: errorFrame(req.ID, req.Op, e)}
}

// relay sends the request, as it came, on the upstream; its answer is
// queued in order by the acknowledger (answer).
func (c *conn) relay(up *upstream, req *request, sessionID string) pendingAck {
	w := &relayWait{done: make(chan struct{}), sent: make(chan struct{})}
	up.mu.Lock()
	up.waits[req.ID] = w
	up.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, c.h.opts.WriteTimeout)
	err := up.cl.WriteRaw(ctx, req.raw, false)
	cancel()
	if err != nil {
		up.mu.Lock()
		delete(up.waits, req.ID)
		up.mu.Unlock()
		if enteringOps[req.Op] {
			c.dropRemote(sessionID, up)
		}
		return c.failed(req, fail(wire.CodeNodeDown, "", "node %s serving session %s did not answer: %v", up.node, sessionID, err))
	}
	op := req.Op
	return pendingAck{id: req.ID, relay: w, after: func() {
		c.relayed(op, sessionID, up, w.frame)
		close(w.sent)
	}}
}

// relayed updates the socket's remote sessions after a relayed answer.
func (c *conn) relayed(op, sessionID string, up *upstream, f wire.Frame) {
	switch {
	case f.Type == wire.FrameError && enteringOps[op]:
		c.dropRemote(sessionID, up)
	case f.Type == wire.FrameResult && enteringOps[op]:
		c.mu.Lock()
		r := c.remotes[sessionID]
		if r != nil && r.up == up {
			r.userID = f.UserID
			if f.Pos != nil {
				r.joinPos = *f.Pos
			}
		}
		c.mu.Unlock()
		if r != nil && r.up == up {
			// The chat counts in the agent's load here (its open offer
			// of it, from the cluster's routing, ends as accepted).
			c.h.opts.Router.RemoteJoined(sessionID, c.agent.ID)
		}
	case f.Type == wire.FrameResult && (op == wire.OpRelease || op == wire.OpHold):
		c.dropRemote(sessionID, up)
	}
}

// waitRelay waits for a relayed request's answer.
func (c *conn) waitRelay(a *pendingAck) {
	t := time.NewTimer(ackTimeout)
	defer t.Stop()
	select {
	case <-a.relay.done:
		a.frame = a.relay.frame
	case <-t.C:
		a.frame = errorFrame(a.id, "", fail(wire.CodeNodeDown, "", "the node serving the session did not answer in %v", ackTimeout))
	case <-c.ctx.Done():
	}
}

// upstreamTo returns the socket's upstream to a node, dialling it with the
// agent's own token on first use.
func (c *conn) upstreamTo(loc Location) (*upstream, error) {
	c.mu.Lock()
	up := c.ups[loc.URL]
	c.mu.Unlock()
	if up != nil {
		return up, nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, storeTimeout)
	defer cancel()
	hdr := map[string][]string{ForwardedBy: {c.h.opts.Cluster.NodeID()}}
	cl, err := wire.Dial(ctx, loc.URL, c.token, &wire.Options{FrameBuffer: c.h.opts.Queue, Header: hdr})
	if err != nil {
		return nil, err
	}
	up = &upstream{node: loc.Node, url: loc.URL, cl: cl, waits: map[string]*relayWait{}}
	c.mu.Lock()
	if old := c.ups[loc.URL]; old != nil || c.ctx.Err() != nil {
		c.mu.Unlock()
		cl.Close()
		if old == nil {
			return nil, c.ctx.Err()
		}
		return old, nil
	}
	c.ups[loc.URL] = up
	c.mu.Unlock()
	c.wg.Add(1)
	go c.pumpUpstream(up)
	return up, nil
}

// pumpUpstream hands the upstream's answers to their requests and its
// events to this socket, until the upstream ends; then the sessions it
// served are followed to wherever they are restored.
func (c *conn) pumpUpstream(up *upstream) {
	defer c.wg.Done()
	for f := range up.cl.Frames() {
		if (f.Type == wire.FrameResult || f.Type == wire.FrameError) && f.ID != "" {
			up.mu.Lock()
			w := up.waits[f.ID]
			delete(up.waits, f.ID)
			up.mu.Unlock()
			if w != nil {
				w.frame = f
				close(w.done)
				// The answer leaves before the events that follow it.
				select {
				case <-w.sent:
				case <-c.ctx.Done():
					return
				}
				continue
			}
		}
		if f.Type == wire.FrameEvents {
			c.remoteEvents(up, f)
		}
		if f.Type == wire.FrameRestored {
			c.dropRemote(f.SessionID, up) // it moved on from that node
		}
		if f.Type == wire.FrameHello || f.Type == wire.FrameState {
			continue
		}
		if !c.enqueue(f) {
			return
		}
	}
	c.upstreamLost(up)
}

// remoteEvents drops the socket's remote session once its party left it
// or it closed.
func (c *conn) remoteEvents(up *upstream, f wire.Frame) {
	c.mu.Lock()
	r := c.remotes[f.SessionID]
	c.mu.Unlock()
	if r == nil || r.up != up {
		return
	}
	gone := f.State == "closed"
	for _, ev := range f.Events {
		gone = gone || (ev.Kind == "partyLeft" && ev.From.UserID != "" && ev.From.UserID == r.userID && ev.Pos > r.joinPos)
	}
	if gone {
		c.dropRemote(f.SessionID, up)
	}
}

// upstreamLost fails the requests waiting on a lost upstream and follows
// each of its sessions: once it lives again (restored on another node or
// here) the socket gets a restored frame saying where.
func (c *conn) upstreamLost(up *upstream) {
	c.mu.Lock()
	if c.ups[up.url] == up {
		delete(c.ups, up.url)
	}
	var lost []string
	for id, r := range c.remotes {
		if r.up == up {
			lost = append(lost, id)
			delete(c.remotes, id)
		}
	}
	c.mu.Unlock()
	for _, id := range lost {
		c.h.opts.Router.RemoteLeft(id, c.agent.ID) // it rejoins after a restoration
	}
	up.mu.Lock()
	for id, w := range up.waits {
		w.frame = errorFrame(id, "", fail(wire.CodeNodeDown, "", "node %s serving the session failed; try again", up.node))
		close(w.done)
		delete(up.waits, id)
	}
	up.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	c.h.log.Warn("agent: node serving sessions of this socket lost", "agent", c.agent.ID, "node", up.node, "sessions", len(lost))
	for _, id := range lost {
		c.goFollow(id, up.node)
	}
}

// goFollow starts following a session, unless the socket is ending.
func (c *conn) goFollow(id, lost string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	c.wg.Add(1)
	go c.follow(id, lost)
}

// Moved tells the sockets in a session that this node no longer holds it
// (a drain handed it over, or another node fenced this one): each stops
// watching it and follows it to its new owner, then gets a restored frame
// (a socket another node opened passes it on to that node's socket).
func (h *Handler) Moved(sessionID string) {
	if h.opts.Cluster == nil {
		return
	}
	h.mu.Lock()
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		m := c.members[sessionID]
		if m != nil {
			delete(c.members, sessionID)
		}
		c.mu.Unlock()
		if m != nil {
			close(m.stop)
			c.goFollow(sessionID, h.opts.Cluster.NodeID())
		}
	}
}

// follow waits for a lost session's new home and tells the socket.
func (c *conn) follow(sessionID, node string) {
	defer c.wg.Done()
	loc, err := c.h.opts.Cluster.Follow(c.ctx, sessionID, node)
	if err != nil {
		if c.ctx.Err() == nil {
			c.h.log.Warn("agent: lost session not found again", "session", sessionID, "err", err)
		}
		return
	}
	c.enqueue(c.restoredFrame(sessionID, loc))
}

// restoredFrame says where a session this socket lost lives now.
func (c *conn) restoredFrame(sessionID string, loc Location) wire.Frame {
	f := wire.Frame{Type: wire.FrameRestored, SessionID: sessionID, Node: loc.Node, URL: loc.URL,
		Restored: loc.Restored, State: "alive"}
	if loc.Local {
		f.Node = c.h.opts.Cluster.NodeID()
	}
	if loc.Closed {
		f.State = "closed"
	}
	return f
}

func (c *conn) remoteOf(id string) *remote {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.remotes[id]
}

func (c *conn) setRemote(id string, r *remote) {
	c.mu.Lock()
	c.remotes[id] = r
	c.mu.Unlock()
}

func (c *conn) dropRemote(id string, up *upstream) {
	c.mu.Lock()
	r := c.remotes[id]
	if r != nil && r.up == up {
		delete(c.remotes, id)
	}
	c.mu.Unlock()
	if r != nil && r.up == up {
		c.h.opts.Router.RemoteLeft(id, c.agent.ID)
	}
}

// closeUpstreams closes the socket's upstreams: the other nodes remove its
// parties as disconnected.
func (c *conn) closeUpstreams() {
	c.mu.Lock()
	ups := c.ups
	c.ups = map[string]*upstream{}
	c.remotes = map[string]*remote{}
	c.mu.Unlock()
	for _, up := range ups {
		up.cl.Close()
	}
}

// SetCluster gives the handler the cluster; it is called before the
// handler serves.
func (h *Handler) SetCluster(c Cluster) { h.opts.Cluster = c }
