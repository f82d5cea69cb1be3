package routing

import (
	"time"
)

// Routing across a cluster. With Options.Share set, the Router shares its
// queued interactions with the other nodes, takes theirs in as foreign
// routes that wait in the same queues (ordered by when they started
// waiting, so the longest-waiting chat of the cluster is offered first),
// and makes every offer of a queued interaction exclusive across the nodes:
// the offer is held back (pending, counted in the agent's load) until the
// share has reserved the interaction for this node; a refused reservation
// (another node offers it) leaves the route blocked until RetryBlocked. A
// reservation lasts the offer timeout plus reserveMargin, so the offers of
// a node that dies lapse by themselves. Transfers and invitations stay on
// the node of their session.
//
// An offered foreign interaction is accepted through the agent adapter's
// relay to its owner (whose Accept claims it atomically); RemoteJoined and
// RemoteLeft count the agent's chats on other nodes in its load.

// reserveMargin is how much longer than the offer a reservation lasts:
// the reservation's round trip happens before the offer's timeout starts,
// and the offer's end releases it. A dead node's offers lapse this long
// after their timeout.
const reserveMargin = 2 * time.Second

// Share is the cluster's shared routing state (package cluster implements
// it over the store). Its methods are called with routing's lock held:
// they must not block and must not call back into the Router; Reserve's
// done is called later, from another goroutine.
type Share interface {
	// Queued shares a queued interaction of this node, waiting since.
	Queued(in Interaction, since time.Time)
	// Dequeued withdraws it (accepted, held, ended, moved).
	Dequeued(id string)
	// Reserve asks for the exclusive right to offer interaction id for
	// ttl; done says whether this node has it.
	Reserve(id string, ttl time.Duration, done func(ok bool))
	// Release gives a reservation back.
	Release(id string)
	// ClaimDesk makes this node the holder of the agent's desk in the
	// cluster, unless another live node holds it (ok false); token
	// identifies the claim. Called by Login without routing's lock; it
	// may block on the store.
	ClaimDesk(agentID string) (token string, ok bool)
	// ReleaseDesk ends the claim made with token. Called by Logout
	// without routing's lock; it may block.
	ReleaseDesk(agentID, token string)
}

// Foreign is another node's queued interaction.
type Foreign struct {
	Interaction Interaction
	Node        string
	Since       time.Time
	// OfferedBy names the other node that offers it now ("" for none):
	// it is listed but not offered here until that offer ends.
	OfferedBy string
}

// seqNow is the arrival order of an entry made now: a counter on one
// node, the time itself in a cluster (the nodes' entries interleave by it).
func (r *Router) seqNow() uint64 {
	if r.opts.Share != nil {
		return uint64(r.clock.Now().UnixNano())
	}
	r.d.seq++
	return r.d.seq
}

// SetForeign replaces the foreign routes with list (the other live nodes'
// queued interactions, from the share): new ones join their queues, gone
// ones leave them (an open offer of one is revoked: taken). An interaction
// this node holds itself is never foreign.
func (r *Router) SetForeign(list []Foreign) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	seen := make(map[string]bool, len(list))
	for i := range list {
		f := &list[i]
		id := f.Interaction.ID
		seen[id] = true
		if rt := d.routes[id]; rt != nil {
			if rt.foreign != nil {
				rt.foreign = f
				r.holdForeignLocked(rt)
			}
			continue
		}
		if r.read(id, func(*ixn) {}) == nil {
			continue // this node's own (restored here, or moving)
		}
		f.Interaction.State = Queued
		rt := &route{id: id, queue: f.Interaction.Queue, foreign: f}
		rt.e = &entry{seq: uint64(f.Since.UnixNano()), idx: -1, rt: rt}
		d.routes[id] = rt
		r.holdForeignLocked(rt)
	}
	for id, rt := range d.routes {
		if rt.foreign != nil && !seen[id] {
			r.dropRouteLocked(id, ResultTaken)
		}
	}
}

// holdForeignLocked keeps a foreign route out of its queue while another
// node offers it, and puts it (back) in line otherwise.
func (r *Router) holdForeignLocked(rt *route) {
	d := &r.d
	switch {
	case rt.offer != nil: // offered here
	case rt.foreign.OfferedBy != "":
		if rt.e.idx >= 0 {
			d.queues[rt.queue].waiting.remove(rt.e.idx)
		}
		d.blocked[rt.id] = rt
	default:
		delete(d.blocked, rt.id)
		r.enqueueLocked(rt)
	}
}

// RetryBlocked puts this node's routes whose reservation another node held
// back into their queues again (foreign ones follow SetForeign).
func (r *Router) RetryBlocked() {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	for id, rt := range d.blocked {
		if rt.foreign != nil {
			continue
		}
		delete(d.blocked, id)
		if d.routes[id] == rt && rt.offer == nil {
			r.enqueueLocked(rt)
		}
	}
}

// reserved completes a pending offer once the share answered.
func (r *Router) reserved(o *offer, ok bool) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := o.agent
	if a.offers[o.id] != o || !o.pending {
		if ok {
			r.opts.Share.Release(o.id) // the offer ended meanwhile
		}
		return
	}
	if !ok {
		delete(a.offers, o.id)
		rt := o.rt
		rt.offer = nil
		if d.routes[rt.id] == rt {
			d.blocked[rt.id] = rt // another node offers it: retried later
		}
		r.availLocked(a)
		return
	}
	o.pending = false
	r.sendOfferLocked(o, o.timeout)
}

// snapOf is the snapshot an offer of a route shows.
func (r *Router) snapOf(o *offer) Interaction {
	if o.rt != nil && o.rt.foreign != nil {
		return o.rt.foreign.Interaction
	}
	snap, _ := r.Get(o.id)
	return snap
}

// releaseLocked gives back the reservation of an offer shown to an agent
// that ended (a pending one is released when its answer comes).
func (r *Router) releaseLocked(o *offer) {
	if r.opts.Share != nil && o.rt != nil && !o.pending {
		r.opts.Share.Release(o.id)
	}
}

// RemoteJoined counts, in the agent's load, a session another node serves
// that the agent joined through the cluster (an offer of a foreign route
// accepted, or a chat pulled by id): the agent's open offer of it ends as
// accepted and its foreign route leaves the queue.
func (r *Router) RemoteJoined(id, agentID string) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := d.agents[agentID]
	if a == nil {
		return
	}
	if o := a.offers[id]; o != nil && o.rt != nil {
		delete(a.offers, id)
		o.stopTimer()
		r.releaseLocked(o)
		if !o.pending {
			d.counts.OffersAccepted++
		}
		o.rt.offer = nil
	}
	if rt := d.routes[id]; rt != nil && rt.foreign != nil {
		r.dropRouteLocked(id, ResultTaken)
	}
	a.assigned[id] = true
	r.availLocked(a)
}

// RemoteLeft ends what RemoteJoined counted: the agent left the session
// (or lost the node serving it); its idle time starts again.
func (r *Router) RemoteLeft(id, agentID string) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := d.agents[agentID]
	if a == nil || !a.assigned[id] {
		return
	}
	delete(a.assigned, id)
	a.since = r.clock.Now()
	r.availLocked(a)
}

// foreignWaiting returns the foreign routes of a queue ("" for all).
func (r *Router) foreignWaiting(queue string) []Interaction {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Interaction
	for _, rt := range d.routes {
		if rt.foreign != nil && (queue == "" || rt.queue == queue) {
			out = append(out, rt.foreign.Interaction)
		}
	}
	return out
}

// SetShare sets Options.Share (the cluster is built after the router);
// call it before the first session.
func (r *Router) SetShare(s Share) { r.opts.Share = s }
