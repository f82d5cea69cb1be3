package routing

import (
	"fmt"

	"github.com/confab/confab/internal/chat"
	"github.com/confab/confab/internal/kv"
)

// Accepted is the result of a successful Accept.
type Accepted struct {
	Session     *chat.Session
	Participant chat.Participant
	Receipt     chat.Receipt // of the newParty event
	Interaction Interaction
}

// Accept claims a queued interaction for the agent personID and joins its
// session with join (whose Type, Visibility, Nick and UserData the caller
// sets; the session password is added when the session has one). The claim
// is atomic: while one Accept is joining, and once it has joined, every
// other Accept of the same interaction fails with ErrTaken. If the join
// fails the interaction goes back to its queue.
//
// When the agent has an open offer of the interaction, Accept takes it
// (a transfer or invitation joins the session although an agent is in
// it; a transfer then removes the transferring agent). An interaction
// offered to another agent gives ErrOffered, an offer that expired
// ErrOfferExpired; without any offer a queued interaction may still be
// pulled (the list-and-accept way).
func (r *Router) Accept(id, personID string, join chat.JoinRequest) (Accepted, error) {
	if join.UserID == "" {
		join.UserID = chat.NewUserID()
	}
	o, err := r.claim(id, personID)
	if err != nil {
		return Accepted{}, fmt.Errorf("accept %q: %w", id, err)
	}
	if o != nil && o.ask != nil {
		return r.acceptAsk(o, join)
	}
	acc, err := r.acceptQueued(id, personID, join)
	if err != nil && o != nil {
		r.unclaim(o)
	}
	return acc, err
}

func (r *Router) acceptQueued(id, personID string, join chat.JoinRequest) (Accepted, error) {
	sh := r.shard(id)
	sh.mu.Lock()
	x := sh.m[id]
	switch {
	case x == nil:
		sh.mu.Unlock()
		return Accepted{}, fmt.Errorf("accept %q: %w", id, ErrNotFound)
	case x.closed:
		sh.mu.Unlock()
		return Accepted{}, fmt.Errorf("accept %q: %w", id, ErrClosed)
	}
	if st := x.state(); st != Queued {
		sh.mu.Unlock()
		if st == Assigned {
			return Accepted{}, fmt.Errorf("accept %q: %w", id, ErrTaken)
		}
		return Accepted{}, fmt.Errorf("accept %q (state %s): %w", id, st, ErrNotQueued)
	}
	x.claimUser = join.UserID
	x.view.AgentID = personID
	password := x.password
	r.changedLocked(x, ChangeUpdated)
	sh.mu.Unlock()
	r.syncRoute(id) // claimed: out of its queue

	join = withPassword(join, password)
	var (
		sess *chat.Session
		p    chat.Participant
		rc   chat.Receipt
	)
	sess, err := r.opts.Engine.Get(id)
	if err == nil {
		p, rc, err = sess.Join(join)
	}

	sh.mu.Lock()
	if err != nil {
		if x.claimUser == join.UserID { // give it back to the queue
			x.claimUser = ""
			x.view.AgentID = ""
			r.changedLocked(x, ChangeUpdated)
		}
		sh.mu.Unlock()
		r.syncRoute(id)
		return Accepted{}, fmt.Errorf("accept %q: join its session: %w", id, err)
	}
	snap := r.snap(x)
	sh.mu.Unlock()
	return Accepted{Session: sess, Participant: p, Receipt: rc, Interaction: snap}, nil
}

// PlaceOnHold sets an async chat's GCTI_Chat_AsyncStatus to -2; from then
// on, a customer message while no agent is present raises it to 2.
func (r *Router) PlaceOnHold(id string) error {
	err := r.update(id, "place on hold", func(x *ixn) error {
		if !x.view.Async {
			return ErrNotAsync
		}
		x.onHold = true
		x.view.AsyncStatus = AsyncOnHold
		return nil
	})
	if err == nil {
		r.syncRoute(id) // held: out of its queue
	}
	return err
}

func withPassword(join chat.JoinRequest, password string) chat.JoinRequest {
	if password != "" {
		join.UserData = join.UserData.Clone()
		if join.UserData == nil {
			join.UserData = kv.Map{}
		}
		join.UserData[chat.KeySessionPassword] = password
	}
	return join
}

// claim takes the agent's open offer of id, if any, or says why the
// agent may not accept it.
func (r *Router) claim(id, personID string) (*offer, error) {
	d := &r.d
	d.mu.Lock()
	defer r.unlock()
	if a := d.agents[personID]; a != nil {
		if o := a.offers[id]; o != nil {
			delete(a.offers, id)
			o.stopTimer()
			r.releaseLocked(o)
			if !o.pending {
				d.counts.OffersAccepted++
			}
			a.assigned[id] = true
			if o.rt != nil {
				o.rt.offer = nil
				r.dropRouteLocked(id, "")
			}
			return o, nil
		}
		if a.expired[id] {
			return nil, ErrOfferExpired
		}
	}
	if rt := d.routes[id]; rt != nil && rt.offer != nil {
		return nil, ErrOffered
	}
	return nil, nil
}

// unclaim undoes a claim whose join failed.
func (r *Router) unclaim(o *offer) {
	d := &r.d
	d.mu.Lock()
	delete(o.agent.assigned, o.id)
	r.availLocked(o.agent)
	if o.ask != nil {
		r.failAskLocked(o.ask, ResultClosed, "")
	}
	r.unlock()
	r.syncRoute(o.id)
}

// acceptAsk joins the agent of an accepted transfer or invitation; a
// transfer then removes the transferring agent's party (reason 0).
func (r *Router) acceptAsk(o *offer, join chat.JoinRequest) (Accepted, error) {
	t := o.ask
	id := o.id
	join.Visibility = t.vis
	var password, fromUser string
	r.read(id, func(x *ixn) {
		password = x.password
		for _, p := range x.present {
			if p.PersonID == t.from.acc.ID {
				fromUser = p.UserID
			}
		}
	})
	join = withPassword(join, password)
	if t.kind == OfferTransfer {
		r.update(id, "transfer", func(x *ixn) error {
			x.claimUser, x.view.AgentID = join.UserID, o.agent.acc.ID
			return nil
		})
	}
	sess, err := r.opts.Engine.Get(id)
	var (
		p  chat.Participant
		rc chat.Receipt
	)
	if err == nil {
		p, rc, err = sess.Join(join)
	}
	if err != nil {
		r.unclaim(o)
		return Accepted{}, fmt.Errorf("accept %s of %q: join its session: %w", t.kind, id, err)
	}
	if t.kind == OfferTransfer && fromUser != "" {
		_, _, err := sess.Leave(chat.LeaveRequest{UserID: fromUser, After: chat.KeepAlive, Reason: chat.LeftNormally})
		if err != nil {
			r.log.Warn("routing: transferring agent did not leave", "interaction", id, "agent", t.from.acc.ID, "err", err)
		}
	}
	d := &r.d
	d.mu.Lock()
	r.failAskLocked(t, ResultAccepted, o.agent.acc.ID)
	r.unlock()
	snap, _ := r.Get(id)
	return Accepted{Session: sess, Participant: p, Receipt: rc, Interaction: snap}, nil
}
