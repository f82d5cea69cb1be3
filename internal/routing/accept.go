package routing

import (
	"fmt"
	"time"

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
func (r *Router) Accept(id, personID string, join chat.JoinRequest) (Accepted, error) {
	if join.UserID == "" {
		join.UserID = chat.NewUserID()
	}
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

	if password != "" {
		join.UserData = join.UserData.Clone()
		if join.UserData == nil {
			join.UserData = kv.Map{}
		}
		join.UserData[chat.KeySessionPassword] = password
	}
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
	defer sh.mu.Unlock()
	if err != nil {
		if x.claimUser == join.UserID { // give it back to the queue
			x.claimUser = ""
			x.view.AgentID = ""
			r.changedLocked(x, ChangeUpdated)
		}
		return Accepted{}, fmt.Errorf("accept %q: join its session: %w", id, err)
	}
	return Accepted{Session: sess, Participant: p, Receipt: rc, Interaction: x.snapshot(r.opts.AppName)}, nil
}

// PlaceOnHold sets an async chat's GCTI_Chat_AsyncStatus to -2; from then
// on, a customer message while no agent is present raises it to 2.
func (r *Router) PlaceOnHold(id string) error {
	return r.update(id, "place on hold", func(x *ixn) error {
		if !x.view.Async {
			return ErrNotAsync
		}
		x.onHold = true
		x.view.AsyncStatus = AsyncOnHold
		return nil
	})
}

// SetIdleControl merges the inactivity-control values a workflow set for
// one session; reset first returns them to the configured values.
func (r *Router) SetIdleControl(id string, upd IdleControl, reset bool) error {
	return r.update(id, "configure idle control", func(x *ixn) error {
		x.idle = x.idle.merge(upd, reset)
		return nil
	})
}

// IdleControl returns the session's own inactivity-control values.
func (r *Router) IdleControl(id string) (IdleControl, error) {
	var out IdleControl
	err := r.read(id, func(x *ixn) { out = x.idle })
	return out, err
}

// ResetAsyncIdle records that the async idle timers of a session restart
// from now (ESP ConfigureSession async-idle-reset=1).
func (r *Router) ResetAsyncIdle(id string) error {
	return r.update(id, "reset async idle", func(x *ixn) error {
		x.asyncIdleReset = r.clock.Now()
		return nil
	})
}

// AsyncIdleResetAt returns when the async idle timers of a session were
// last reset by the workflow (zero if never).
func (r *Router) AsyncIdleResetAt(id string) (time.Time, error) {
	var out time.Time
	err := r.read(id, func(x *ixn) { out = x.asyncIdleReset })
	return out, err
}
