package routing

import (
	"slices"
	"sync"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/clock"
)

// dispatcher holds the routing state of the node: the logged-in agents,
// the queues with their waiting interactions and available agents, the
// open offers, transfers, invitations and workbins.
//
// Lock order: a session lock, then d.mu, then a shard lock, then the
// stream's or the writer's lock. Code holding a shard lock never takes
// d.mu; code holding d.mu never takes a session lock.
type dispatcher struct {
	mu        sync.Mutex // guards everything below and every record reachable from it
	agents    map[string]*agentRec
	queues    map[string]*queueRec
	routes    map[string]*route          // queued interactions, by id
	asks      map[askKey]*ask            // open transfers and invitations
	parked    map[string][]*route        // routes waiting for one agent, by agent id
	looked    map[string]bool            // interactions whose last agent was looked up
	bins      map[string]map[string]bool // workbin owner → interaction ids
	binOf     map[string]string          // interaction id → workbin owner
	pending   map[*queueRec]bool         // queues to dispatch before the lock is released
	blocked   map[string]*route          // routes another node offers (share.go), until RetryBlocked
	seq       uint64                     // arrival order
	resolving int                        // last-agent look-ups running
	counts    Counters
}

// Counters count routing's work since start.
type Counters struct {
	Offers         int64            `json:"offers"`
	OffersAccepted int64            `json:"offersAccepted"`
	OffersRejected int64            `json:"offersRejected"`
	OffersExpired  int64            `json:"offersExpired"`
	OffersRevoked  int64            `json:"offersRevoked"`
	Transfers      int64            `json:"transfers"`
	Invites        int64            `json:"invites"`
	Holds          int64            `json:"holds"`
	Wakes          int64            `json:"wakes"`
	StateChanges   map[string]int64 `json:"stateChanges"`
}

func (d *dispatcher) init() {
	d.agents = map[string]*agentRec{}
	d.queues = map[string]*queueRec{}
	d.routes = map[string]*route{}
	d.asks = map[askKey]*ask{}
	d.parked = map[string][]*route{}
	d.looked = map[string]bool{}
	d.bins = map[string]map[string]bool{}
	d.binOf = map[string]string{}
	d.pending = map[*queueRec]bool{}
	d.blocked = map[string]*route{}
	d.counts.StateChanges = map[string]int64{}
}

// agentRec is one logged-in agent.
type agentRec struct {
	acc    Account
	sink   Sink
	state  AgentState
	reason string
	// since orders the available agents of a queue, longest idle first:
	// when the agent became ready or last finished a chat.
	since    time.Time
	assigned map[string]bool   // interactions the agent is in
	offers   map[string]*offer // open offers, by interaction id
	expired  map[string]bool   // offers that expired, until the agent is ready again
	pos      map[string]int    // index in each queue's heap of available agents
	// deskToken is the cluster's claim of this agent's desk (share.go).
	deskToken string
}

func (a *agentRec) load() int { return len(a.assigned) + len(a.offers) }

func (a *agentRec) available() bool {
	return a.state == StateReady && a.load() < a.acc.Capacity
}

func (a *agentRec) bot() bool { return a.acc.Type == "BOT" }

// queueRec is one queue: its waiting entries in order of arrival and its
// available agents, longest idle first (bots apart, for bot-first).
type queueRec struct {
	name    string
	waiting heap[*entry]
	humans  heap[*agentRec]
	bots    heap[*agentRec]
	desks   int // logged-in desks serving the queue
}

// entry is something waiting in a queue: a routed interaction or a
// transfer or invitation to the queue.
type entry struct {
	seq uint64
	idx int
	rt  *route
	ask *ask
}

func (e *entry) id() string {
	if e.rt != nil {
		return e.rt.id
	}
	return e.ask.id
}

// route is a queued interaction.
type route struct {
	id, queue string
	e         *entry
	offer     *offer
	rejected  map[string]bool
	resolving bool        // waiting for its last agent to be looked up
	parkedOn  string      // agent id it waits for (wake), or ""
	parkTimer clock.Timer // ends the wait for parkedOn
	foreign   *Foreign    // another node's interaction (share.go), or nil
}

// offer is an open offer to one agent.
type offer struct {
	kind    OfferKind
	id      string // interaction
	agent   *agentRec
	rt      *route // route kinds
	ask     *ask   // transfer and invite
	expires time.Time
	timer   clock.Timer // nil while pending
	// pending: held back until the cluster's share reserves the
	// interaction (share.go); the agent has not been told, timeout is the
	// offer's once it is.
	pending bool
	timeout time.Duration
}

func (o *offer) stopTimer() {
	if o.timer != nil {
		o.timer.Stop()
	}
}

func (r *Router) queueLocked(name string) *queueRec {
	d := &r.d
	q := d.queues[name]
	if q == nil {
		q = &queueRec{name: name}
		q.waiting.init(func(a, b *entry) bool { return a.seq < b.seq }, func(e *entry, i int) { e.idx = i })
		less := func(a, b *agentRec) bool {
			if !a.since.Equal(b.since) {
				return a.since.Before(b.since)
			}
			return a.acc.ID < b.acc.ID
		}
		set := func(a *agentRec, i int) { a.pos[name] = i }
		q.humans.init(less, set)
		q.bots.init(less, set)
		d.queues[name] = q
	}
	return q
}

// availLocked puts a into, or takes it out of, the available agents of
// its queues, and marks the queues it joined for dispatch.
func (r *Router) availLocked(a *agentRec) {
	d := &r.d
	ok := a.available()
	for _, name := range a.acc.Queues {
		q := r.queueLocked(name)
		h := &q.humans
		if a.bot() {
			h = &q.bots
		}
		i, in := a.pos[name]
		switch {
		case in && ok:
			h.fix(i)
		case in:
			h.remove(i)
			delete(a.pos, name)
		case ok:
			h.push(a)
			d.pending[q] = true
		}
	}
	if ok {
		for _, rt := range slices.Clone(d.parked[a.acc.ID]) {
			if a.available() && !a.assigned[rt.id] {
				r.unparkLocked(rt)
				r.offerLocked(rt.e, a, OfferWake)
			}
		}
	}
}

// stateChangedLocked publishes and counts a's state.
func (r *Router) stateChangedLocked(a *agentRec) {
	d := &r.d
	d.counts.StateChanges[string(a.state)]++
	st := a.status()
	r.hub.publish(Change{Type: ChangeAgent, Time: r.clock.Now(), Agent: &st})
	a.sink(Notice{Type: NoticeState, State: a.state, Reason: a.reason})
}

// unlock dispatches the queues that gained waiting entries or available
// agents, then releases d.mu.
func (r *Router) unlock() {
	d := &r.d
	for len(d.pending) > 0 {
		for q := range d.pending {
			delete(d.pending, q)
			r.dispatchLocked(q)
		}
	}
	d.mu.Unlock()
}

// maxSkip bounds how many waiting entries one dispatch passes over when
// none of the available agents may take them (they all rejected them),
// so a decision never scans the whole queue.
const maxSkip = 32

// dispatchLocked offers q's oldest waiting entries to its available
// agents until one side runs out.
func (r *Router) dispatchLocked(q *queueRec) {
	var skipped []*entry
	for q.waiting.len() > 0 && (q.humans.len() > 0 || q.bots.len() > 0) && len(skipped) < maxSkip {
		if head := q.waiting.items[0]; head.rt != nil && head.rt.resolving {
			break // keep the order of arrival: wait for its last agent look-up
		}
		e := q.waiting.pop()
		a := r.pickLocked(q, e)
		if a == nil {
			skipped = append(skipped, e)
			continue
		}
		kind := OfferRoute
		if e.ask != nil {
			kind = e.ask.kind
		}
		r.offerLocked(e, a, kind)
	}
	for _, e := range skipped {
		q.waiting.push(e)
	}
}

// pickLocked chooses the agent for e among q's available agents: the
// longest idle one that may take it; bots first for a bot-first queue's
// own interactions, humans first for transfers and invitations.
func (r *Router) pickLocked(q *queueRec, e *entry) *agentRec {
	ok := func(a *agentRec) bool {
		if a.assigned[e.id()] || a.offers[e.id()] != nil {
			return false
		}
		if e.rt != nil {
			return !e.rt.rejected[a.acc.ID]
		}
		return a != e.ask.from
	}
	h, b := q.humans.first(ok), q.bots.first(ok)
	switch {
	case h == nil:
		return b
	case b == nil:
		return h
	case e.ask != nil:
		return h
	case r.opts.BotFirst != nil && r.opts.BotFirst(q.name):
		return b
	case b.since.Before(h.since):
		return b
	}
	return h
}

// offerLocked offers e to a.
func (r *Router) offerLocked(e *entry, a *agentRec, kind OfferKind) {
	id := e.id()
	timeout := r.offerTimeout()
	if (kind == OfferLastAgent || kind == OfferWake) && r.lastAgentTimeout() > 0 {
		timeout = r.lastAgentTimeout()
	}
	o := &offer{kind: kind, id: id, agent: a, rt: e.rt, ask: e.ask, expires: r.clock.Now().Add(timeout)}
	if e.rt != nil {
		e.rt.offer = o
	} else {
		e.ask.offer = o
		e.ask.stopDeadline()
	}
	a.offers[id] = o
	if r.opts.Share != nil && e.rt != nil {
		// In a cluster the offer waits for the interaction's reservation
		// (share.go), holding the agent's capacity meanwhile.
		o.pending, o.timeout = true, timeout
		r.opts.Share.Reserve(id, timeout+reserveMargin, func(ok bool) { r.reserved(o, ok) })
	} else {
		r.sendOfferLocked(o, timeout)
	}
	r.availLocked(a)
}

// sendOfferLocked starts an offer's timeout and tells its agent.
func (r *Router) sendOfferLocked(o *offer, timeout time.Duration) {
	d := &r.d
	d.counts.Offers++
	o.expires = r.clock.Now().Add(timeout)
	o.timer = r.clock.AfterFunc(timeout, func() { r.expire(o) })
	w := Offer{Kind: o.kind, Interaction: r.snapOf(o), ExpiresAt: o.expires}
	if o.ask != nil {
		w.From, w.Visibility = o.ask.from.acc.ID, o.ask.vis
	}
	o.agent.sink(Notice{Type: NoticeOffer, Offer: &w, InteractionID: o.id})
}

// expire ends an offer nobody answered: the agent becomes not-ready and
// the interaction goes on (to the next agent, or back to the sender).
func (r *Router) expire(o *offer) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := o.agent
	if a.offers[o.id] != o {
		return
	}
	a.expired[o.id] = true
	r.endOfferLocked(o, ResultExpired)
	if a.state != StateLoggedOut {
		a.state, a.reason = StateNotReady, ReasonOfferTimeout
		r.stateChangedLocked(a)
		r.availLocked(a)
	}
}

// endOfferLocked closes an open offer that was not accepted.
func (r *Router) endOfferLocked(o *offer, result string) {
	d := &r.d
	a := o.agent
	delete(a.offers, o.id)
	o.stopTimer()
	if o.pending {
		// Never shown to the agent: nothing to count, tell or reject;
		// its reservation is released when the answer comes.
		rt := o.rt
		rt.offer = nil
		if result != ResultTaken && result != ResultClosed && d.routes[rt.id] == rt {
			r.enqueueLocked(rt)
		}
		r.availLocked(a)
		return
	}
	r.releaseLocked(o)
	switch result {
	case ResultRejected:
		d.counts.OffersRejected++
	case ResultExpired:
		d.counts.OffersExpired++
	default:
		d.counts.OffersRevoked++
	}
	if result != ResultRejected {
		a.sink(Notice{Type: NoticeRevoked, InteractionID: o.id, Result: result})
	}
	switch {
	case o.rt != nil:
		rt := o.rt
		rt.offer = nil
		if result == ResultRejected || result == ResultExpired {
			if rt.rejected == nil {
				rt.rejected = map[string]bool{}
			}
			rt.rejected[a.acc.ID] = true
		}
		if result != ResultTaken && result != ResultClosed && d.routes[rt.id] == rt {
			r.enqueueLocked(rt)
		}
	case o.ask != nil:
		o.ask.offer = nil
		r.failAskLocked(o.ask, result, a.acc.ID)
	}
	r.availLocked(a)
}

// enqueueLocked puts a route (back) into its queue's waiting line, at its
// place of arrival.
func (r *Router) enqueueLocked(rt *route) {
	q := r.queueLocked(rt.queue)
	if rt.e.idx < 0 {
		q.waiting.push(rt.e)
	}
	r.d.pending[q] = true
}

// routeView is what syncRoute needs of an interaction.
type routeView struct {
	queue  string
	state  State
	closed bool
	wakeBy string // agent who held the async chat that woke
	held   bool
}

// syncRoute brings the dispatcher in line with an interaction's state
// after a change: a queued interaction waits for an agent, one that is
// assigned, held or ended leaves its queue (and its open offer ends).
// The caller holds no shard lock.
func (r *Router) syncRoute(id string) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	var v routeView
	live := r.read(id, func(x *ixn) {
		v = routeView{queue: x.view.Queue, state: x.state(), closed: x.closed, held: x.onHold}
		if v.state == Queued {
			v.wakeBy = x.heldBy
		}
	}) == nil
	rt := d.routes[id]
	if !live || v.closed {
		r.dropRouteLocked(id, ResultClosed)
		for k, t := range d.asks {
			if k.id == id {
				r.failAskLocked(t, ResultClosed, "")
			}
		}
		r.unbinLocked(id)
		delete(d.looked, id)
		return
	}
	if !v.held {
		r.unbinLocked(id)
	}
	if v.state != Queued {
		if rt != nil {
			r.dropRouteLocked(id, ResultTaken)
		}
		return
	}
	if rt != nil && rt.foreign != nil {
		r.dropRouteLocked(id, ResultTaken) // this node's own now (restored here)
		rt = nil
	}
	if rt != nil {
		return
	}
	rt = &route{id: id, queue: v.queue}
	rt.e = &entry{seq: r.seqNow(), idx: -1, rt: rt}
	d.routes[id] = rt
	if r.opts.Share != nil {
		snap, _ := r.Get(id)
		r.opts.Share.Queued(snap, time.Unix(0, int64(rt.e.seq)))
	}
	switch {
	case v.wakeBy != "" && r.lastAgentTimeout() > 0:
		d.counts.Wakes++
		r.preferLocked(rt, v.wakeBy, OfferWake, true)
	case r.opts.LastAgent != nil && r.lastAgentTimeout() > 0 && !d.looked[id] && r.queueLocked(v.queue).desks > 0:
		// (With nobody logged in to the queue there is nobody to prefer:
		// no look-up.)
		d.looked[id] = true
		rt.resolving = true
		d.resolving++
		r.enqueueLocked(rt) // holds its place in the line while it resolves
		go r.resolve(rt)
	default:
		r.enqueueLocked(rt)
	}
}

// dropRouteLocked takes an interaction out of routing: its open offer
// ends with result, it leaves its queue and any agent it waited for.
func (r *Router) dropRouteLocked(id, result string) {
	d := &r.d
	rt := d.routes[id]
	if rt == nil {
		return
	}
	delete(d.routes, id)
	delete(d.blocked, id)
	if r.opts.Share != nil && rt.foreign == nil {
		r.opts.Share.Dequeued(id)
	}
	if rt.offer != nil {
		r.endOfferLocked(rt.offer, result)
	}
	if rt.e.idx >= 0 {
		d.queues[rt.queue].waiting.remove(rt.e.idx)
	}
	r.unparkLocked(rt)
}

// preferLocked offers rt to one agent first: at once when the agent is
// available; otherwise, when park is set, rt waits for that agent for
// last-agent-timeout, and else it goes to its queue.
func (r *Router) preferLocked(rt *route, agentID string, kind OfferKind, park bool) {
	d := &r.d
	if a := d.agents[agentID]; a != nil && a.available() && !a.assigned[rt.id] {
		r.offerLocked(rt.e, a, kind)
		return
	}
	if !park {
		r.enqueueLocked(rt)
		return
	}
	rt.parkedOn = agentID
	d.parked[agentID] = append(d.parked[agentID], rt)
	rt.parkTimer = r.clock.AfterFunc(r.lastAgentTimeout(), func() {
		d.mu.Lock()
		defer r.unlock()
		if d.routes[rt.id] == rt && rt.parkedOn != "" {
			r.unparkLocked(rt)
			r.enqueueLocked(rt)
		}
	})
}

func (r *Router) unparkLocked(rt *route) {
	d := &r.d
	if rt.parkedOn == "" {
		return
	}
	list := d.parked[rt.parkedOn]
	for i, p := range list {
		if p == rt {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(d.parked, rt.parkedOn)
	} else {
		d.parked[rt.parkedOn] = list
	}
	rt.parkedOn = ""
	if rt.parkTimer != nil {
		rt.parkTimer.Stop()
	}
}

// partyMoved follows an agent joining or leaving a session: its load and,
// when a chat ends, the start of its idle time.
func (r *Router) partyMoved(id, personID string, joined bool) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := d.agents[personID]
	if a == nil {
		return
	}
	if joined {
		if o := a.offers[id]; o != nil && o.rt != nil {
			// Joined directly while the interaction was offered to it.
			delete(a.offers, id)
			o.stopTimer()
			r.releaseLocked(o)
			o.rt.offer = nil
			if !o.pending {
				d.counts.OffersAccepted++
			}
		}
		a.assigned[id] = true
	} else if a.assigned[id] {
		delete(a.assigned, id)
		a.since = r.clock.Now()
	}
	r.availLocked(a)
}

func (r *Router) offerTimeout() time.Duration {
	if r.opts.OfferTimeout != nil {
		if t := r.opts.OfferTimeout(); t > 0 {
			return t
		}
	}
	return 15 * time.Second
}

func (r *Router) lastAgentTimeout() time.Duration {
	if r.opts.LastAgentTimeout != nil {
		return r.opts.LastAgentTimeout()
	}
	return 20 * time.Second
}

// visibilityOf is the visibility an accepted offer joins with.
func (o *offer) visibility(asked chat.Visibility) chat.Visibility {
	if o != nil && o.ask != nil {
		return o.ask.vis
	}
	return asked
}
