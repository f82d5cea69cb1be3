package routing

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/store"
)

// AgentState is where a logged-in agent stands for routing.
type AgentState string

// Agent states. A desk starts not-ready; only a ready agent with free
// capacity is offered queued interactions.
const (
	StateReady         AgentState = "ready"
	StateNotReady      AgentState = "not-ready"
	StateAfterCallWork AgentState = "after-call-work"
	StateLoggedOut     AgentState = "logged-out"
)

// ParseAgentState accepts the states an agent may set itself.
func ParseAgentState(s string) (AgentState, bool) {
	switch st := AgentState(s); st {
	case StateReady, StateNotReady, StateAfterCallWork:
		return st, true
	}
	return "", false
}

// ReasonOfferTimeout is the not-ready reason of an agent that let an
// offer expire.
const ReasonOfferTimeout = "offer-timeout"

// maxReasonLen bounds a not-ready reason code.
const maxReasonLen = 64

// Account is what routing knows of an agent account.
type Account struct {
	ID       string
	Name     string
	Type     store.UserType // AGENT, SUPERVISOR or BOT
	Queues   []string
	Capacity int // 0 means store.DefaultCapacity
}

// AccountOf returns the routing view of a stored account.
func AccountOf(a store.Agent) Account {
	return Account{ID: a.ID, Name: a.Name, Type: a.Type, Queues: slices.Clone(a.Queues), Capacity: a.Capacity}
}

// Serves reports whether the account is in queue q.
func (a Account) Serves(q string) bool { return slices.Contains(a.Queues, q) }

// OfferKind says why an interaction is offered.
type OfferKind string

// Kinds of offer.
const (
	OfferRoute     OfferKind = "route"      // a queued interaction
	OfferLastAgent OfferKind = "last-agent" // a returning contact's chat, to the agent of the previous one
	OfferWake      OfferKind = "wake"       // an async chat woken from a workbin, to the agent who held it
	OfferTransfer  OfferKind = "transfer"   // another agent hands the chat over
	OfferInvite    OfferKind = "invite"     // another agent invites to a conference or consultation
)

// Offer is an interaction offered to one agent until ExpiresAt.
type Offer struct {
	Kind        OfferKind
	Interaction Interaction
	// From is the agent who transfers or invites.
	From string
	// Visibility is the visibility the agent joins with (ALL, or INT for
	// a consultation).
	Visibility chat.Visibility
	ExpiresAt  time.Time
}

// Kinds of Notice.
const (
	NoticeOffer    = "offer"    // Offer is set
	NoticeRevoked  = "revoked"  // the offer of InteractionID ended without this agent: Result says why
	NoticeState    = "state"    // the agent's state changed (State, Reason)
	NoticeTransfer = "transfer" // the outcome of this agent's transfer of InteractionID (Result, By)
	NoticeInvite   = "invite"   // the outcome of this agent's invitation (Result, By)
)

// Results carried by notices.
const (
	ResultAccepted  = "accepted"
	ResultRejected  = "rejected"
	ResultExpired   = "expired"
	ResultTaken     = "taken"     // another agent or the workflow took it
	ResultClosed    = "closed"    // the session ended
	ResultNoAgent   = "no-agent"  // no agent of the target queue took it in time
	ResultCancelled = "cancelled" // the agent logged out, or the sender left
)

// Notice is something routing tells one agent.
type Notice struct {
	Type          string
	Offer         *Offer
	InteractionID string
	Result        string
	By            string // the agent who accepted or rejected
	State         AgentState
	Reason        string
}

// Sink receives the notices of one desk. It is called with routing's
// lock held: it must not block and must not call back into the Router or
// a session.
type Sink func(Notice)

// Errors of the agent operations, wrapped with context.
var (
	// ErrLoggedIn: the account has a desk on another connection.
	ErrLoggedIn = errors.New("routing: agent is already logged in on another connection")
	// ErrNoOffer: the agent has no open offer of that interaction.
	ErrNoOffer = errors.New("routing: no open offer of that interaction to this agent")
	// ErrOfferExpired: the agent's offer of that interaction expired.
	ErrOfferExpired = errors.New("routing: the offer expired")
	// ErrOffered: the interaction is offered to another agent.
	ErrOffered = errors.New("routing: interaction is offered to another agent")
	// ErrUnavailable: the target agent is not logged in, not ready or has
	// no free capacity.
	ErrUnavailable = errors.New("routing: target agent is not available")
	// ErrBusy: the interaction already has an open transfer or invitation
	// from this agent.
	ErrBusy = errors.New("routing: a transfer or invitation of this interaction is already open")
	// ErrNotPresent: the agent is not in the interaction's session.
	ErrNotPresent = errors.New("routing: agent is not in the session")
	// ErrBadState: not a state an agent may set.
	ErrBadState = errors.New("routing: unknown agent state")
)

// Desk is one logged-in agent's routing presence, created by Login.
type Desk struct {
	r     *Router
	rec   *agentRec
	guest bool // a guest desk (guest.go)
}

// Login makes an account routable. The desk starts not-ready; notices go
// to sink. One account has at most one desk.
func (r *Router) Login(acc Account, sink Sink) (*Desk, error) {
	if acc.Capacity <= 0 {
		acc.Capacity = store.DefaultCapacity
	}
	d := &r.d
	token := ""
	if r.opts.Share != nil {
		// One desk per agent in the cluster (share.go): claimed in the
		// store, outside the lock, once this node has none.
		d.mu.Lock()
		here := d.agents[acc.ID] != nil
		d.mu.Unlock()
		if here {
			return nil, fmt.Errorf("login %s: %w", acc.ID, ErrLoggedIn)
		}
		t, ok := r.opts.Share.ClaimDesk(acc.ID)
		if !ok {
			return nil, fmt.Errorf("login %s (on another node): %w", acc.ID, ErrLoggedIn)
		}
		token = t
	}
	d.mu.Lock()
	if d.agents[acc.ID] != nil {
		d.mu.Unlock()
		if token != "" {
			r.opts.Share.ReleaseDesk(acc.ID, token) // a concurrent login here won
		}
		return nil, fmt.Errorf("login %s: %w", acc.ID, ErrLoggedIn)
	}
	defer d.mu.Unlock()
	a := &agentRec{acc: acc, sink: sink, state: StateNotReady, since: r.clock.Now(), deskToken: token,
		assigned: map[string]bool{}, offers: map[string]*offer{}, expired: map[string]bool{}, pos: map[string]int{}}
	d.agents[acc.ID] = a
	for _, q := range acc.Queues {
		r.queueLocked(q).desks++
	}
	r.stateChangedLocked(a)
	return &Desk{r: r, rec: a}, nil
}

// ID returns the desk's account id.
func (k *Desk) ID() string { return k.rec.acc.ID }

// State returns the desk's state and not-ready reason.
func (k *Desk) State() (AgentState, string) {
	d := &k.r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	return k.rec.state, k.rec.reason
}

// SetState changes the desk's state; reason is kept for not-ready only.
// Becoming ready starts the idle time that orders the agents of a queue.
func (k *Desk) SetState(st AgentState, reason string) error {
	if _, ok := ParseAgentState(string(st)); !ok {
		return fmt.Errorf("set state %q: %w", st, ErrBadState)
	}
	if len(reason) > maxReasonLen {
		return fmt.Errorf("set state: reason longer than %d bytes: %w", maxReasonLen, ErrBadState)
	}
	r := k.r
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := k.rec
	if a.state == StateLoggedOut {
		return fmt.Errorf("set state: %w", ErrClosedDesk)
	}
	if st != StateNotReady {
		reason = ""
	}
	if a.state == st && a.reason == reason {
		return nil
	}
	if st == StateReady && a.state != StateReady {
		a.since = r.clock.Now()
		clear(a.expired)
	}
	a.state, a.reason = st, reason
	r.stateChangedLocked(a)
	r.availLocked(a)
	return nil
}

// ErrClosedDesk: the desk was logged out.
var ErrClosedDesk = errors.New("routing: desk logged out")

// Reject declines the agent's open offer of an interaction: a queued one
// goes to the next agent, a transfer or invitation fails and its sender is
// told. ErrNoOffer (or ErrOfferExpired) when there is nothing to reject.
func (k *Desk) Reject(interactionID string) error {
	r := k.r
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := k.rec
	o := a.offers[interactionID]
	if o == nil {
		if a.expired[interactionID] {
			return fmt.Errorf("reject %s: %w", interactionID, ErrOfferExpired)
		}
		return fmt.Errorf("reject %s: %w", interactionID, ErrNoOffer)
	}
	r.endOfferLocked(o, ResultRejected)
	return nil
}

// Logout ends the desk: open offers go to other agents, open transfers
// and invitations of this agent fail. The agent's sessions are left to
// the caller (a socket that ends leaves them with reason 3). In a cluster
// the agent's desk claim is released.
func (k *Desk) Logout() {
	if k.guest {
		k.logoutGuest()
		return
	}
	if token := k.logout(); token != "" && k.r.opts.Share != nil {
		k.r.opts.Share.ReleaseDesk(k.rec.acc.ID, token)
	}
}

func (k *Desk) logout() string {
	r := k.r
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	a := k.rec
	if a.state == StateLoggedOut {
		return ""
	}
	a.state, a.reason = StateLoggedOut, ""
	r.availLocked(a)
	for _, o := range a.offers {
		r.endOfferLocked(o, ResultCancelled)
	}
	for _, t := range d.asks {
		if t.from == a {
			r.failAskLocked(t, ResultCancelled, "")
		}
	}
	delete(d.agents, a.acc.ID)
	for _, q := range a.acc.Queues {
		r.queueLocked(q).desks--
	}
	r.stateChangedLocked(a)
	return a.deskToken
}

// AgentStatus is a snapshot of one logged-in agent.
type AgentStatus struct {
	ID       string     `json:"id"`
	Type     string     `json:"type"`
	State    AgentState `json:"state"`
	Reason   string     `json:"reason,omitempty"`
	Since    time.Time  `json:"since"`
	Queues   []string   `json:"queues"`
	Capacity int        `json:"capacity"`
	// Load is the chats the agent is in plus its open offers.
	Load          int      `json:"load"`
	Interactions  []string `json:"interactions,omitempty"`
	OpenOffers    []string `json:"offers,omitempty"`
	ExpiredOffers int      `json:"-"`
}

// Status returns the desk's snapshot.
func (k *Desk) Status() AgentStatus {
	d := &k.r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	return k.rec.status()
}

func (a *agentRec) status() AgentStatus {
	s := AgentStatus{ID: a.acc.ID, Type: string(a.acc.Type), State: a.state, Reason: a.reason, Since: a.since,
		Queues: slices.Clone(a.acc.Queues), Capacity: a.acc.Capacity, Load: a.load()}
	for id := range a.assigned {
		s.Interactions = append(s.Interactions, id)
	}
	for id := range a.offers {
		s.OpenOffers = append(s.OpenOffers, id)
	}
	slices.Sort(s.Interactions)
	slices.Sort(s.OpenOffers)
	return s
}

// Agents returns the logged-in agents, by id.
func (r *Router) Agents() []AgentStatus {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]AgentStatus, 0, len(d.agents))
	for _, a := range d.agents {
		out = append(out, a.status())
	}
	slices.SortFunc(out, func(a, b AgentStatus) int { return cmpString(a.ID, b.ID) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Counters returns a copy of routing's counters.
func (r *Router) Counters() Counters {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.counts
	c.StateChanges = maps.Clone(d.counts.StateChanges)
	return c
}

// QueueStatus is a snapshot of one queue's routing.
type QueueStatus struct {
	Name string `json:"name"`
	// Waiting counts interactions waiting for an offer (transfers and
	// invitations to the queue included); Offered those with an open offer.
	Waiting int `json:"waiting"`
	Offered int `json:"offered"`
	// Agents counts the logged-in agents (bots included) serving the
	// queue, Available those ready with free capacity.
	Agents    int `json:"agents"`
	Available int `json:"available"`
	// Unserved is true when interactions wait and no logged-in agent
	// serves the queue.
	Unserved bool `json:"unserved"`
}

// Queues returns the status of every queue routing has seen, by name.
func (r *Router) Queues() []QueueStatus {
	d := &r.d
	d.mu.Lock()
	defer d.mu.Unlock()
	by := map[string]*QueueStatus{}
	get := func(n string) *QueueStatus {
		if by[n] == nil {
			by[n] = &QueueStatus{Name: n}
		}
		return by[n]
	}
	for name, q := range d.queues {
		s := get(name)
		s.Waiting += q.waiting.len()
		s.Available = q.humans.len() + q.bots.len()
	}
	for _, rt := range d.routes {
		s := get(rt.queue)
		if rt.offer != nil {
			s.Offered++
		} else if rt.e.idx < 0 {
			s.Waiting++ // waiting for its last agent
		}
	}
	for _, a := range d.agents {
		for _, q := range a.acc.Queues {
			get(q).Agents++
		}
	}
	out := make([]QueueStatus, 0, len(by))
	for _, s := range by {
		s.Unserved = s.Waiting+s.Offered > 0 && s.Agents == 0
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b QueueStatus) int { return cmpString(a.Name, b.Name) })
	return out
}
